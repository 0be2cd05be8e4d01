"""Train on us: the class set joins the training data, a held-out share of it is tested on."""
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from classroom.class_set import ClassSet
from classroom.run_manager import RunManager, RunSnapshot
from classroom.runs import read_saved_run
from mnist_cnn.run_folder import RunState
from mnist_cnn.run_record import RunRecord, read_run_record
from mnist_cnn.training import MIN_CLASS_DIGITS, TrainingConfig, check_class_data, split_class_digits, train
from ui.run_status import saved_run_rows, status_line

TRAIN_PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "1_Train.py")


def class_digits(n, offset=5000):
    """Stand-in class digits: bundled test digits the small training set does not contain."""
    from mnist_cnn.data import load_test_set

    images, labels = load_test_set()
    return images[offset : offset + n], labels[offset : offset + n]


def test_split_is_stratified_seeded_and_never_holds_out_a_whole_label():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 2 + [3], np.uint8)
    images = np.arange(len(labels), dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
    (fit_x, fit_y), (held_x, held_y) = split_class_digits(images, labels, held_out=0.3, seed=4)
    assert np.bincount(held_y, minlength=4).tolist() == [3, 2, 1, 0]  # round(n * 0.3), at least 1, never all
    assert np.bincount(fit_y, minlength=4).tolist() == [7, 3, 1, 1]
    assert sorted(np.concatenate([fit_x[:, 0, 0], held_x[:, 0, 0]]).tolist()) == list(range(len(labels)))  # disjoint, complete
    again = split_class_digits(images, labels, held_out=0.3, seed=4)
    np.testing.assert_array_equal(again[1][0], held_x)
    other = split_class_digits(images, labels, held_out=0.3, seed=5)
    assert not np.array_equal(other[1][0], held_x)


def test_too_few_class_digits_are_refused_before_training():
    config = TrainingConfig.for_preset("tutorial", use_class_set=True)
    with pytest.raises(ValueError, match=f"at least {MIN_CLASS_DIGITS} class digits"):
        check_class_data(config, class_digits(MIN_CLASS_DIGITS - 1))
    with pytest.raises(ValueError, match="needs its digits"):
        check_class_data(config, None)
    ten_different = (class_digits(1)[0].repeat(10, axis=0), np.arange(10, dtype=np.uint8))
    with pytest.raises(ValueError, match="two digits of one label"):
        check_class_data(config, ten_different)
    assert check_class_data(TrainingConfig(), None) is None  # a run without the class set needs none
    with pytest.raises(ValueError, match="use_class_set: expected True or False"):
        TrainingConfig.for_preset("tutorial", use_class_set="yes")


def test_run_manager_refuses_at_once_and_starts_nothing(tmp_path, small_mnist):
    manager = RunManager(runs_root=tmp_path, load_data=lambda: small_mnist)
    with pytest.raises(ValueError, match="class digits"):
        manager.start(TrainingConfig.for_preset("tutorial", use_class_set=True, train_size=1000), class_data=class_digits(3))
    assert manager.snapshot().state == RunState.IDLE


def test_training_adds_the_class_digits_and_reports_accuracy_on_the_held_out_ones(small_mnist, tmp_path):
    images, labels = class_digits(40)
    config = TrainingConfig.for_preset(
        "tutorial", epochs=1, batch_size=100, train_size=1000, validation_split=0.2, seed=3, use_class_set=True,
        class_held_out=0.3, class_repeats=5,
    )
    result = train(config, data=small_mnist, runs_root=tmp_path, class_data=(images, labels))
    (_, _), (held_x, held_y) = split_class_digits(images, labels, 0.3, 3)
    record = read_run_record(result.run_dir)
    assert record.class_set == {"digits": 40, "trained_on": 40 - len(held_y), "held_out": len(held_y), "repeats": 5}
    assert record.class_test_size == len(held_y)
    # The accuracy reported is the saved model's on exactly the held-out digits.
    from mnist_cnn.model import load_model
    from mnist_cnn.predict import Predictor

    predictions = Predictor(load_model(result.run_dir / "model.keras")).probabilities(held_x).argmax(axis=1)
    assert record.class_test_accuracy == pytest.approx(float((predictions == held_y).mean()))
    assert 0 <= record.test_accuracy <= 1
    # The class digits were trained on: 800 MNIST + 5 x the training share of the class digits.
    batches = int(np.ceil((800 + 5 * (40 - len(held_y))) / 100))
    assert max(record.batch_history.column("batch")) == batches == record.batches_per_epoch
    assert read_saved_run(result.run_dir).record == record == result.record


def test_a_run_without_the_class_set_reports_none():
    finished = RunSnapshot(state=RunState.FINISHED, config=TrainingConfig(epochs=2), record=RunRecord(test_accuracy=0.99))
    assert status_line(finished) == "Finished 2 epochs, test accuracy 99.00%"
    ours = RunSnapshot(state=RunState.FINISHED, config=TrainingConfig(epochs=2),
                       record=RunRecord(test_accuracy=0.99, class_test_accuracy=0.8))
    assert status_line(ours) == "Finished 2 epochs, test accuracy 99.00% on MNIST, 80.0% on our held-out class digits"


def test_saved_runs_table_shows_accuracy_on_our_digits(small_mnist, tmp_path):
    images, labels = class_digits(20)
    config = TrainingConfig.for_preset("tutorial", epochs=1, batch_size=200, train_size=1000, seed=1, use_class_set=True)
    result = train(config, data=small_mnist, runs_root=tmp_path, class_data=(images, labels))
    plain = train(TrainingConfig.for_preset("tutorial", epochs=1, batch_size=200, train_size=1000, seed=1), data=small_mnist,
                  runs_root=tmp_path)
    rows = saved_run_rows([read_saved_run(result.run_dir), read_saved_run(plain.run_dir)])
    assert rows[0]["our digits"] == f"{result.record.class_test_accuracy:.1%}"
    assert rows[1]["our digits"] is None


def test_train_page_offers_the_class_set_once_it_has_enough_digits(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'class.sqlite'}"
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", url)
    class_set = ClassSet(url)
    images, labels = class_digits(MIN_CLASS_DIGITS)
    for image, label in zip(images[:-1], labels[:-1], strict=True):
        class_set.add(image, int(label), int(label), 0.9, "s")
    app = AppTest.from_file(TRAIN_PAGE, default_timeout=120).run()
    assert not app.exception
    choice = next(box for box in app.checkbox if box.label.startswith("Train on us"))
    assert choice.disabled and f"it has {MIN_CLASS_DIGITS - 1} digits" in choice.label

    class_set.add(images[-1], int(labels[-1]), int(labels[-1]), 0.9, "s")
    app = AppTest.from_file(TRAIN_PAGE, default_timeout=120).run()
    choice = next(box for box in app.checkbox if box.label.startswith("Train on us"))
    assert not choice.disabled and f"{MIN_CLASS_DIGITS} digits: learn from 70%, test on 30%" in choice.label


def test_train_page_says_when_the_class_set_cannot_be_reached(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", f"postgresql+psycopg://nobody@/class?host={tmp_path}")
    app = AppTest.from_file(TRAIN_PAGE, default_timeout=120).run()
    assert not app.exception
    choice = next(box for box in app.checkbox if box.label.startswith("Train on us"))
    assert choice.disabled and "cannot be reached" in choice.label


def test_a_run_started_on_the_train_page_reports_our_digits(tmp_path, monkeypatch, mnist_npz_path):
    import re

    from classroom.run_manager import get_run_manager

    url = f"sqlite:///{tmp_path / 'class.sqlite'}"
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", url)
    class_set = ClassSet(url)
    for image, label in zip(*class_digits(30), strict=True):
        class_set.add(image, int(label), int(label), 0.9, "s")
    app = AppTest.from_file(TRAIN_PAGE, default_timeout=120).run()
    next(w for w in app.number_input if w.label == "Epochs").set_value(1)
    next(w for w in app.slider if w.label.startswith("Training images")).set_value(1000)
    next(box for box in app.checkbox if box.label.startswith("Train on us")).check()
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.exception and not app.error
    get_run_manager().wait(180)
    app.run()
    status = " ".join(m.value for m in app.markdown if m.value.startswith("**"))
    assert re.search(r"Finished 1 epochs, test accuracy \d+\.\d\d% on MNIST, \d+\.\d% on our held-out class digits", status)
    runs = app.dataframe[0].value
    ours = runs[runs["run"] != "bundled example"]["our digits"].tolist()
    assert len(ours) == 1 and re.fullmatch(r"\d+\.\d%", ours[0])
    assert runs[runs["run"] == "bundled example"]["our digits"].isna().all()
