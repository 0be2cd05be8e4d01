"""Class rooms (classroom/rooms.py): join codes, the rooms table, limits on creating rooms and the room's
teacher tokens; on SQLite always and on PostgreSQL when one is available (always in CI). Two Rooms objects
on one database are two server processes, a new one is a restart."""
import pytest

from classroom.class_set import ROOMS, ClassSet
from classroom.rate_limit import RateLimitError
from classroom.rooms import (
    CLOSED_ROOM_KEEP_SECONDS,
    CREATION_WINDOW_SECONDS,
    FIND_SECONDS,
    JOIN_CODE_ALPHABET,
    KEEPER_TOKEN_LIFETIME_SECONDS,
    ROOM_IDLE_SECONDS,
    ROOM_TOKEN_LIFETIME_SECONDS,
    ROOMS_PER_CLIENT,
    ROOMS_PER_SERVER,
    TOUCH_SECONDS,
    WRONG_CODE_WINDOW_SECONDS,
    WRONG_CODES_PER_WINDOW,
    NoSuchRoomError,
    NotAJoinCodeError,
    PasscodeRefusedError,
    RoomLimitError,
    Rooms,
    closed_room_keep_seconds,
    keep_rooms_tidy,
    keeper_token_code,
    may_control_run,
    new_join_code,
    normalize_join_code,
    open_studio_refusal,
    visitor_digest,
    whose_runs,
)
from classroom.teacher import PasscodeGuard, client_digest

LOOK_ALIKES = "0O1IL2Z5S8B6G"
PASSCODE = "orange kite 7"


def stored_rooms(database):
    with database.transaction() as connection:
        return connection.execute(ROOMS.select()).all()


class FakeClock:
    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class CodeSequence:
    """A code generator that hands out the given codes in turn (to force collisions)."""

    def __init__(self, *codes):
        self.codes, self.calls = list(codes), 0

    def __call__(self):
        self.calls += 1
        return self.codes.pop(0)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def databases(class_set_url):
    """Two server processes' connections to one database."""
    opened = [ClassSet(class_set_url), ClassSet(class_set_url)]
    yield opened
    for database in opened:
        database.dispose()


@pytest.fixture
def rooms(databases, clock):
    return Rooms(databases[0], clock=clock)


def test_codes_are_six_characters_of_an_alphabet_without_look_alikes():
    assert len(set(JOIN_CODE_ALPHABET)) == len(JOIN_CODE_ALPHABET) and not set(LOOK_ALIKES) & set(JOIN_CODE_ALPHABET)
    assert not set("AEIOU") & set(JOIN_CODE_ALPHABET)  # no vowels: no code spells a word
    drawn = [new_join_code() for _ in range(500)]
    codes = set(drawn)
    assert len(codes) >= 495  # 20**6 codes: a repeat among 500 draws has odds of 2 in 1,000, five never happen
    assert all(len(code) == 6 and set(code) <= set(JOIN_CODE_ALPHABET) for code in codes)
    assert set("".join(codes)) == set(JOIN_CODE_ALPHABET)  # every character is used


@pytest.mark.parametrize("typed", [
    "cdf479", "CDF479", " cdf 479 ", "CDF-479", "cdf–479", "c d f 4 7 9\n", "ＣＤＦ４７９",  # full-width phone keyboard
    "СDF479",  # a Cyrillic С that looks the same
])
def test_a_typed_code_is_normalized(typed):
    assert normalize_join_code(typed) == "CDF479"


@pytest.mark.parametrize("typed, says", [
    ("", "Type the class code first"),
    ("   ", "Type the class code first"),
    (None, "Type the class code first"),
    ("CDF47", "That has 5 letters and numbers, not 6"),
    ("CDF4799", "That has 7 letters and numbers, not 6"),
    ("CDF40O", "no number “0”"),
    ("cdfo79", "no letter “O”"),
    ("CDF1L9", "no number “1”"),
    ("CDF4!9", "no sign “!”"),
    ("x" * 100, "too long"),
])
def test_anything_else_is_refused_with_a_sentence_for_the_student(typed, says):
    with pytest.raises(NotAJoinCodeError, match=says) as refusal:
        normalize_join_code(typed)
    assert isinstance(refusal.value, ValueError) and "check the code your teacher shows" in str(refusal.value)


def test_two_rooms_get_different_codes_and_are_found_by_what_a_student_types(rooms, clock):
    first, second = rooms.create("10.0.0.1"), rooms.create("10.0.0.1")
    assert first.code != second.code and first.teacher_secret != second.teacher_secret
    assert first.is_open and first.created_at == first.last_active_at == clock.now
    typed = f"{first.code[:3].lower()}-{first.code[3:].lower()}"
    assert rooms.find(typed) == first and rooms.join(typed) == first
    assert rooms.find("CDF4O9") is None  # not a code at all: nothing to find
    with pytest.raises(NoSuchRoomError, match="No class with the code"):
        rooms.join(next(code for code in ("CDFHJK", "CDFHJM") if code not in {first.code, second.code}))


def test_the_database_keeps_a_hash_of_the_creator_and_never_the_address(rooms, databases):
    room = rooms.create("203.0.113.7")
    row = stored_rooms(databases[0])[0]
    assert row.creator == client_digest("203.0.113.7") == room.creator and "203.0.113.7" not in str(tuple(row))
    assert len(row.teacher_secret) == 64 and room.teacher_secret not in repr(room)


def test_a_code_already_taken_is_drawn_again(databases, clock):
    taken = Rooms(databases[0], clock=clock, new_code=CodeSequence("CDFHJK")).create("a").code
    closed = Rooms(databases[0], clock=clock, new_code=CodeSequence("MNPQRT")).create("a").code
    Rooms(databases[0], clock=clock).close(closed)  # a closed room's code stays taken until it is purged
    codes = CodeSequence(taken, closed, "VWXY34")
    assert Rooms(databases[1], clock=clock, new_code=codes).create("b").code == "VWXY34" and codes.calls == 3


def test_a_closed_room_is_not_found_for_joining_but_still_for_export(rooms):
    room = rooms.create("a")
    assert rooms.close(room.code) and not rooms.close(room.code)
    assert rooms.find(room.code) is None
    with pytest.raises(NoSuchRoomError):
        rooms.join(room.code)
    kept = rooms.find(room.code, include_closed=True)
    assert kept.code == room.code and not kept.is_open


def test_activity_keeps_a_room_open_and_an_idle_room_closes(rooms, databases, clock):
    busy, idle = rooms.create("a"), rooms.create("b")
    clock.advance(ROOM_IDLE_SECONDS - 100)
    rooms.touch(busy.code)
    clock.advance(200)  # idle is now idle for longer than ROOM_IDLE_SECONDS, busy was used 200 s ago
    other_server = Rooms(databases[1], clock=clock)
    assert other_server.close_idle() == [idle.code] and other_server.close_idle() == []
    assert rooms.find(busy.code) is not None and rooms.find(idle.code) is None
    assert rooms.find(idle.code, include_closed=True).closed_at == clock.now
    rooms.touch(idle.code)  # activity does not reopen a closed room
    assert rooms.find(idle.code) is None


def test_touch_writes_at_most_once_a_minute_per_room(rooms, databases, clock):
    room = rooms.create("a")
    last_active = lambda: rooms.find(room.code).last_active_at  # noqa: E731
    clock.advance(TOUCH_SECONDS - 1)
    rooms.touch(room.code)  # within a minute of the creation: no write
    assert last_active() == room.created_at
    clock.advance(2)
    rooms.touch(room.code)
    assert last_active() == clock.now
    written = clock.now
    clock.advance(TOUCH_SECONDS / 2)
    rooms.touch(room.code)
    other_server = Rooms(databases[1], clock=clock)
    other_server.touch(room.code)  # the other process has no memory of it: the update's condition holds it back
    assert last_active() == written


class CountingDatabase:
    """A database that counts the transactions which take the write lock."""

    def __init__(self, database):
        self.database, self.writes = database, 0

    def transaction(self, writes=False):
        self.writes += writes
        return self.database.transaction(writes=writes)


def test_touch_within_a_minute_costs_no_write_transaction(databases, clock):
    database = CountingDatabase(databases[0])
    rooms = Rooms(database, clock=clock)
    room = rooms.create("a")
    written = database.writes
    for _ in range(100):  # a class of clicks
        clock.advance(TOUCH_SECONDS / 200)
        rooms.touch(room.code)
    assert database.writes == written
    clock.advance(TOUCH_SECONDS)
    rooms.touch(room.code)
    assert database.writes == written + 1


def test_rooms_closed_longer_than_the_keep_time_are_purged_with_their_data(databases, clock):
    purged_data = []
    rooms = Rooms(databases[0], clock=clock, purge_hooks=[lambda connection, codes: purged_data.append(sorted(codes))])
    old, recent, open_room = rooms.create("a"), rooms.create("b"), rooms.create("c")
    rooms.close(old.code)
    clock.advance(CLOSED_ROOM_KEEP_SECONDS - 10)
    rooms.close(recent.code)
    assert rooms.purge_closed() == [] and purged_data == []
    clock.advance(20)
    assert rooms.purge_closed() == [old.code] and purged_data == [[old.code]]
    assert rooms.find(old.code, include_closed=True) is None
    assert rooms.find(recent.code, include_closed=True) is not None and rooms.find(open_room.code) is not None


def test_a_failing_purge_hook_keeps_the_room(databases, clock):
    def broken(connection, codes):
        raise RuntimeError("the room's runs could not be deleted")

    rooms = Rooms(databases[0], clock=clock, purge_hooks=[broken])
    room = rooms.create("a")
    rooms.close(room.code)
    clock.advance(CLOSED_ROOM_KEEP_SECONDS + 1)
    with pytest.raises(RuntimeError):
        rooms.purge_closed()
    assert rooms.find(room.code, include_closed=True) is not None  # data and room go together or not at all


def test_one_client_creates_a_few_rooms_an_hour_on_every_server_and_after_a_restart(databases, clock):
    first, second = Rooms(databases[0], clock=clock), Rooms(databases[1], clock=clock)
    for i in range(ROOMS_PER_CLIENT):
        (first, second)[i % 2].create("10.0.0.1")
        clock.advance(60)
    for server in (first, second, Rooms(databases[0], clock=clock)):  # the third: the first after a restart
        with pytest.raises(RoomLimitError, match=f"started {ROOMS_PER_CLIENT} classes in the last hour.*in 57 minutes") as refusal:
            server.create("10.0.0.1")
    assert refusal.value.retry_after == CREATION_WINDOW_SECONDS - ROOMS_PER_CLIENT * 60
    second.create("10.0.0.2")  # another client is not held back
    clock.advance(refusal.value.retry_after + 1)
    first.create("10.0.0.1")  # the first room is an hour old


def test_everyone_together_creates_a_bounded_number_of_rooms_an_hour(databases, clock):
    servers = [Rooms(databases[i % 2], clock=clock) for i in range(2)]
    for i in range(ROOMS_PER_SERVER):
        servers[i % 2].create(f"client-{i}")
    clock.advance(30)
    for server in (*servers, Rooms(databases[1], clock=clock)):
        with pytest.raises(RoomLimitError, match=f"This server has started {ROOMS_PER_SERVER} classes.*in 60 minutes"):
            server.create("a new client")
    clock.advance(CREATION_WINDOW_SECONDS - 29)
    servers[0].create("a new client")


def test_with_a_passcode_creating_a_room_needs_it_and_no_limit_applies(databases, clock):
    guard = PasscodeGuard(lambda: databases[0], free_attempts=2, wrong_answer_spacing=0, clock=clock, sleep=lambda _: None)
    rooms = Rooms(databases[0], clock=clock, teacher_passcode=PASSCODE, guard=guard)
    for missing in (None, "", "  "):
        with pytest.raises(PasscodeRefusedError, match="needs the teacher passcode"):
            rooms.create("10.0.0.1", passcode=missing)
    with pytest.raises(PasscodeRefusedError, match="Wrong passcode. Try again"):
        rooms.create("10.0.0.1", passcode="guess")
    with pytest.raises(PasscodeRefusedError, match="Wrong passcode. Too many") as refusal:
        rooms.create("10.0.0.1", passcode="another guess")
    assert refusal.value.wait_seconds > 0
    with pytest.raises(PasscodeRefusedError, match="Too many wrong passcodes"):  # not even compared while waiting
        Rooms(databases[1], clock=clock, teacher_passcode=PASSCODE, guard=guard).create("10.0.0.1", passcode=PASSCODE)
    assert stored_rooms(databases[0]) == []
    for _ in range(ROOMS_PER_CLIENT + 1):  # a school's own deployment: its teachers share an address
        rooms.create("10.0.0.2", passcode=f" {PASSCODE}\n")
    assert len(stored_rooms(databases[0])) == ROOMS_PER_CLIENT + 1


def test_a_teacher_token_works_in_its_own_room_only(databases, clock):
    rooms = Rooms(databases[0], clock=clock)
    room_a, room_b = rooms.create("a"), rooms.create("b")
    token = rooms.issue_room_teacher_token(room_a)
    other_server = Rooms(databases[1], clock=clock)
    claims = other_server.room_teacher_rights(token, room_a.code)
    assert claims is not None and claims.issued_at == clock.now and claims.expires_at == int(clock.now + ROOM_TOKEN_LIFETIME_SECONDS)
    assert other_server.room_teacher_rights(token, room_b.code) is None
    # Room B's code put in A's token: the signature covers the code, and B's secret is another key.
    assert rooms.room_teacher_rights(room_b.code + token[len(room_a.code):], room_b.code) is None
    assert rooms.room_teacher_rights(rooms.issue_room_teacher_token(room_b), room_a.code) is None
    for nothing in (None, "", "not a token", f"{room_a.code}.", 12):
        assert rooms.room_teacher_rights(nothing, room_a.code) is None


def test_a_keeper_token_reads_its_class_open_or_closed_until_it_is_deleted_and_never_controls_it(databases, clock):
    rooms = Rooms(databases[0], clock=clock)
    room_a, room_b = rooms.create("a"), rooms.create("b")
    keeper = rooms.issue_keeper_token(room_a)
    assert keeper_token_code(keeper) == room_a.code and len(keeper) < 200
    other_server = Rooms(databases[1], clock=clock)
    assert other_server.kept_room(keeper).code == room_a.code
    # A keeper token is no teacher token, and a teacher token no keeper token.
    assert rooms.room_teacher_rights(keeper, room_a.code) is None
    assert rooms.kept_room(rooms.issue_room_teacher_token(room_a)) is None
    # Another room's code put in A's keeper token, B's keeper token with A's code, tampering, nonsense.
    assert rooms.kept_room(room_b.code + keeper[len(room_a.code):]) is None
    assert rooms.kept_room(room_a.code + rooms.issue_keeper_token(room_b)[len(room_b.code):]) is None
    assert rooms.kept_room(keeper[:-2] + ("AA" if keeper[-2:] != "AA" else "BB")) is None
    for nothing in (None, "", "not a token", f"{room_a.code}-keep.", 12):
        assert rooms.kept_room(nothing) is None
    # Closed: still kept (to download and pool), until the purge deletes the room.
    rooms.close(room_a.code)
    assert rooms.kept_room(keeper).closed_at == clock.now
    clock.advance(CLOSED_ROOM_KEEP_SECONDS + 1)
    assert rooms.purge_closed() == [room_a.code]
    assert rooms.kept_room(keeper) is None


def test_a_keeper_token_expires(rooms, clock):
    room = rooms.create("a")
    keeper, short = rooms.issue_keeper_token(room), rooms.issue_keeper_token(room, lifetime=100)
    clock.advance(99)
    assert rooms.kept_room(short) is not None
    clock.advance(2)
    assert rooms.kept_room(short) is None
    clock.advance(KEEPER_TOKEN_LIFETIME_SECONDS - 103)
    assert rooms.kept_room(keeper) is not None  # the room is open: kept as long as the token lasts
    clock.advance(2)
    assert rooms.kept_room(keeper) is None


def test_an_altered_token_is_refused(rooms, clock):
    room = rooms.create("a")
    token = rooms.issue_room_teacher_token(room)
    assert rooms.room_teacher_rights(token, room.code) is not None
    for i in range(len(room.code) + 1, len(token)):  # every character after the code, the signature's too
        if token[i] == ".":
            continue
        flipped = token[:i] + ("1" if token[i] != "1" else "2") + token[i + 1:]
        assert rooms.room_teacher_rights(flipped, room.code) is None, f"a token with character {i} changed works"


def test_a_token_expires(rooms, clock):
    room = rooms.create("a")
    token = rooms.issue_room_teacher_token(room)
    clock.advance(ROOM_TOKEN_LIFETIME_SECONDS - 1)
    rooms.touch(room.code)  # the room stays open: only the token's age counts
    assert rooms.room_teacher_rights(token, room.code) is not None
    clock.advance(1)
    assert rooms.room_teacher_rights(token, room.code) is None


@pytest.mark.parametrize("closing", ["the teacher ends it", "it is idle", "it is purged and its code taken again"])
def test_a_closed_rooms_token_is_refused_even_replayed(databases, clock, closing):
    rooms = Rooms(databases[0], clock=clock, new_code=CodeSequence("CDFHJK", "CDFHJK"))
    room = rooms.create("a")
    clock.advance(ROOM_IDLE_SECONDS / 2)
    token = rooms.issue_room_teacher_token(room)  # half a day old when the room is idle: still inside its lifetime
    issued_at = clock.now
    if closing == "the teacher ends it":
        rooms.close(room.code)
    else:
        clock.advance(ROOM_IDLE_SECONDS / 2 + 1)
        assert rooms.close_idle() == [room.code]
    if closing.startswith("it is purged"):
        clock.advance(CLOSED_ROOM_KEEP_SECONDS + 1)
        assert rooms.purge_closed() == [room.code]
        assert rooms.create("b").code == room.code  # a new room with the old code has a new secret
        clock.now = issued_at + 60
    assert clock.now < issued_at + ROOM_TOKEN_LIFETIME_SECONDS  # refused for the closing, not for the token's age
    assert Rooms(databases[1], clock=clock).room_teacher_rights(token, room.code) is None


def test_a_room_closed_by_another_server_stops_being_found_within_seconds(rooms, databases, clock):
    room = rooms.create("a")
    assert rooms.find(room.code) is not None  # this server's copy, read again after FIND_SECONDS
    Rooms(databases[1], clock=clock).close(room.code)
    assert rooms.find(room.code) is not None  # every student's page asks every second: not a read each time
    clock.advance(FIND_SECONDS)
    assert rooms.find(room.code) is None


class OnePass:
    """A stop event for one pass of a loop: not set until the loop waits."""

    def __init__(self):
        self.waited = []

    def is_set(self):
        return bool(self.waited)

    def wait(self, seconds):
        self.waited.append(seconds)


def test_a_server_closes_idle_rooms_and_deletes_expired_ones_on_its_own(databases, clock):
    rooms = Rooms(databases[0], clock=clock)
    expired, idle, busy = rooms.create("a"), rooms.create("b"), rooms.create("c")
    rooms.close(expired.code)
    clock.advance(ROOM_IDLE_SECONDS + 1)
    Rooms(databases[1], clock=clock).touch(busy.code)
    stop = OnePass()
    keep_rooms_tidy(rooms, stop, keep_seconds=ROOM_IDLE_SECONDS, every=123)
    assert stop.waited == [123]
    assert rooms.find(expired.code, include_closed=True) is None  # closed longer than the keep time: deleted
    assert not rooms.find(idle.code, include_closed=True).is_open and rooms.find(busy.code) is not None


def test_the_host_chooses_how_long_closed_rooms_are_kept():
    assert closed_room_keep_seconds({}) == CLOSED_ROOM_KEEP_SECONDS
    assert closed_room_keep_seconds({"MNIST_CNN_CLOSED_CLASS_DAYS": "7"}) == 7 * 86400
    assert closed_room_keep_seconds({"MNIST_CNN_CLOSED_CLASS_DAYS": "0"}) == 0
    for nonsense in ("seven", "-1", ""):
        assert closed_room_keep_seconds({"MNIST_CNN_CLOSED_CLASS_DAYS": nonsense}) == CLOSED_ROOM_KEEP_SECONDS


def test_a_visitor_of_the_open_studio_trains_at_most_two_full_epochs():
    assert open_studio_refusal(2, 60_000) is None and open_studio_refusal(30, 4_000) is None
    refusal = open_studio_refusal(10, 60_000)
    assert "600,000" in refusal and "start a class" in refusal


def test_the_host_exports_a_closed_class_s_digits_until_it_is_deleted(class_set_url, clock, tmp_path, capsys):
    import numpy as np

    from classroom.export import main as export_main

    database = ClassSet(class_set_url)
    try:
        rooms = Rooms(database, clock=clock)
        room, other = rooms.create("a"), rooms.create("b")
        image = np.zeros((28, 28), np.uint8)
        image[4:24, 12:16] = 255
        database.in_room(room.code).add(image, 1, 1, 0.9, "ann")
        database.in_room(other.code).add(image, 7, 1, 0.4, "bob")  # another class's digit stays out
        rooms.close(room.code)
        assert export_main([room.code.lower(), "--database-url", class_set_url, "--out", str(tmp_path)]) == 0
        saved = np.load(tmp_path / room.code / "class_digits.npz")
        assert saved["y"].tolist() == [1] and (saved["x"][0] == image).all()
        assert "ann" in (tmp_path / room.code / "class_digits.csv").read_text()

        clock.advance(CLOSED_ROOM_KEEP_SECONDS + 1)
        rooms.purge_closed()
        assert export_main([room.code, "--database-url", class_set_url, "--out", str(tmp_path / "later")]) == 2
        assert f"no class with the code {room.code}" in capsys.readouterr().err
        assert export_main(["BOOKS", "--database-url", class_set_url]) == 2
        assert "Class codes have no" in capsys.readouterr().err
    finally:
        database.dispose()


def test_a_client_guessing_codes_is_stopped_after_ten_wrong_ones_a_minute(rooms, clock):
    room = rooms.create("teacher")
    wrong = [code for code in (new_join_code() for _ in range(50)) if code != room.code][:WRONG_CODES_PER_WINDOW]
    for code in wrong:
        with pytest.raises(NoSuchRoomError):
            rooms.join(code, "guesser")
    with pytest.raises(RateLimitError, match="in 1 minute"):
        rooms.join(room.code, "guesser")  # even the right code: the guesser cannot tell a hit from a miss
    assert rooms.join(room.code, "a student").code == room.code  # other clients join as before
    clock.advance(WRONG_CODE_WINDOW_SECONDS)
    assert rooms.join(room.code, "guesser").code == room.code


def test_in_the_open_studio_a_run_is_its_starter_s_and_in_a_room_or_with_a_passcode_the_teacher_s():
    alice, bob = visitor_digest("a" * 32), visitor_digest("b" * 32)
    assert alice != bob and "a" * 32 not in alice and visitor_digest("a" * 32) == alice  # the same browser, reloaded
    open_studio = {"alice": whose_runs(True, alice), "bob": whose_runs(True, bob)}  # everyone has the rights there
    assert may_control_run(True, open_studio["alice"], alice)
    assert not may_control_run(True, open_studio["bob"], alice)
    assert not may_control_run(True, open_studio["bob"], "")  # a run of no known starter is nobody's
    teacher = whose_runs(False, bob)  # a room's teacher, or the teacher who unlocked the passcode
    assert may_control_run(True, teacher, alice) and may_control_run(True, teacher, "")
    assert not may_control_run(False, whose_runs(False, alice), alice)  # a student, even of a run of their own
