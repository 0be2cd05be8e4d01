"""The first screen needs no TensorFlow: the modules app.py imports, and every module of classroom/, mnist_cnn/
and ui/ not named below as needing it, import neither TensorFlow nor Keras.

Each check runs in a fresh interpreter, so what other tests imported does not count.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
HEAVY_PACKAGES = ("tensorflow", "keras")
# What needs the network itself: these import TensorFlow, and the app imports them only behind a page's title
# (ui.server_tuning.import_tensorflow) or in a function.
NEEDS_TENSORFLOW = {
    "classroom.run_manager",
    "mnist_cnn.cli",
    "mnist_cnn.evaluation",
    "mnist_cnn.explain",
    "mnist_cnn.features",
    "mnist_cnn.fused_optimizer",
    "mnist_cnn.model",
    "mnist_cnn.predict",
    "mnist_cnn.prediction_wall",
    "mnist_cnn.presets",
    "mnist_cnn.reading",
    "mnist_cnn.training",
    "ui.explain",
    "ui.live_run",
    "ui.run_status",
    "ui.train_settings",
}
# Imports the modules one by one and names, for each heavy package, the first module whose import brought it in.
IMPORT_ONE_BY_ONE = """
import importlib, json, sys
culprits = {}
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    for package in json.loads(sys.argv[2]):
        if package in sys.modules:
            culprits.setdefault(package, name)
print(json.dumps(culprits))
"""


def app_imports():
    """The modules app.py imports at its top."""
    tree = ast.parse((PROJECT_DIR / "app.py").read_text())
    names = [alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names]
    return names + [node.module for node in tree.body if isinstance(node, ast.ImportFrom)]


def light_modules():
    """Every module of the app's packages that should not need TensorFlow (``__main__`` modules run a command)."""
    names = []
    for package in ("classroom", "mnist_cnn", "ui"):
        for path in sorted((PROJECT_DIR / package).glob("*.py")):
            name = f"{package}.{path.stem}"
            if path.stem not in ("__init__", "__main__") and name not in NEEDS_TENSORFLOW:
                names.append(name)
    return names


def first_importers(modules):
    """``{package: the first of modules whose import brought it in}``, imported in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ONE_BY_ONE, json.dumps(modules), json.dumps(HEAVY_PACKAGES)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_first_screen_and_the_light_modules_import_no_tensorflow():
    modules = app_imports() + light_modules()
    assert {"ui.quiz", "ui.join_card", "ui.draw", "classroom.runs", "classroom.quiz", "classroom.jobs"} <= set(modules)
    assert first_importers(modules) == {}


def test_the_check_sees_tensorflow_come_in():
    assert first_importers(["ui.quiz", "mnist_cnn.model", "ui.join_card"]) == {"tensorflow": "mnist_cnn.model", "keras": "mnist_cnn.model"}
