"""Waiting in tests for something another thread or process does."""
import time


def wait_until(predicate, timeout=60, interval=0.05):
    """Call ``predicate`` until it returns something truthy, and return that; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if value := predicate():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout} s")
        time.sleep(interval)
