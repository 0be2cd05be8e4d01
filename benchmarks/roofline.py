"""Roofline of the tutorial network's training on this machine: each layer and the whole step against sgemm.

One run measures: the machine's single-precision matrix-product rate (numpy's BLAS and TensorFlow's
matmul), each layer's forward and backward time and GFLOP/s at batch 128 (as TensorFlow runs them in
a traced function), and the training step as a whole, the way ``mnist_cnn.training`` runs it, with the
Keras optimizer (as before issue 28) and with the fused Adam update, interleaved. Every figure is the
best of ``--repeats`` timings (the least disturbed by other work on shared cores); the load average is
printed with the table. The share is GFLOP/s over numpy's sgemm GFLOP/s measured in the same run.

    python benchmarks/roofline.py [--batch-size 128] [--repeats 7]
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mnist_cnn.model import build_model  # noqa: E402
from mnist_cnn.roofline import layer_multiply_adds, measure_sgemm_gflops, training_flops  # noqa: E402
from mnist_cnn.training import TrainingConfig, _CompiledSteps  # noqa: E402

STEPS_PER_CALL = 8


def best_seconds(function, repeats, calls):
    """The best time of one call, over ``repeats`` timings of ``calls`` calls each."""
    function()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            result = function()
        tf.nest.map_structure(lambda tensor: tensor.numpy(), result)  # wait for the last call's work
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def sgemm_gflops_per_cpu_second(size=1024, products=40):
    """numpy's sgemm FLOPs per CPU-second of this process: what a fully busy core does, however loaded the machine."""
    left, right = (np.random.default_rng(seed).random((size, size), dtype=np.float32) for seed in (0, 1))
    np.matmul(left, right)
    started = time.process_time()
    for _ in range(products):
        np.matmul(left, right)
    return 2 * size**3 * products / (time.process_time() - started) / 1e9


def tf_matmul_gflops(size, repeats):
    left, right = (tf.random.uniform((size, size)) for _ in range(2))
    product = tf.function(lambda: tf.linalg.matmul(left, right))
    return 2 * size**3 / best_seconds(product, repeats, 5) / 1e9


LAYER_CALLS = 20  # per traced call: the cost of calling a traced function once is not the layer's


def layer_rows(model, batch_size, repeats):
    """Forward and backward seconds and FLOPs of each layer of ``model``, fed random inputs of its shape."""
    rows, first_weighted = [], True
    for layer in model.layers:
        inputs = tf.random.uniform((batch_size, *layer.input.shape[1:]), maxval=255.0)
        upstream = tf.random.uniform((batch_size, *layer.output.shape[1:]))
        # The first layer with weights gets no input gradient in training: its input is the image.
        wants_input_gradient = not (first_weighted and layer.trainable_weights)
        sources = list(layer.trainable_weights)

        def forward_once(layer=layer, inputs=inputs):
            return tf.reduce_sum(layer(inputs, training=True))

        def forward_backward_once(layer=layer, inputs=inputs, upstream=upstream, wants=wants_input_gradient, sources=sources):
            with tf.GradientTape() as tape:
                if wants:
                    tape.watch(inputs)
                loss = tf.reduce_sum(layer(inputs, training=True) * upstream)
            gradients = tape.gradient(loss, ([inputs] if wants else []) + sources)
            return tf.add_n([tf.reduce_sum(gradient) for gradient in gradients]) if gradients else loss

        forward_seconds = best_seconds(repeated(forward_once), repeats, 1) / LAYER_CALLS
        total_seconds = best_seconds(repeated(forward_backward_once), repeats, 1) / LAYER_CALLS
        multiply_adds = layer_multiply_adds(layer) * batch_size
        backward_passes = (1 if sources else 0) + (1 if wants_input_gradient and multiply_adds else 0)
        rows.append({
            "layer": layer.name,
            "forward_ms": forward_seconds * 1e3,
            "backward_ms": max(total_seconds - forward_seconds, 0.0) * 1e3,
            "forward_flops": 2 * multiply_adds,
            "backward_flops": 2 * multiply_adds * backward_passes,
        })
        if sources:
            first_weighted = False
    return rows


def repeated(once):
    """A traced function that runs ``once`` LAYER_CALLS times (each result kept, so none is pruned)."""
    @tf.function
    def run():
        total = tf.constant(0.0)
        for _ in tf.range(LAYER_CALLS):
            total += once()
        return total
    return run


def step_seconds(fused, batch_size, repeats):
    """Seconds (wall and CPU) of one training step as ``mnist_cnn.training`` runs it, in calls of several steps."""
    images = np.random.default_rng(0).integers(0, 256, (batch_size * STEPS_PER_CALL * 4, 28, 28), dtype=np.uint8)
    labels = np.random.default_rng(1).integers(0, 10, len(images), dtype=np.uint8)
    config = TrainingConfig.for_preset("tutorial", batch_size=batch_size, steps_per_call=STEPS_PER_CALL)
    steps = _CompiledSteps(build_model("tutorial"), images, labels, config)
    steps.fused_optimizer = fused
    order = tf.constant(np.arange(len(images), dtype=np.int32))
    calls = iter(range(10**9))

    def call():
        first = (next(calls) % 4) * STEPS_PER_CALL
        return steps.train_steps(order, tf.constant(first), tf.constant(STEPS_PER_CALL))

    cpu_started = time.process_time()
    wall = best_seconds(call, repeats, 2)
    cpu = (time.process_time() - cpu_started) / (1 + 2 * repeats)
    return wall / STEPS_PER_CALL, cpu / STEPS_PER_CALL


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    sgemm = measure_sgemm_gflops()
    sgemm_per_cpu_second = sgemm_gflops_per_cpu_second()
    tf_sgemm = tf_matmul_gflops(1024, args.repeats)
    model = build_model("tutorial")
    rows = layer_rows(model, args.batch_size, args.repeats)
    step_flops = training_flops(model) * args.batch_size
    # Interleaved (Keras, fused, fused, Keras): load drifting over the run hits both alike.
    steps = {"Keras optimizer": [], "fused Adam": []}
    for fused in (False, True, True, False):
        steps["fused Adam" if fused else "Keras optimizer"].append(step_seconds(fused, args.batch_size, args.repeats))
    sgemm_after = measure_sgemm_gflops()

    def rate(flops, milliseconds):
        return f"{flops / milliseconds / 1e6:.0f}" if flops and milliseconds > 0 else "–"

    def share(flops, milliseconds):
        return f"{flops / milliseconds / 1e6 / sgemm:.0%}" if flops and milliseconds > 0 else "–"

    print(f"Machine: {os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"sgemm 1024 (numpy): {sgemm:.0f} GFLOP/s (again at the end: {sgemm_after:.0f}); "
          f"TensorFlow matmul 1024: {tf_sgemm:.0f} GFLOP/s; numpy sgemm per CPU-second: {sgemm_per_cpu_second:.0f} GFLOP")
    print(f"Training FLOPs: {step_flops / args.batch_size / 1e6:.1f} MFLOP an image, "
          f"{step_flops / 1e9:.2f} GFLOP a step of {args.batch_size}")
    print()
    print("| layer | forward ms | forward GFLOP/s | backward ms | backward GFLOP/s | share of sgemm (fwd+bwd) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        flops, milliseconds = row["forward_flops"] + row["backward_flops"], row["forward_ms"] + row["backward_ms"]
        print(f"| {row['layer']} | {row['forward_ms']:.2f} | {rate(row['forward_flops'], row['forward_ms'])} | "
              f"{row['backward_ms']:.2f} | {rate(row['backward_flops'], row['backward_ms'])} | {share(flops, milliseconds)} |")
    layers_ms = sum(row["forward_ms"] + row["backward_ms"] for row in rows)
    print(f"| all layers, one by one | | | | | {share(step_flops, layers_ms)} ({layers_ms:.1f} ms) |")
    for name, timings in steps.items():
        wall_ms = min(wall for wall, _ in timings) * 1e3
        cpu_ms = min(cpu for _, cpu in timings) * 1e3
        cpu_share = step_flops / cpu_ms / 1e6 / sgemm_per_cpu_second
        print(f"| training step, {name} | | | | | **{share(step_flops, wall_ms)}** ({wall_ms:.1f} ms, "
              f"{args.batch_size / wall_ms * 1e3:,.0f} samples/s, {rate(step_flops, wall_ms)} GFLOP/s); "
              f"by CPU time {cpu_share:.0%} ({cpu_ms:.1f} CPU-ms) |")


if __name__ == "__main__":
    main()
