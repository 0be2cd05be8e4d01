"""How much of the machine training uses: floating-point work per image and the machine's matrix-product rate.

A training step's useful work is counted from the network's layers (multiply-adds of the
convolutions and dense layers; pooling and activations are negligible), and compared with what this
machine does on a plain single-precision matrix product (sgemm), measured once per process. The
Train page says both while a run trains; ``benchmarks/roofline.py`` breaks a step down layer by layer.
"""
import functools
import threading
import time

import numpy as np

SGEMM_SIZE = 1024  # large enough for the BLAS to reach its rate, small enough to measure in ~0.2 s
SGEMM_REPEATS = 3
SGEMM_PRODUCTS = 4  # back to back in each timing: one product alone would time the BLAS threads' wake-up


def layer_multiply_adds(layer):
    """Forward multiply-adds per image of a built Keras Conv2D or Dense layer (0 for other layers)."""
    kind = type(layer).__name__
    if kind == "Conv2D":
        kernel_height, kernel_width, channels_in, channels_out = layer.kernel.shape
        _, out_height, out_width, _ = layer.output.shape
        return out_height * out_width * channels_out * kernel_height * kernel_width * channels_in
    if kind == "Dense":
        inputs, units = layer.kernel.shape
        return inputs * units
    return 0


def training_flops(model):
    """Floating-point operations (2 per multiply-add) of one training image through ``model``.

    Forward once; backward twice (the weights' gradient and the input's), except for the first
    layer with weights, whose input (the image) needs no gradient.
    """
    flops, first = 0, True
    for layer in model.layers:
        multiply_adds = layer_multiply_adds(layer)
        if multiply_adds:
            flops += 2 * multiply_adds * (2 if first else 3)
            first = False
    return flops


_flops_lock = threading.Lock()


def preset_training_flops(preset):
    """:func:`training_flops` of a preset's network, built once per process: callers at the same moment (every
    spectator's Train page at a run's first batch) wait for that one build instead of each building the network."""
    with _flops_lock:
        return _built_preset_flops(preset)


@functools.cache
def _built_preset_flops(preset):
    from mnist_cnn.model import build_model  # imports TensorFlow (tests replace build_model on the module)

    return training_flops(build_model(preset))


def measure_sgemm_gflops(size=SGEMM_SIZE, repeats=SGEMM_REPEATS, products=SGEMM_PRODUCTS):
    """This machine's single-precision matrix-product rate in GFLOP/s (numpy's BLAS, all cores): the
    best of ``repeats`` timings of ``products`` products of two size x size matrices, so that a busy
    moment counts least."""
    rng = np.random.default_rng(0)
    left, right = (rng.random((size, size), dtype=np.float32) for _ in range(2))
    out = np.empty_like(left)
    np.matmul(left, right, out=out)  # warm the BLAS threads up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(products):
            np.matmul(left, right, out=out)
        best = min(best, (time.perf_counter() - started) / products)
    return 2 * size**3 / best / 1e9


_machine = {}
_machine_lock = threading.Lock()


def machine_sgemm_gflops(measure=True):
    """:func:`measure_sgemm_gflops`, measured on the first call of the process and kept (None when not
    yet measured and ``measure`` is False). The run manager measures it before a run trains, so that
    training does not slow the measurement; the Train page only reads it."""
    with _machine_lock:
        if "sgemm_gflops" not in _machine and measure:
            _machine["sgemm_gflops"] = measure_sgemm_gflops()
        return _machine.get("sgemm_gflops")


def training_rate(samples_per_second, flops_per_sample, sgemm_gflops):
    """``(GFLOP/s, share of sgemm)`` of training at ``samples_per_second``."""
    gflops = samples_per_second * flops_per_sample / 1e9
    return gflops, gflops / sgemm_gflops


MACHINE_RATE_HELP = (
    "The top speed: what this machine does on a plain matrix product, the fastest work it knows. "
    "Each training image goes through the network forward once and backward twice (the weights' gradient and "
    "the layer inputs'); the count is of the convolutions' and dense layers' multiply-adds. The top speed is a "
    "large matrix product (numpy's sgemm) timed on this machine before the server's first run. "
    "benchmarks/roofline.py breaks a training step down layer by layer."
)
