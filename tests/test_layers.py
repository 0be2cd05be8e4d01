"""The two packages stay two floors: classroom/ may import mnist_cnn/, never the reverse, and neither imports Streamlit."""
import ast
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
NETWORK, CLASSROOM = PROJECT_DIR / "mnist_cnn", PROJECT_DIR / "classroom"


def imported_packages(path):
    """The top-level package of every import in a module, with the line it is on (lazy imports in functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.ImportFrom):  # relative: "from . import x" stays in its own package
            found.append((path.parent.name, node.lineno))
    return found


def offending_imports(folder, forbidden):
    return [
        f"{path.relative_to(PROJECT_DIR)}:{line} imports {package}"
        for path in sorted(folder.glob("*.py"))
        for package, line in imported_packages(path)
        if package in forbidden
    ]


def test_both_packages_have_modules():
    # A rename of either folder must not make the checks below pass by finding nothing.
    assert len(list(NETWORK.glob("*.py"))) > 10 and len(list(CLASSROOM.glob("*.py"))) > 5


def test_the_network_knows_nothing_of_the_classroom():
    assert offending_imports(NETWORK, {"classroom", "ui", "app_pages", "sqlalchemy"}) == []


@pytest.mark.parametrize("folder", [NETWORK, CLASSROOM], ids=lambda folder: folder.name)
def test_no_streamlit_below_the_pages(folder):
    assert offending_imports(folder, {"streamlit", "ui", "app_pages"}) == []


def test_the_check_sees_lazy_and_dotted_imports(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("import os\n\ndef later():\n    import classroom.runs\n    from streamlit import session_state\n")
    assert imported_packages(module) == [("os", 1), ("classroom", 4), ("streamlit", 5)]
