import re
from pathlib import Path
from urllib.parse import unquote

PROJECT_DIR = Path(__file__).resolve().parent.parent
README = PROJECT_DIR / "README.md"
DOCS = sorted((PROJECT_DIR / "docs").glob("*.md"))

# What the app, the worker and the command lines read: every Python file outside these folders.
NOT_THE_APP = {"tests", "support", "benchmarks", ".venv", ".git", "test-artifacts"}
SETTING = re.compile(r"\b(MNIST_CNN_[A-Z0-9_]+|MNIST_NPZ)\b")
# "issue 28", "issues 13 and 24", "#24": numbered issues of a tracker the reader cannot see. A colour such as
# #111827 has six digits, so it is not one.
ISSUE_REFERENCE = re.compile(r"\bissues?\s+#?\d+|(?<![\w&/])#\d{1,5}\b", re.IGNORECASE)
# [text](target) and ![alt](target); a target is relative when it has no scheme and is not only an anchor.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def app_source_files(root=PROJECT_DIR):
    for path in sorted(root.rglob("*.py")):
        if not NOT_THE_APP.intersection(path.relative_to(root).parts[:-1]):
            yield path


def configuration_table(readme_text):
    """The names in the first column of the table under '## Configuration'."""
    section = readme_text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]  # after the header and its rule
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])}


def settings_the_app_reads(root=PROJECT_DIR):
    return {name: path for path in app_source_files(root) for name in SETTING.findall(path.read_text())}


def issue_references(text):
    return [match.group(0) for match in ISSUE_REFERENCE.finditer(text)]


def without_code_blocks(text):
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


def anchors(markdown_file):
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"^#{1,6} (.+)$", without_code_blocks(markdown_file.read_text()), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def broken_links(markdown_file):
    """Relative links (files, and their #anchors when the file is a page) that lead nowhere."""
    broken = []
    for target in LINK.findall(without_code_blocks(markdown_file.read_text())):  # links in code are not links
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue
        path, _, anchor = target.partition("#")
        linked = (markdown_file.parent / unquote(path)) if path else markdown_file
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    return broken


def test_ci_runs_exactly_the_readme_test_command():
    ci_commands = [
        line for line in (PROJECT_DIR / ".ci" / "run").read_text().splitlines() if "pytest" in line and not line.startswith("#")
    ]
    assert len(ci_commands) == 1
    assert f"\n{ci_commands[0]}\n" in README.read_text()


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in (PROJECT_DIR / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert "==" in line, f"{name}: {line!r} is not pinned"


def test_the_readme_is_a_short_guide():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move details into docs/"


def test_the_configuration_table_names_every_setting_the_app_reads():
    table = configuration_table(README.read_text())
    read = settings_the_app_reads()
    assert {"MNIST_NPZ", "MNIST_CNN_CLASS_DB_URL", "MNIST_CNN_TEACHER_PASSCODE"} <= set(read)  # the scan finds them
    missing = {name: str(path.relative_to(PROJECT_DIR)) for name, path in read.items() if name not in table}
    assert not missing, f"read by the code but not in the README's configuration table: {missing}"


def test_the_setting_scan_finds_a_new_variable_and_skips_test_helpers(tmp_path):
    (tmp_path / "classroom").mkdir()
    (tmp_path / "classroom" / "feature.py").write_text('LIMIT_ENV = "MNIST_CNN_NEW_LIMIT"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text('os.environ.get("MNIST_CNN_TEST_POSTGRES_URL")\n')
    assert set(settings_the_app_reads(tmp_path)) == {"MNIST_CNN_NEW_LIMIT"}
    table = configuration_table("# App\n\n## Configuration\n\n| name | what |\n| --- | --- |\n| `MNIST_NPZ` | data |\n\n## Next\n")
    assert table == {"MNIST_NPZ"}


def test_no_page_cites_a_numbered_issue():
    found = {str(path.relative_to(PROJECT_DIR)): issue_references(path.read_text()) for path in [README, *DOCS]}
    assert not {name: hits for name, hits in found.items() if hits}


def test_the_issue_check_tells_references_from_colours():
    assert issue_references("before issue 13, (issue 28), see #24, Issues 3") == ["issue 13", "issue 28", "#24", "Issues 3"]
    assert issue_references("text `#111827`, the issue's target, an id, its issue time, [a](#anchor)") == []


def test_every_relative_link_in_the_readme_and_docs_resolves():
    assert DOCS, "docs/ has no pages"
    broken = {str(path.relative_to(PROJECT_DIR)): broken_links(path) for path in [README, *DOCS]}
    assert not {name: links for name, links in broken.items() if links}


def test_the_readme_links_every_docs_page():
    linked = {PROJECT_DIR / target.split("#", 1)[0] for target in LINK.findall(README.read_text())}
    assert not [path.name for path in DOCS if path not in linked]


def test_the_link_check_finds_a_broken_link(tmp_path):
    (tmp_path / "there.png").write_bytes(b"")
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n## Set-up: the `app`\n\n![ok](there.png) [ok](page.md#a-page) [web](https://example.org/x) "
                    "[anchor](#set-up-the-app) [gone](missing.md#c) [no such heading](#setup)\n"
                    "```\n[in code](not-a-link.md)\n# not a heading\n```\n![gone](assets/missing.png) [x](#not-a-heading)\n")
    assert broken_links(page) == ["missing.md#c", "#setup", "assets/missing.png", "#not-a-heading"]
