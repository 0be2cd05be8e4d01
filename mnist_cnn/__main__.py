import os
import sys

# TensorFlow's start-up chatter hides the command's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mnist_cnn.cli import main  # noqa: E402

sys.exit(main())
