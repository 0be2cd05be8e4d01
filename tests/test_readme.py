from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_ci_runs_exactly_the_readme_test_command():
    ci_commands = [
        line for line in (PROJECT_DIR / ".ci" / "run").read_text().splitlines() if "pytest" in line and not line.startswith("#")
    ]
    assert len(ci_commands) == 1
    assert f"\n{ci_commands[0]}\n" in (PROJECT_DIR / "README.md").read_text()


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in (PROJECT_DIR / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert "==" in line, f"{name}: {line!r} is not pinned"
