"""The teacher role's logic: passcode source, tokens, revocation, sign-in links and the guard on wrong
passcodes (no Streamlit)."""
import threading
import time

import pytest

from classroom.class_set import ClassSet, ClassSetUnavailableError
from classroom.teacher import (
    PASSCODE_ENVIRONMENT_VARIABLE,
    TOKEN_LIFETIME_SECONDS,
    PasscodeGuard,
    Revocations,
    SignInLinks,
    configured_passcode,
    issue_token,
    passcode_matches,
    token_claims,
    unlock,
)
from support.database import query

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
    assert token_claims(token, PASSCODE, now=NOW + 1).expires_at == int(NOW + TOKEN_LIFETIME_SECONDS)
    assert token_claims(token, PASSCODE, now=NOW + TOKEN_LIFETIME_SECONDS - 1) is not None
    assert token_claims(token, PASSCODE, now=NOW + TOKEN_LIFETIME_SECONDS) is None
    # The key comes from the passcode alone: a token from before a restart still verifies (new process).
    import subprocess
    import sys

    code = f"from classroom.teacher import token_claims; print(token_claims({token!r}, {PASSCODE!r}, now={NOW}) is not None)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_a_token_dies_when_the_passcode_changes_and_cannot_be_forged_or_altered():
    token = issue_token(PASSCODE, now=NOW)
    assert token_claims(token, "a new passcode", now=NOW) is None
    issued, expires, token_id, signature = token.split(".")
    later = str(int(expires) + 10 * TOKEN_LIFETIME_SECONDS)
    forged = [
        f"{issued}.{later}.{token_id}.{signature}",  # expiry pushed back
        f"{int(issued) + 10**6}.{expires}.{token_id}.{signature}",  # issued after a sign-out
        f"{issued}.{expires}.{token_id[:-1]}{'1' if token_id.endswith('0') else '0'}.{signature}",  # another id: escapes a Lock
        f"{issued}.{expires}.{token_id}.{signature[:-1]}",
        f"{issued}.{expires}.{token_id}.",
        f"{expires}.{token_id}.{signature}",  # the old format
        "", "...", "not a token", None, 12345, "9" * 500,
        issue_token("guessed passcode", now=NOW),
    ]
    for bad in forged:
        assert token_claims(bad, PASSCODE, now=NOW) is None, bad
    assert token_claims(token, None, now=NOW) is None
    assert PASSCODE not in token
    assert issue_token(PASSCODE, now=NOW) != token  # each unlock gets its own token


def test_a_token_carries_its_id_and_issue_time():
    token = issue_token(PASSCODE, now=NOW + 0.25)
    claims = token_claims(token, PASSCODE, now=NOW)
    assert claims.issued_at == NOW + 0.25 and claims.expires_at == int(NOW + 0.25 + TOKEN_LIFETIME_SECONDS)
    assert len(claims.token_id) == 16 and claims.token_id in token
    assert token_claims(issue_token(PASSCODE, now=NOW), PASSCODE, now=NOW).token_id != claims.token_id


class FakeStore:
    """A stand-in for the app's database: what ClassSet offers Revocations."""

    def __init__(self):
        self.ids, self.before, self.fail = set(), None, None

    def __call__(self):
        if self.fail:
            raise self.fail
        return self

    def teacher_revocations(self):
        return set(self.ids), self.before

    def revoke_teacher_token(self, token_id, expires_at):
        self.ids.add(token_id)

    def sign_out_teacher_tokens(self, before, expires_at):
        self.before = max(before, self.before or before)


def claims_at(moment):
    return token_claims(issue_token(PASSCODE, now=moment), PASSCODE, now=moment)


def test_lock_revokes_one_token_and_sign_out_every_token_issued_before_it():
    revocations = Revocations(FakeStore())
    mine, other = claims_at(NOW), claims_at(NOW + 1)
    revocations.revoke(mine)
    assert revocations.is_revoked(mine) and not revocations.is_revoked(other)
    revocations.revoke_all(now=NOW + 2)
    later = claims_at(NOW + 3)
    assert revocations.is_revoked(other) and not revocations.is_revoked(later)


def test_revocations_by_another_process_count_after_the_refresh_and_a_broken_store_keeps_our_own():
    store, clock = FakeStore(), FakeClock()
    revocations = Revocations(store, store_errors=(OSError,), refresh_seconds=5.0, clock=clock)
    token = claims_at(NOW)
    assert not revocations.is_revoked(token)
    store.ids.add(token.token_id)  # another server process locked it
    clock.advance(5)
    assert revocations.is_revoked(token)
    own = claims_at(NOW)
    store.fail = OSError("database down")
    with pytest.raises(OSError):
        revocations.revoke(own)  # said to the caller ...
    clock.advance(5)
    assert revocations.is_revoked(own) and revocations.is_revoked(token)  # ... but in force here


def test_revocations_survive_a_restart_in_the_class_set_database(class_set_url):
    locked, everyone_before, after = claims_at(NOW), claims_at(time.time() - 60), None
    first = ClassSet(class_set_url)
    revocations = Revocations(lambda: first)
    revocations.revoke(locked)
    revocations.revoke_all()
    after = claims_at(time.time() + 1)
    first.dispose()

    restarted = ClassSet(class_set_url)  # a new server process: nothing in memory
    revocations = Revocations(lambda: restarted)
    assert revocations.is_revoked(locked) and revocations.is_revoked(everyone_before)
    assert not revocations.is_revoked(after)
    restarted.dispose()


def test_a_sign_in_link_works_once_and_only_for_a_few_minutes():
    clock = FakeClock()
    links = SignInLinks(lifetime=300, clock=clock)
    code = links.create("the teacher's token")
    assert len(code) >= 24 and "token" not in code
    assert links.redeem(code) == "the teacher's token"
    assert links.redeem(code) is None  # used
    late = links.create("the teacher's token")
    clock.advance(300)
    assert links.redeem(late) is None  # expired
    assert links.redeem("guessed") is None and links.redeem(None) is None


class CountingSleep:
    """A sleep for the guard that moves the fake clock."""

    def __init__(self, clock):
        self.clock, self.slept = clock, []

    def __call__(self, seconds):
        self.slept.append(seconds)
        self.clock.advance(seconds)


def wrong(guard, key):
    return guard.check(key, lambda: False)


def test_wrong_passcodes_are_free_at_first_then_wait_longer_each_time():
    clock = FakeClock()
    guard = PasscodeGuard(free_attempts=3, first_delay=2.0, max_delay=10.0, wrong_answer_spacing=0, clock=clock)
    for _ in range(2):
        assert wrong(guard, "a") == ("wrong", 0)
    waits = []
    for _ in range(5):
        outcome, wait = wrong(guard, "a")
        assert outcome == "wrong"
        waits.append(wait)
        assert guard.check("a", lambda: pytest.fail("compared while waiting"))[0] == "wait"
        clock.advance(wait)
    assert waits == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert guard.check("b", lambda: True) == ("right", 0)  # another client is not slowed down by "a"
    assert guard.check("a", lambda: True) == ("right", 0)
    assert wrong(guard, "a") == ("wrong", 0)  # a right passcode starts afresh


def test_wrong_answers_are_spaced_server_wide_and_right_ones_are_not():
    clock = FakeClock()
    sleep = CountingSleep(clock)
    guard = PasscodeGuard(free_attempts=100, wrong_answer_spacing=0.5, clock=clock, sleep=sleep)
    for client in range(4):  # a new client for every guess does not escape the spacing
        wrong(guard, f"client-{client}")
    assert sleep.slept == [0.5, 0.5, 0.5]
    assert guard.check("teacher", lambda: True) == ("right", 0.0)
    assert sleep.slept == [0.5, 0.5, 0.5]  # the right passcode waited for nothing


def test_one_client_tries_one_passcode_at_a_time():
    guard = PasscodeGuard(wrong_answer_spacing=0)
    inside, release = threading.Event(), threading.Event()
    results = []

    def slow_compare():
        inside.set()
        release.wait(5)
        return False

    first = threading.Thread(target=lambda: results.append(guard.check("phone", slow_compare)))
    first.start()
    assert inside.wait(5)
    assert guard.check("phone", lambda: pytest.fail("compared in parallel"))[0] == "busy"  # a second tab, same client
    assert guard.check("laptop", lambda: True)[0] == "right"
    release.set()
    first.join(5)
    assert results == [("wrong", 0.0)]


def test_unlock_refuses_to_even_compare_while_waiting_and_says_how_long():
    clock = FakeClock()
    guard = PasscodeGuard(free_attempts=2, first_delay=5.0, wrong_answer_spacing=0, clock=clock)
    first = unlock("wrong", PASSCODE, guard, "s")
    assert not first.unlocked and first.message == "Wrong passcode. Try again."
    second = unlock("wrong again", PASSCODE, guard, "s")
    assert second.message == "Wrong passcode. Too many wrong passcodes from here: wait 5 s before trying again."
    assert second.wait_seconds == 5.0
    clock.advance(2)
    refused = unlock(PASSCODE, PASSCODE, guard, "s")  # right, but too soon: not even compared
    assert not refused.unlocked and refused.message == "Too many wrong passcodes from here: wait 3 s before trying again."
    assert unlock(PASSCODE, PASSCODE, guard, "another client", now=NOW).unlocked
    clock.advance(3)
    right = unlock(PASSCODE, PASSCODE, guard, "s", now=NOW)
    assert right.unlocked and token_claims(right.token, PASSCODE, now=NOW) is not None
    for result in (first, second, refused, right):
        assert PASSCODE not in result.message and "wrong again" not in result.message


def test_a_flood_of_wrong_passcodes_does_not_delay_the_teachers_right_one():
    """The issue's test, in real time: a script floods from one client and from many; the teacher's
    right passcode from another client is accepted at once."""
    guard = PasscodeGuard()  # the app's settings
    stop = threading.Event()
    attempts = []

    def flood(client):
        while not stop.is_set():
            attempts.append(unlock("guess", PASSCODE, guard, client).message)
            time.sleep(0.002)  # a refused client asks again at once, as a network client would (not a GIL-bound spin)

    floods = [threading.Thread(target=flood, args=("script",)) for _ in range(8)]  # one client, eight sessions
    floods += [threading.Thread(target=flood, args=(f"botnet-{i}",)) for i in range(8)]  # eight more clients
    issue_token(PASSCODE)  # the signing key is derived once per process (slow on purpose): not part of the measure
    flood_started = time.perf_counter()
    for thread in floods:
        thread.start()
    try:
        time.sleep(1.5)  # the flood is under way: wrong answers queue for the server-wide spacing
        started = time.perf_counter()
        result = unlock(PASSCODE, PASSCODE, guard, "teacher's laptop")
        took = time.perf_counter() - started
    finally:
        stop.set()
        for thread in floods:
            thread.join(30)
    flood_seconds = time.perf_counter() - flood_started
    assert result.unlocked, result.message
    assert took < guard.wrong_answer_spacing, f"the right passcode took {took:.2f} s behind the flood"
    compared = sum(message.startswith("Wrong passcode") for message in attempts)
    assert compared <= flood_seconds / guard.wrong_answer_spacing + 1  # the flood itself guessed slowly ...
    assert any("from here" in message for message in attempts)  # ... and its clients were told to wait


def test_the_guard_counts_every_failure_from_many_threads():
    guard = PasscodeGuard(free_attempts=10_000, wrong_answer_spacing=0)
    threads = [threading.Thread(target=lambda i=i: [wrong(guard, f"k{i}") for _ in range(200)]) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [guard.failures(f"k{i}") for i in range(8)] == [200] * 8


def test_idle_clients_are_forgotten():
    clock = FakeClock()
    guard = PasscodeGuard(max_delay=10.0, wrong_answer_spacing=0, clock=clock)
    for key in range(100):
        wrong(guard, key)
    clock.advance(21)
    wrong(guard, "new")
    assert len(guard._memory._by_client) == 1 and guard.failures(0) == 0 and guard.failures("new") == 1


# -- the guard's count kept in the app's database: several server processes, a restart, an outage --


@pytest.fixture
def new_server(class_set_url):
    """``new_server()``: the database of one more server process (a ClassSet with its own connections) on ``class_set_url``."""
    started = []

    def new_server():
        started.append(ClassSet(class_set_url))
        return started[-1]

    yield new_server
    for database in started:
        database.dispose()


def guard_on(database, clock, **settings):
    """The app's guard on ``database`` (one server process's ClassSet), with a fake clock and no spacing."""
    return PasscodeGuard(lambda: database, store_errors=(ClassSetUnavailableError,), wrong_answer_spacing=0, clock=clock,
                         **settings)


def passcode_failure_rows(url):
    return query(url, "SELECT client, failures FROM passcode_failures")


def test_servers_on_one_database_share_a_clients_wait_and_a_restart_keeps_it(class_set_url, new_server):
    clock = FakeClock(NOW)
    guard_a = guard_on(new_server(), clock, free_attempts=2, first_delay=5.0)
    guard_b = guard_on(new_server(), clock, free_attempts=2, first_delay=5.0)
    assert unlock("wrong", PASSCODE, guard_a, "203.0.113.9").message == "Wrong passcode. Try again."
    second = unlock("wrong again", PASSCODE, guard_b, "203.0.113.9")  # the same client on the other server
    assert second.message == "Wrong passcode. Too many wrong passcodes from here: wait 5 s before trying again."
    assert guard_a.check("203.0.113.9", lambda: pytest.fail("compared while waiting")) == ("wait", 5.0)
    for guard in (guard_a, guard_b):  # the teacher's right passcode from another client goes in at once
        assert unlock(PASSCODE, PASSCODE, guard, "198.51.100.7").unlocked
    assert [failures for client, failures in passcode_failure_rows(class_set_url)] == [2]
    assert "203.0.113.9" not in str(passcode_failure_rows(class_set_url))  # no address in clear

    clock.advance(2)
    restarted = guard_on(new_server(), clock, free_attempts=2, first_delay=5.0)
    refused = unlock(PASSCODE, PASSCODE, restarted, "203.0.113.9")  # right, but the wait is not over
    assert not refused.unlocked and refused.message == "Too many wrong passcodes from here: wait 3 s before trying again."
    clock.advance(3)
    assert unlock(PASSCODE, PASSCODE, restarted, "203.0.113.9").unlocked
    assert guard_a.failures("203.0.113.9") == 0 and wrong(guard_b, "203.0.113.9") == ("wrong", 0.0)  # afresh everywhere


def test_servers_counting_wrong_passcodes_at_once_lose_none(new_server):
    guards = [guard_on(new_server(), time.time, free_attempts=10_000) for _ in range(4)]
    for guard in guards:
        guard.failures("script")  # each server migrates the database before the race
    threads = [threading.Thread(target=lambda guard=guard: [wrong(guard, "script") for _ in range(10)]) for guard in guards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert guards[0].failures("script") == 40


def test_idle_clients_leave_the_database(class_set_url, new_server):
    clock = FakeClock(NOW)
    guard = guard_on(new_server(), clock, max_delay=10.0)
    for key in range(5):
        wrong(guard, key)
    clock.advance(21)
    assert guard.failures(0) == 0  # idle for longer than twice the longest wait: afresh
    wrong(guard, "new")
    assert [failures for client, failures in passcode_failure_rows(class_set_url)] == [1]  # the five idle rows went


def test_a_database_that_cannot_be_reached_leaves_the_guard_counting_in_memory(tmp_path):
    def no_database():
        raise ClassSetUnavailableError("The class set's database address is not a database URL.")

    down = ClassSet("postgresql+psycopg://nobody@/class?host=" + str(tmp_path))
    for store in (lambda: down, no_database):
        clock = FakeClock()
        guard = PasscodeGuard(store, store_errors=(ClassSetUnavailableError,), free_attempts=2, first_delay=5.0,
                              wrong_answer_spacing=0, clock=clock)
        assert unlock("wrong", PASSCODE, guard, "s").message == "Wrong passcode. Try again."
        assert unlock("wrong", PASSCODE, guard, "s").wait_seconds == 5.0
        assert guard.check("s", lambda: pytest.fail("compared while waiting")) == ("wait", 5.0)
        assert unlock(PASSCODE, PASSCODE, guard, "teacher").unlocked  # never locked out by the outage
        clock.advance(5)
        assert unlock(PASSCODE, PASSCODE, guard, "s").unlocked and guard.failures("s") == 0
