"""The teacher role's logic: passcode source, tokens, and the limit on wrong passcodes (no Streamlit)."""
import threading

import pytest

from mnist_cnn.teacher import (
    PASSCODE_ENVIRONMENT_VARIABLE,
    TOKEN_LIFETIME_SECONDS,
    AttemptLimiter,
    configured_passcode,
    issue_token,
    passcode_matches,
    token_expiry,
    token_is_valid,
    unlock,
)

PASSCODE = "correct horse battery"
NOW = 1_800_000_000.0


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def test_the_environment_variable_wins_over_secrets_and_blank_means_none():
    secrets = {"teacher_passcode": "from-secrets"}.get
    assert configured_passcode({PASSCODE_ENVIRONMENT_VARIABLE: " from-env \n"}, secrets) == "from-env"
    assert configured_passcode({PASSCODE_ENVIRONMENT_VARIABLE: "  "}, secrets) == "from-secrets"
    assert configured_passcode({}, secrets) == "from-secrets"
    assert configured_passcode({}, {"teacher_passcode": 4711}.get) == "4711"  # a TOML number
    assert configured_passcode({}, {"teacher_passcode": ""}.get) is None
    assert configured_passcode({}, {}.get) is None
    assert configured_passcode({}) is None


def test_passcode_matches_only_the_passcode():
    assert passcode_matches(PASSCODE, PASSCODE)
    assert passcode_matches(f"  {PASSCODE}\n", PASSCODE)  # pasted with a newline
    for wrong in ("", "correct horse", PASSCODE + "x", PASSCODE.upper(), None):
        assert not passcode_matches(wrong, PASSCODE)
    assert not passcode_matches("", "")


def test_a_token_is_valid_until_it_expires_and_survives_a_restart():
    token = issue_token(PASSCODE, now=NOW)
    assert token_expiry(token, PASSCODE, now=NOW + 1) == int(NOW + TOKEN_LIFETIME_SECONDS)
    assert token_is_valid(token, PASSCODE, now=NOW + TOKEN_LIFETIME_SECONDS - 1)
    assert not token_is_valid(token, PASSCODE, now=NOW + TOKEN_LIFETIME_SECONDS)
    # The key comes from the passcode alone: a token from before a restart still verifies (new process).
    import subprocess
    import sys

    code = f"from mnist_cnn.teacher import token_is_valid; print(token_is_valid({token!r}, {PASSCODE!r}, now={NOW}))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_a_token_dies_when_the_passcode_changes_and_cannot_be_forged_or_altered():
    token = issue_token(PASSCODE, now=NOW)
    assert not token_is_valid(token, "a new passcode", now=NOW)
    expires, nonce, signature = token.split(".")
    later = str(int(expires) + 10 * TOKEN_LIFETIME_SECONDS)
    forged = [
        f"{later}.{nonce}.{signature}",  # expiry pushed back
        f"{expires}.{nonce}x.{signature}",
        f"{expires}.{nonce}.{signature[:-1]}",
        f"{expires}.{nonce}.",
        f"{expires}.{signature}",
        "", "...", "not a token", None, 12345, "9" * 500,
        issue_token("guessed passcode", now=NOW),
    ]
    for bad in forged:
        assert not token_is_valid(bad, PASSCODE, now=NOW), bad
    assert not token_is_valid(token, None, now=NOW)
    assert PASSCODE not in token
    assert issue_token(PASSCODE, now=NOW) != token  # each unlock gets its own token


def test_wrong_passcodes_are_free_at_first_then_wait_longer_each_time():
    clock = FakeClock()
    limiter = AttemptLimiter(free_attempts=3, first_delay=2.0, max_delay=10.0, clock=clock)
    for _ in range(2):
        limiter.record_failure("a")
        assert limiter.wait_seconds("a") == 0
    waits = []
    for _ in range(5):
        limiter.record_failure("a")
        waits.append(limiter.wait_seconds("a"))
        clock.advance(waits[-1])
        assert limiter.wait_seconds("a") == 0
    assert waits == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert limiter.wait_seconds("b") == 0  # another visitor is not slowed down by "a"
    limiter.record_success("a")
    limiter.record_failure("a")
    assert limiter.wait_seconds("a") == 0  # a right passcode starts afresh


def test_the_server_caps_wrong_passcodes_from_all_sessions_together():
    clock = FakeClock()
    limiter = AttemptLimiter(free_attempts=100, server_failures=5, server_window=60.0, clock=clock)
    for session in range(5):  # a new session for every guess does not escape the cap
        limiter.record_failure(f"session-{session}")
        clock.advance(1)
    assert limiter.server_is_limited()
    assert limiter.wait_seconds("a fresh session") == pytest.approx(55.0)
    clock.advance(55)
    assert limiter.wait_seconds("a fresh session") == 0
    assert not limiter.server_is_limited()


def test_unlock_refuses_to_even_compare_while_waiting_and_says_how_long():
    clock = FakeClock()
    limiter = AttemptLimiter(free_attempts=2, first_delay=5.0, clock=clock)
    first = unlock("wrong", PASSCODE, limiter, "s")
    assert not first.unlocked and first.message == "Wrong passcode. Try again."
    second = unlock("wrong again", PASSCODE, limiter, "s")
    assert second.message == "Wrong passcode. Too many wrong passcodes: wait 5 s before trying again."
    assert second.wait_seconds == 5.0
    clock.advance(2)
    refused = unlock(PASSCODE, PASSCODE, limiter, "s")  # right, but too soon: not even compared
    assert not refused.unlocked and refused.message == "Too many wrong passcodes: wait 3 s before trying again."
    clock.advance(3)
    right = unlock(PASSCODE, PASSCODE, limiter, "s", now=NOW)
    assert right.unlocked and token_is_valid(right.token, PASSCODE, now=NOW)
    for result in (first, second, refused, right):
        assert PASSCODE not in result.message and "wrong again" not in result.message


def test_the_server_wide_message_says_it_is_the_server():
    clock = FakeClock()
    limiter = AttemptLimiter(server_failures=2, server_window=30.0, clock=clock)
    unlock("a", PASSCODE, limiter, "one")
    result = unlock("b", PASSCODE, limiter, "two")
    assert result.message == "Wrong passcode. Too many wrong passcodes on this server: wait 30 s before trying again."


def test_the_limiter_counts_every_failure_from_many_threads():
    limiter = AttemptLimiter(server_failures=10_000)
    threads = [threading.Thread(target=lambda: [limiter.record_failure("k") for _ in range(200)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limiter._by_key["k"][0] == 1600


def test_idle_sessions_are_forgotten():
    clock = FakeClock()
    limiter = AttemptLimiter(max_delay=10.0, clock=clock)
    for key in range(100):
        limiter.record_failure(key)
    clock.advance(21)
    limiter.record_failure("new")
    assert list(limiter._by_key) == ["new"]
