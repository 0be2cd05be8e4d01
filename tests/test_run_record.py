"""One record of a run: metrics.json, the CSV and the type checks come from its fields (no TensorFlow, no training)."""
import csv
import dataclasses
import io
import json
from dataclasses import dataclass

import pytest

from mnist_cnn.paths import BUNDLED_RUN_DIR
from mnist_cnn.run_folder import METRICS_FILE
from mnist_cnn.run_record import (
    IN_CSV,
    BatchPoint,
    EpochPoint,
    History,
    RunRecord,
    epochs_done,
    read_run_record,
    save_run_record,
)


def field_names(kind):
    return [item.name for item in dataclasses.fields(kind)]


def a_record(epochs=2, batches=3, **fields):
    record = RunRecord(status="finished", config={"preset": "tutorial", "epochs": epochs}, batches_per_epoch=batches,
                       **fields)
    for epoch in range(1, epochs + 1):
        for batch in range(1, batches + 1):
            record.batch_history.append(BatchPoint(epoch=epoch, batch=batch, loss=1 / (epoch * batch), accuracy=0.3 * epoch))
        record.epoch_history.append(EpochPoint(epoch=epoch, loss=0.5 / epoch, accuracy=0.3 * epoch, val_loss=0.6 / epoch,
                                               val_accuracy=0.25 * epoch, seconds=2.0 + epoch))
    return record


def test_metrics_json_keys_are_the_record_fields_and_it_reads_back_the_same(tmp_path):
    every_field = dict(parameters=1234, started_at="2026-12-02T10:00:00+0000", versions={"keras": "3"}, wall_seconds=9.5,
                       test_loss=0.1, test_accuracy=0.97, test_size=10000, class_set={"digits": 40}, class_test_loss=0.3,
                       class_test_accuracy=0.8, class_test_size=12, finished_at="2026-12-02T10:01:00+0000")
    record = a_record(**every_field)
    assert set(field_names(RunRecord)) == {"status", "config", "batches_per_epoch", "batch_history", "epoch_history",
                                           *every_field}  # every field was given a value above
    save_run_record(record, tmp_path)
    stored = json.loads((tmp_path / METRICS_FILE).read_text())
    assert list(stored) == [*field_names(RunRecord), "completed_epochs"]  # one list of names, in the record's order
    assert list(stored["batch_history"]) == field_names(BatchPoint)
    assert list(stored["epoch_history"]) == field_names(EpochPoint)
    assert stored["completed_epochs"] == 2 and stored["epoch_history"]["seconds"] == [3.0, 4.0]
    assert read_run_record(tmp_path) == record


def test_csv_columns_are_the_batch_fields_then_the_epoch_fields_marked_for_it():
    record = a_record(epochs=2, batches=3)
    rows = list(csv.reader(io.StringIO(record.history_csv())))
    marked = [item.name for item in dataclasses.fields(EpochPoint) if item.metadata.get(IN_CSV)]
    assert rows[0] == field_names(BatchPoint) + marked == ["epoch", "batch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(rows) == 1 + 6
    assert rows[1][4:] == ["", ""] and rows[3][4:] == [str(0.6), str(0.25)]  # validation on the epoch's last batch
    assert rows[6] == ["2", "3", str(1 / 6), str(0.6), str(0.3), str(0.5)]


def test_a_new_metric_is_a_field_and_reaches_the_file_the_csv_and_the_checks_with_nothing_else_changed(tmp_path):
    @dataclass(frozen=True, kw_only=True)
    class BatchWithRate(BatchPoint):
        learning_rate: float

    @dataclass(kw_only=True)
    class RecordWithTop3(RunRecord):
        top3_accuracy: float | None = None

    record = RecordWithTop3(config={"epochs": 1}, batch_history=History(BatchWithRate), top3_accuracy=0.999)
    record.batch_history.append(BatchWithRate(epoch=1, batch=1, loss=2.0, accuracy=0.1, learning_rate=0.001))
    stored = record.to_json()
    assert stored["top3_accuracy"] == 0.999 and stored["batch_history"]["learning_rate"] == [0.001]
    assert RecordWithTop3.from_json(json.loads(json.dumps(stored))).top3_accuracy == 0.999
    with pytest.raises(ValueError, match="top3_accuracy"):
        RecordWithTop3.from_json({**stored, "top3_accuracy": "high"})
    assert next(csv.reader(io.StringIO(record.history_csv()))) == [*field_names(BatchPoint), "learning_rate",
                                                                   "val_loss", "val_accuracy"]


def test_files_written_before_a_field_existed_still_read():
    bundled = read_run_record(BUNDLED_RUN_DIR)  # written before batches_per_epoch and the class fields
    assert bundled.status == "finished" and bundled.completed_epochs == 10 and bundled.test_accuracy == 0.9925
    assert bundled.batches_per_epoch is None and bundled.class_test_accuracy is None
    per_epoch = max(bundled.batch_history.column("batch"))
    assert bundled.batch_epochs()[per_epoch - 1] == 1.0 and bundled.batch_epochs()[-1] == 10.0
    minimal = RunRecord.from_json({"status": "finished", "config": {"epochs": 2}, "completed_epochs": 2})
    assert minimal.completed_epochs == 0 and minimal.batch_epochs() == [] and minimal.history_csv().count("\n") == 1
    missing_column = RunRecord.from_json({"status": "stopped", "config": {}, "epoch_history": {"epoch": [1], "loss": [0.4]}})
    assert list(missing_column.epoch_history) == [EpochPoint(epoch=1, loss=0.4, accuracy=None, val_loss=None,
                                                             val_accuracy=None, seconds=None)]


@pytest.mark.parametrize("stored", [
    {"config": {}},
    {"status": None, "config": {}},
    {"status": "finished", "config": []},
    {"status": "finished", "config": {}, "test_accuracy": "high"},
    {"status": "finished", "config": {}, "test_accuracy": True},
    {"status": "finished", "config": {}, "batch_history": [1, 2]},
    [],
], ids=str)
def test_a_file_that_is_not_a_record_is_refused_with_its_reason(stored):
    with pytest.raises((ValueError, KeyError)):
        RunRecord.from_json(stored)


def test_the_fractional_epoch_has_one_formula():
    assert epochs_done(epoch=2, batch=25, batches_per_epoch=100) == 1.25
    record = a_record(epochs=2, batches=4)
    assert record.batch_epochs() == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert record.batch_epochs(count=3) == [0.25, 0.5, 0.75]


def test_a_reader_takes_the_first_points_while_the_history_grows():
    history = History(BatchPoint)
    history.append(BatchPoint(epoch=1, batch=1, loss=2.0, accuracy=0.1))
    first = history.columns(count=1)
    history.append(BatchPoint(epoch=1, batch=2, loss=1.0, accuracy=0.2))
    assert first == {"epoch": [1], "batch": [1], "loss": [2.0], "accuracy": [0.1]}  # a copy: later points do not show
    assert len(history) == 2 and history[1] == BatchPoint(epoch=1, batch=2, loss=1.0, accuracy=0.2)
