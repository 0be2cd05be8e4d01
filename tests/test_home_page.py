from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from mnist_cnn.data import load_test_set
from mnist_cnn.evaluation import evaluate
from mnist_cnn.model import load_bundled_model

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_home_page_shows_the_network_and_the_active_models_accuracy():
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    expected = evaluate(load_bundled_model(), *load_test_set())["test_accuracy"]
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Test accuracy of the active model"] == f"{expected:.2%}"
    assert metrics["Parameters in the tutorial network"] == "1,087,106"
    table = app.dataframe[0].value
    assert list(table["type"]) == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    assert np.sum(table["parameters"]) == 1_087_106
