"""Where the project keeps its files: bundled assets and the runs folder."""
import os
from pathlib import Path

from mnist_cnn.run_folder import MODEL_FILE

PROJECT_DIR = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_DIR / "assets"
BUNDLED_RUN_DIR = ASSETS_DIR / "model"
BUNDLED_MODEL_PATH = BUNDLED_RUN_DIR / MODEL_FILE
TEST_SET_PATH = ASSETS_DIR / "mnist_test.npz"
FAVICON_PATH = ASSETS_DIR / "favicon.png"  # served by the app: Streamlit fetches a material page icon from fonts.gstatic.com
# Even-numbered MNIST test digits as the network sees them once drawn on the canvas (support/reference_digits.py).
REFERENCE_DIGITS_PATH = ASSETS_DIR / "reference_digits.npz"


def runs_dir():
    """The folder where training runs are saved (`MNIST_CNN_RUNS`, else ./runs)."""
    return Path(os.environ.get("MNIST_CNN_RUNS", PROJECT_DIR / "runs"))

