"""Issue 28: the work count behind the Train page's "multiply-adds a second", the fused Adam step, the class-demo preset."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from classroom.run_manager import RunSnapshot
from mnist_cnn import roofline
from mnist_cnn.fused_optimizer import apply_gradients, can_fuse
from mnist_cnn.model import build_model, make_optimizer
from mnist_cnn.presets import PRESETS, tutorial_network
from mnist_cnn.training import BatchEvent, TrainingConfig
from ui.run_status import machine_rate_line

# The tutorial network's multiply-adds an image, layer by layer, written out by hand.
CONV1 = 24 * 24 * 32 * 5 * 5 * 1
CONV2 = 8 * 8 * 64 * 5 * 5 * 32
DENSE = 1024 * 1000
PROBABILITIES = 1000 * 10


def test_training_flops_count_the_tutorial_layers_forward_once_and_backward_twice_but_not_the_images_gradient():
    model = build_model("tutorial")
    counted = {layer.name: roofline.layer_multiply_adds(layer) for layer in model.layers}
    assert counted == {"input_scaling": 0, "conv1": CONV1, "pool1": 0, "conv2": CONV2, "pool2": 0, "flatten": 0,
                       "dense": DENSE, "probabilities": PROBABILITIES}
    assert roofline.training_flops(model) == 2 * (2 * CONV1 + 3 * (CONV2 + DENSE + PROBABILITIES))
    assert roofline.preset_training_flops("class_demo") == roofline.training_flops(model)  # the same network


def test_training_rate_and_the_words_a_teacher_reads_out():
    flops = roofline.preset_training_flops("tutorial")
    gflops, share = roofline.training_rate(4000, flops, sgemm_gflops=200.0)
    assert gflops == pytest.approx(4000 * flops / 1e9) and share == pytest.approx(gflops / 200.0)

    config = TrainingConfig.for_preset("tutorial")
    batch = BatchEvent(epoch=1, epochs=10, batch=5, batches=422, loss=0.5, accuracy=0.9, samples_per_second=4000,
                       elapsed_seconds=2.0)
    snapshot = RunSnapshot(config=config, last_batch=batch)
    line = machine_rate_line(snapshot, 200.0)
    assert f"{4000 * flops / 2e9:,.0f} billion multiply-adds a second" in line
    assert line.endswith(f", {share:.0%} of its measured top speed.")
    assert machine_rate_line(snapshot, None).endswith("a second.")  # not measured: no share
    assert machine_rate_line(RunSnapshot(config=config), 200.0) is None  # before the first batch


def test_sgemm_is_measured_once_and_only_read_by_the_page(monkeypatch):
    assert 0 < roofline.measure_sgemm_gflops(size=128, repeats=1, products=1) < 1e5
    calls = []
    monkeypatch.setattr(roofline, "_machine", {})
    monkeypatch.setattr(roofline, "measure_sgemm_gflops", lambda: calls.append(1) or 123.0)
    assert roofline.machine_sgemm_gflops(measure=False) is None
    assert roofline.machine_sgemm_gflops() == roofline.machine_sgemm_gflops() == 123.0
    assert len(calls) == 1


def test_pages_asking_at_once_for_a_presets_work_count_build_its_network_once(monkeypatch):
    import threading
    import time
    from types import SimpleNamespace

    import mnist_cnn.model

    builds = []

    def slow_build(preset):
        builds.append(preset)
        time.sleep(0.2)  # a network takes a while to build: every page would start one meanwhile
        return SimpleNamespace(layers=[])

    monkeypatch.setattr(mnist_cnn.model, "build_model", slow_build)
    pages = [threading.Thread(target=roofline.preset_training_flops, args=("a preset of this test",)) for _ in range(8)]
    for page in pages:
        page.start()
    for page in pages:
        page.join()
    assert builds == ["a preset of this test"]


def _two_models(optimizer):
    models = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)])
        model.compile(optimizer=optimizer())
        models.append(model)
    return models


@pytest.mark.parametrize("optimizer", [
    lambda: make_optimizer("adam", 0.01, decay_steps=10, warmup_fraction=0.3),
    lambda: keras.optimizers.Adam(0.01, weight_decay=0.1),  # not fusable: Keras's own path
])
def test_fused_adam_updates_as_keras_adam_does(optimizer):
    fused, plain = _two_models(optimizer)
    inputs = tf.random.stateless_uniform((16, 6), seed=(1, 2))
    for model, use_fused in ((fused, True), (plain, False)):

        @tf.function
        def step(model=model, use_fused=use_fused):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(inputs) - 1.0))
            apply_gradients(model.optimizer, tape.gradient(loss, model.trainable_variables),
                            model.trainable_variables, fused=use_fused)

        for _ in range(5):
            step()
    assert int(fused.optimizer.iterations) == int(plain.optimizer.iterations) == 5
    initial = _two_models(optimizer)[0].get_weights()
    for after_fused, after_plain, before in zip(fused.get_weights(), plain.get_weights(), initial, strict=True):
        assert not np.allclose(after_fused, before)  # it trained
        np.testing.assert_allclose(after_fused, after_plain, rtol=1e-5, atol=1e-6)


def test_only_plain_adam_is_fused():
    assert can_fuse(keras.optimizers.Adam())
    assert not can_fuse(keras.optimizers.Adam(amsgrad=True))
    assert not can_fuse(keras.optimizers.Adam(clipnorm=1.0))
    assert not can_fuse(keras.optimizers.SGD())


def test_class_demo_is_the_tutorial_network_with_a_one_cycle_learning_rate():
    demo = PRESETS["class_demo"]
    model = build_model("class_demo", decay_steps=100)
    tutorial = tutorial_network()
    assert model.count_params() == tutorial.count_params() == 1_087_106
    assert [layer.get_config() | {"name": ""} for layer in model.layers[1:]] == [
        layer.get_config() | {"name": ""} for layer in tutorial.layers
    ]
    rate = model.optimizer.learning_rate
    schedule = model.optimizer._learning_rate
    warmup = int(100 * demo.warmup_fraction)
    rates = [float(schedule(step)) for step in (0, warmup, 100)]
    assert rates[0] == pytest.approx(demo.learning_rate / 10) and rates[1] == pytest.approx(demo.learning_rate)
    assert rates[2] == pytest.approx(demo.learning_rate / 100) and float(rate) == pytest.approx(rates[0])
    tutorial_optimizer = build_model("tutorial", decay_steps=100).optimizer
    assert float(tutorial_optimizer.learning_rate) == pytest.approx(PRESETS["tutorial"].learning_rate)  # as the tutorial wrote it
