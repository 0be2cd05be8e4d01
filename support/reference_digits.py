"""Builds ``assets/reference_digits.npz``: the even-numbered MNIST test digits redrawn on the canvas and read back.

``mnist_cnn.reading`` learns from them, for each model, where drawn digits lie in the network's last
hidden layer (see ``mnist_cnn/reading.py``). They are the 28x28 images the network sees for these
digits drawn at a random size, spot, pen width and canvas style, so they carry the drawing pipeline's
own traces; digit ``i`` always gets the same drawing (seeded by ``i``). Even and odd digits both span
MNIST's two groups of writers (the first 5,000 test digits are neater than the rest); the benchmark
and the tests evaluate on the odd-numbered digits only.

    python -m support.reference_digits        # about two minutes
"""
import numpy as np

from mnist_cnn.data import load_test_set
from mnist_cnn.paths import REFERENCE_DIGITS_PATH
from mnist_cnn.preprocess import canvas_to_mnist
from support.canvas_styles import CANVAS_STYLES
from support.non_digits import random_drawing

REFERENCE_INDICES = slice(0, None, 2)  # the even-numbered test digits
EVALUATION_INDICES = slice(1, None, 2)
SEED = 13


def reference_digit(image, index):
    """The uint8 28x28 image the network sees for test digit ``index`` drawn the reference way."""
    rng = np.random.default_rng([SEED, index])
    seen = canvas_to_mnist(random_drawing(image, rng, CANVAS_STYLES[index % len(CANVAS_STYLES)]))
    return np.zeros((28, 28), np.uint8) if seen is None else np.round(seen * 255).astype(np.uint8)


def main():
    images, labels = load_test_set()
    indices = range(len(images))[REFERENCE_INDICES]
    seen = np.stack([reference_digit(images[index], index) for index in indices])
    np.savez_compressed(REFERENCE_DIGITS_PATH, images=seen, labels=labels[REFERENCE_INDICES], indices=np.array(indices))
    print(f"wrote {REFERENCE_DIGITS_PATH} ({REFERENCE_DIGITS_PATH.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
