"""Shared fixtures: the bundled test set as small training data, a live app server, a browser."""
import os
from pathlib import Path

import pytest

from support.app_server import CHROMIUM, CHROMIUM_ARGS, IN_CI, start_streamlit

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One TensorFlow thread per op in each worker and in each server it starts: two workers share two cores, and
# a test's run only has to be training, not fast (a server's run at full speed took CPU from every other
# test). The inter-op pool keeps its default: with one thread there, concurrent graph calls can wait forever.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")


@pytest.fixture(scope="session")
def small_mnist():
    """A small, always-available stand-in for MNIST built from the bundled test split:
    ``((x_train, y_train), (x_test, y_test))`` with 3,000 and 1,000 images."""
    from mnist_cnn.data import load_test_set

    images, labels = load_test_set()
    return (images[:3000], labels[:3000]), (images[3000:4000], labels[3000:4000])


@pytest.fixture(scope="session")
def predictor():
    """The bundled model as a :class:`~mnist_cnn.predict.Predictor`, shared by the tests that read digits."""
    from mnist_cnn.model import load_bundled_model
    from mnist_cnn.predict import Predictor

    return Predictor(load_bundled_model())


@pytest.fixture(scope="session")
def mnist_npz_path():
    """The full MNIST file named by MNIST_NPZ (CI sets it); skipped elsewhere without it."""
    path = os.environ.get("MNIST_NPZ")
    if not path:
        if IN_CI:
            pytest.fail("CI must set MNIST_NPZ to the shared mnist.npz")
        pytest.skip("MNIST_NPZ is not set")
    return Path(path)


@pytest.fixture(scope="session")
def app_runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("app-runs")


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory):
    """The live app server's data folder (its class set's SQLite file)."""
    return tmp_path_factory.mktemp("app-data")


@pytest.fixture(scope="session")
def app_url(app_runs_dir, app_data_dir):
    """Base URL of a live app server shared by the browser tests (runs and data go to temp folders)."""
    environment = {"MNIST_CNN_RUNS": str(app_runs_dir), "MNIST_CNN_DATA": str(app_data_dir), "MNIST_CNN_CLASS_DB_URL": ""}
    process, base_url = start_streamlit(environment)
    yield base_url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists() and not IN_CI:
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        browser.cache_misses = watch_for_cache_misses(browser)
        yield browser
        browser.close()


CACHE_MISS = "Cached ForwardMsg MISS"  # the browser got a reference to a message it no longer holds: an element is lost


def watch_for_cache_misses(browser):
    """Every cache miss in any page of ``browser`` (its contexts' console and page errors), as a list that grows."""
    misses, new_context, new_page = [], browser.new_context, browser.new_page

    def watch(target, error_event):
        target.on("console", lambda message: CACHE_MISS in message.text and misses.append(message.text))
        target.on(error_event, lambda error: CACHE_MISS in str(getattr(error, "error", error)) and misses.append(str(error)))
        return target

    browser.new_context = lambda **options: watch(new_context(**options), "weberror")
    browser.new_page = lambda **options: watch(new_page(**options), "pageerror")
    return misses


@pytest.fixture(autouse=True)
def _no_cache_misses(request):
    """A test with a browser fails when a page of it was sent a reference to a message it had let go
    (``global.minCachedMessageSize`` in .streamlit/config.toml): the element would be missing from the screen."""
    if "browser" not in request.fixturenames:
        yield
        return
    misses = request.getfixturevalue("browser").cache_misses
    before = len(misses)
    yield
    assert misses[before:] == [], f"a page lost an element: {misses[before:]}"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _isolated_runs_dir(tmp_path, monkeypatch):
    """Every test writes runs and data (the class set) to its own temp folder, never the repository's."""
    monkeypatch.setenv("MNIST_CNN_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("MNIST_CNN_CLASS_DB_URL", raising=False)


HEAVY_MARKS = ("browser", "slow", "load")  # tests that drive servers, browsers or long training


def pytest_configure(config):
    """pytest-xdist hands out files in the order :func:`pytest_collection_modifyitems` leaves them (by
    default it reorders them by their number of tests, which put the one-test browser files last)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    """Files with heavy tests first: the short tests then fill the end, so pytest-xdist's two workers
    finish together (a long file picked up last made the suite wait for it alone)."""
    heavy_files = {item.path for item in items if any(item.get_closest_marker(mark) for mark in HEAVY_MARKS)}
    items.sort(key=lambda item: item.path not in heavy_files)  # stable: each file keeps its order


@pytest.fixture(scope="session")
def postgres_server_url():
    """URL of a PostgreSQL server for tests (MNIST_CNN_TEST_POSTGRES_URL; .ci/postgres.sh starts one).
    Skipped locally when none is set or reachable; CI must have one."""
    import sqlalchemy as sa

    url = os.environ.get("MNIST_CNN_TEST_POSTGRES_URL")
    problem = None if url else "MNIST_CNN_TEST_POSTGRES_URL is not set (source .ci/postgres.sh)"
    if url:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect():
                pass
        except sa.exc.SQLAlchemyError as error:
            problem = f"PostgreSQL at MNIST_CNN_TEST_POSTGRES_URL is not reachable: {error}"
        finally:
            engine.dispose()
    if problem:
        if IN_CI:
            pytest.fail(f"CI must run the PostgreSQL tests: {problem}")
        pytest.skip(problem)
    return url


@pytest.fixture
def postgres_url(postgres_server_url):
    """A fresh, empty PostgreSQL schema for one test (the URL's search_path), dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    schema = f"class_set_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(postgres_server_url)
    yield url.set(query={**url.query, "options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def class_set_url(request, tmp_path):
    """A fresh class-set database: a SQLite file, and PostgreSQL when one is available."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'class_set.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def cookie_jar(monkeypatch):
    """AppTest sessions have no browser: a CookieJar carries cookies from one session to the next."""
    from support.cookie_jar import CookieJar

    CookieJar.active = CookieJar(monkeypatch)
    yield CookieJar.active
    CookieJar.active = None
