"""Cold start and resident memory of the app server, as a Community Cloud host would see them.

    MNIST_NPZ=../shared/data/mnist.npz python benchmarks/server_memory.py [--epochs 2]

Starts `streamlit run app.py`, measures the time from launching the server to the home page
rendered in chromium, visits every page, then starts a full 60,000-image training run from the
Train page and keeps that page open until the run finishes. Prints JSON with the server's
resident memory (VmRSS) at each stage and its peak (VmHWM). Target: peak at most 1.2 GB.
"""
import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from playwright.sync_api import sync_playwright  # noqa: E402
from timed_streamlit import start_timed_streamlit  # noqa: E402

from support.app_server import CHROMIUM, CHROMIUM_ARGS, start_streamlit, wait_for_app_idle  # noqa: E402

PAGE_MARKERS = {"": "Test accuracy of the active model", "Train": "Start a run", "Draw": "Nothing drawn yet",
                "Mistakes": "Most confused pairs"}


def memory_mb(pid, field):
    """VmRSS (resident now) or VmHWM (peak resident) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--streamlit-cleanup",
        action="store_true",
        help="baseline: Streamlit's cleanup after every run as it ships (Keras session cleared, full garbage collection)",
    )
    args = parser.parse_args()
    if not os.environ.get("MNIST_NPZ"):
        sys.exit("Set MNIST_NPZ to a local mnist.npz (the run trains on the full training set).")

    report = {}
    with tempfile.TemporaryDirectory() as runs, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        launched = time.perf_counter()
        if args.streamlit_cleanup:
            server, url = start_timed_streamlit(runs, os.devnull, streamlit_cleanup=True)
        else:
            server, url = start_streamlit({"MNIST_CNN_RUNS": runs})
        try:
            page.goto(url)
            page.get_by_text(PAGE_MARKERS[""]).first.wait_for(timeout=180_000)
            report["cold_start_seconds"] = round(time.perf_counter() - launched, 1)
            report["rss_after_home_mb"] = round(memory_mb(server.pid, "VmRSS"))
            for path, marker in PAGE_MARKERS.items():
                page.goto(f"{url}/{path}")
                page.get_by_text(marker).first.wait_for(timeout=180_000)
                wait_for_app_idle(page)
            report["rss_after_every_page_mb"] = round(memory_mb(server.pid, "VmRSS"))

            page.goto(f"{url}/Train")
            page.get_by_text("Start a run").wait_for(timeout=60_000)
            epochs = page.get_by_label("Epochs")
            epochs.fill(str(args.epochs))
            page.get_by_role("button", name="Start training").click()
            samples, done = [], threading.Event()

            def sample():
                while not done.wait(0.25):
                    samples.append(memory_mb(server.pid, "VmRSS"))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            page.wait_for_function(
                "() => /Finished|Failed|Stopped/.test(document.querySelector('.st-key-train-status')?.innerText || '')",
                timeout=args.epochs * 600_000,
            )
            done.set()
            sampler.join()
            report["training"] = {
                "train_size": 60000,
                "epochs": args.epochs,
                "status": page.locator(".st-key-train-status").inner_text().strip().splitlines()[0],
                "seconds": round(time.perf_counter() - started),
            }
            report["rss_during_training_max_mb"] = round(max(samples))
            report["rss_after_training_mb"] = round(memory_mb(server.pid, "VmRSS"))
            report["peak_rss_mb"] = round(memory_mb(server.pid, "VmHWM"))
            report["target_peak_mb"] = 1200
        finally:
            server.terminate()
            server.wait(timeout=30)
            browser.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
