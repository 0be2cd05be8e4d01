"""What a class shares: the class set database, quiz, teacher rights, rate limits, join card, class model,
the run manager and the saved runs. It builds on mnist_cnn/ (the network), which never imports it; no Streamlit."""
