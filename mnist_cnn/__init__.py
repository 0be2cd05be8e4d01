"""The network and its data: MNIST, presets, model, training, prediction, explanations, figures.
Knows nothing of classes or databases (those are classroom/); no Streamlit."""
