"""The class set's figures: inserts per second from 30 threads on SQLite and PostgreSQL, the Class
page's run time with 1,000 digits, and the bundled model's accuracy on a class set drawn in chromium.

    MNIST_CNN_TEST_POSTGRES_URL=postgresql+psycopg://... python benchmarks/class_set.py [--only inserts|page|drawn]

PostgreSQL is measured when MNIST_CNN_TEST_POSTGRES_URL names a server (`source .ci/postgres.sh`
starts a throwaway one). Timings are interleaved (A B B A ...) and each is reported with its baseline
from the same run: inserts from 30 threads against one thread inserting as many digits, the Class
page with 1,000 digits against the same page empty (AppTest, in this process). The drawn set: each
digit drawn --per-digit times on the Draw page with the mouse, with strokes of varied size, slant,
rotation, place and tremor (support.digit_strokes), and given to the class set with its label; the
accuracy is the bundled model's reading, stored with each digit, against those labels.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from classroom.class_set import ClassSet  # noqa: E402
from classroom.rate_limit import MAX_PER_LESSON  # noqa: E402
from mnist_cnn.data import load_test_set  # noqa: E402
from support.app_server import CHROMIUM, CHROMIUM_ARGS, save_screenshot, start_streamlit, wait_for_app_idle  # noqa: E402
from support.digit_strokes import digit_strokes  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Databases:
    """Fresh empty class sets: SQLite files in a temp folder, PostgreSQL schemas on one server."""

    def __init__(self, folder, postgres_url):
        self.folder, self.postgres_url, self._schemas = Path(folder), postgres_url, []

    def fresh(self, backend):
        if backend == "sqlite":
            return ClassSet(f"sqlite:///{self.folder / f'{uuid.uuid4().hex}.sqlite'}")
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with sa.create_engine(self.postgres_url).begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        self._schemas.append(schema)
        url = sa.make_url(self.postgres_url)
        return ClassSet(url.set(query={**url.query, "options": f"-csearch_path={schema}"}))

    def drop_all(self):
        if self._schemas:
            engine = sa.create_engine(self.postgres_url)
            with engine.begin() as connection:
                for schema in self._schemas:
                    connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def insert_rate(class_set, threads, per_thread, images, labels):
    """Digits per second when ``threads`` sessions each add ``per_thread`` digits at once; checks none is lost."""
    class_set.count_by_label()  # schema created before the clock starts
    start, errors = threading.Barrier(threads + 1), []

    def session(number):
        start.wait()
        try:
            for k in range(per_thread):
                i = (number * per_thread + k) % len(labels)
                class_set.add(images[i], int(labels[i]), int(labels[i]), 0.9, f"bench-{number}")
        except Exception as error:
            errors.append(error)

    workers = [threading.Thread(target=session, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    stored = len(class_set)
    class_set.dispose()
    if errors or stored != threads * per_thread:
        raise RuntimeError(f"lost digits: stored {stored} of {threads * per_thread}, errors {errors[:3]}")
    return threads * per_thread / seconds


def measure_inserts(databases, backends, rounds, threads, per_thread):
    images, labels = load_test_set()
    rates = {backend: {"30 threads": [], "1 thread": []} for backend in backends}
    order = [*backends, *reversed(backends)] * rounds  # A B B A ...
    for backend in order:
        for kind, (n_threads, n_each) in (("30 threads", (threads, per_thread)), ("1 thread", (1, threads * per_thread))):
            rates[backend][kind].append(insert_rate(databases.fresh(backend), n_threads, n_each, images, labels))
    return {
        backend: {
            "inserts_per_second_30_threads": round(statistics.median(kinds["30 threads"]), 1),
            "inserts_per_second_1_thread": round(statistics.median(kinds["1 thread"]), 1),
            "ratio_30_to_1": round(statistics.median(kinds["30 threads"]) / statistics.median(kinds["1 thread"]), 2),
            "digits_per_run": threads * per_thread,
            "runs": len(kinds["30 threads"]),
        }
        for backend, kinds in rates.items()
    }


def measure_class_page(folder, digits, rounds):
    """AppTest run time of the Class page with ``digits`` class digits against the same page empty."""
    images, labels = load_test_set()
    full_url, empty_url = f"sqlite:///{Path(folder) / 'page-full.sqlite'}", f"sqlite:///{Path(folder) / 'page-empty.sqlite'}"
    full = ClassSet(full_url)
    for i in range(digits):
        full.add(images[i], int(labels[i]), int(labels[i]), 0.9, f"s{i % 30}")
    ClassSet(empty_url).count_by_label()
    page = str(PROJECT_DIR / "app_pages" / "4_Class.py")

    def run(url):
        os.environ["MNIST_CNN_CLASS_DB_URL"] = url
        app = AppTest.from_file(page, default_timeout=300)
        started = time.perf_counter()
        app.run()
        seconds = time.perf_counter() - started
        if app.exception:
            raise RuntimeError(app.exception[0].message)
        return seconds

    run(full_url)  # warm-up: the model, the test set's scores and the page's imports are cached after this
    times = {"full": [], "empty": []}
    for name in ["empty", "full", "full", "empty"] * rounds:
        times[name].append(run(full_url if name == "full" else empty_url))
    os.environ.pop("MNIST_CNN_CLASS_DB_URL", None)
    full_seconds, empty_seconds = statistics.median(times["full"]), statistics.median(times["empty"])
    return {
        "class_digits": digits,
        "seconds_with_digits": round(full_seconds, 3),
        "seconds_empty": round(empty_seconds, 3),
        "extra_seconds_for_the_digits": round(full_seconds - empty_seconds, 3),
        "runs": len(times["full"]),
    }


def measure_drawn_set(folder, per_digit, seed, verbose):
    """Draw ``per_digit`` of each digit on the Draw page in chromium and give each with its label."""
    data_dir = Path(folder) / "drawn"
    rng = np.random.default_rng(seed)
    plan = [digit for _ in range(per_digit) for digit in rng.permutation(10)]
    ClassSet(f"sqlite:///{data_dir / 'class_set.sqlite'}").set_digits_per_student(min(len(plan), MAX_PER_LESSON))  # one "student"
    process, base_url = start_streamlit({"MNIST_CNN_DATA": str(data_dir), "MNIST_CNN_CLASS_DB_URL": ""})
    refused, confirmed = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{base_url}/Draw")
            canvas = page.locator("canvas.upper-canvas").first
            canvas.wait_for(timeout=120_000)
            wait_for_app_idle(page)
            for number, digit in enumerate(plan):
                box = canvas.bounding_box()
                for stroke in digit_strokes(int(digit), rng):
                    page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
                    page.mouse.down()
                    for x, y in stroke[1:]:
                        page.mouse.move(box["x"] + x, box["y"] + y)
                    page.mouse.up()
                    page.wait_for_timeout(150)
                page.wait_for_timeout(600)  # the canvas sends the drawing a moment after the pen lifts
                page.wait_for_selector(".st-key-prediction .predicted-digit", timeout=30_000)
                wait_for_app_idle(page)
                page.locator(".st-key-class-digit-buttons button").nth(int(digit)).click()
                outcome = page.locator(".st-key-give-to-class [data-testid='stAlert'], .st-key-class-confirm").first
                outcome.wait_for(timeout=30_000)
                if page.locator(".st-key-class-confirm").count():  # misread or unsure: the student says yes, it is that digit
                    confirmed.append({"digit": int(digit), "question": page.locator(".st-key-class-confirm p").first.inner_text()})
                    page.locator(".st-key-class-confirm-yes button").click()
                    outcome = page.locator(".st-key-give-to-class [data-testid='stAlert']").first
                    outcome.wait_for(timeout=30_000)
                text = outcome.inner_text()
                if f"your {digit} is in the class set" not in text:
                    refused.append({"digit": int(digit), "message": text})
                if verbose:
                    print(number, digit, page.locator(".st-key-prediction .predicted-digit").inner_text(), text, file=sys.stderr)
                if number == 0:
                    save_screenshot(page, "class-set-benchmark-draw")
                page.get_by_role("button", name="Reset canvas & history").click()
                page.wait_for_function(
                    "() => document.querySelector('.st-key-prediction').innerText.includes('Nothing drawn yet')", timeout=30_000
                )
                page.wait_for_timeout(1000)  # one digit a second per session
            page.set_viewport_size({"width": 1920, "height": 1080})
            page.goto(f"{base_url}/Class")
            page.locator(".st-key-class-counts").wait_for(timeout=120_000)
            wait_for_app_idle(page)
            save_screenshot(page, "class-set-benchmark-class-page")
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    class_set = ClassSet(f"sqlite:///{data_dir / 'class_set.sqlite'}")
    digits = class_set.digits()
    correct = digits.predicted == digits.labels
    np.savez_compressed(PROJECT_DIR / "test-artifacts" / "drawn_class_digits.npz", x=digits.images, y=digits.labels)
    return {
        "drawn": len(plan),
        "given": len(digits),
        "refused": refused,
        "confirmed_after_a_question": confirmed,
        "accuracy_bundled_model": round(float(correct.mean()), 4) if len(digits) else None,
        "correct": int(correct.sum()),
        "per_digit_correct": {str(d): f"{int(correct[digits.labels == d].sum())}/{int((digits.labels == d).sum())}" for d in range(10)},
        "misread": [f"{meant} as {read}" for meant, read in zip(digits.labels[~correct], digits.predicted[~correct], strict=True)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["inserts", "page", "drawn"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=30)
    parser.add_argument("--per-thread", type=int, default=20)
    parser.add_argument("--page-digits", type=int, default=1000)
    parser.add_argument("--per-digit", type=int, default=5, help="drawings of each digit in chromium")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    (PROJECT_DIR / "test-artifacts").mkdir(exist_ok=True)

    postgres_url = os.environ.get("MNIST_CNN_TEST_POSTGRES_URL")
    results = {"postgresql": "measured" if postgres_url else "not measured: MNIST_CNN_TEST_POSTGRES_URL is not set"}
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "inserts"):
            databases = Databases(folder, postgres_url)
            try:
                backends = ["sqlite", "postgresql"] if postgres_url else ["sqlite"]
                results["inserts"] = measure_inserts(databases, backends, args.rounds, args.threads, args.per_thread)
            finally:
                databases.drop_all()
        if args.only in (None, "page"):
            results["class_page"] = measure_class_page(folder, args.page_digits, args.rounds)
        if args.only in (None, "drawn"):
            results["drawn_in_chromium"] = measure_drawn_set(folder, args.per_digit, args.seed, args.verbose)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
