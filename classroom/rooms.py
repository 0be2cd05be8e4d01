"""Class rooms: many classes on one deployment, each joined with a short code; no accounts.

A room is a row of the app's database (table ``rooms``, :data:`classroom.class_set.ROOMS`): its join
code, when it was created and last active, when it closed, a random secret that signs its teacher tokens,
and a SHA-256 of the creating client's key. A room idle for :data:`ROOM_IDLE_SECONDS` closes: nobody joins
it any more and its teacher tokens stop working, while its data stays exportable for
:data:`CLOSED_ROOM_KEEP_SECONDS`, after which :meth:`Rooms.purge_closed` deletes it with every row it owns
(:func:`classroom.class_set.delete_rooms_data`: digits, settings, sign-outs, runs, live run, class model, quiz).

Creating a room needs the teacher passcode when the host set one; without one anyone may, at most
:data:`ROOMS_PER_CLIENT` an hour per client and :data:`ROOMS_PER_SERVER` an hour in all, counted from the
table itself, so the limits hold across server processes and restarts.

No Streamlit here: the pages use rooms through :mod:`ui.rooms` and :mod:`ui.teacher`.
"""
import secrets
import string
import threading
import time
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa

from classroom.class_set import JOIN_CODE_LENGTH, ROOMS, ClassSetUnavailableError, delete_rooms_data
from classroom.rate_limit import RateLimitError
from classroom.teacher import (
    TOKEN_LIFETIME_SECONDS,
    PasscodeGuard,
    client_digest,
    issue_signed_token,
    passcode_refusal,
    signed_token_claims,
)

# No look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G) and no vowels, so no code spells a word on the projector.
JOIN_CODE_ALPHABET = "CDFHJKMNPQRTVWXY3479"
# Letters from other scripts that look exactly like one of ours on a phone keyboard (Cyrillic, then Greek).
_SAME_LOOKING = dict(zip("СНКМРТХУΗΚΜΝΡΤΧΥ", "CHKMPTXYHKMNPTXY", strict=True))
_SEPARATORS = frozenset("-‐‑‒–—―_.+")  # what a student or a link may put between the groups, besides spaces
_LONGEST_TYPED = 40  # anything longer is not a code typed by hand: refused without a closer look

ROOM_IDLE_SECONDS = 12 * 3600  # a school day without a click closes the room
CLOSED_ROOM_KEEP_SECONDS = 30 * 24 * 3600  # a closed room's data stays exportable this long, then it is deleted
KEEP_DAYS_ENV = "MNIST_CNN_CLOSED_CLASS_DAYS"  # the host's choice of that time, in days
TIDY_SECONDS = 600  # how often a server closes idle rooms and deletes expired ones
FIND_SECONDS = 2.0  # how long a process trusts its copy of a room (every page of every student asks, every second)
TOUCH_SECONDS = 60  # activity is written at most once a minute per room: a click must not cost a write
ROOMS_PER_CLIENT = 3  # rooms one client may create per CREATION_WINDOW_SECONDS when no passcode is set
ROOMS_PER_SERVER = 60  # rooms everyone together may create per CREATION_WINDOW_SECONDS when no passcode is set
CREATION_WINDOW_SECONDS = 3600
ROOM_TOKEN_LIFETIME_SECONDS = TOKEN_LIFETIME_SECONDS  # a room's teacher is the teacher for a school day, as with the passcode
# A keeper token lets the room's teacher download and pool its digits (never control it) until its data is
# deleted: the longest a room is kept after closing, plus a week of lessons in it; renewed while the room is used.
KEEPER_SUFFIX = "-keep"  # a room's keeper tokens start "CODE-keep.", its teacher tokens "CODE.": never the same
KEEPER_TOKEN_LIFETIME_SECONDS = CLOSED_ROOM_KEEP_SECONDS + 7 * 24 * 3600
TEACHER_SECRET_BYTES = 32  # the column keeps it as hex, 64 characters
WRONG_CODES_PER_WINDOW = 10  # codes of no open class one client may try per WRONG_CODE_WINDOW_SECONDS
WRONG_CODE_WINDOW_SECONDS = 60  # so guessing one of 64 million codes takes years, and a typo costs nothing
CODE_ATTEMPTS = 20  # fresh codes tried before giving up: a collision is one in millions while few rooms exist
POSTGRESQL_CREATION_LOCK_KEY = 1416  # pg_advisory_xact_lock: rooms are created one at a time, so the limits are exact


# A visitor of the open studio (no room, no passcode) trains at most this many images (epochs x training images):
# two epochs of the full training set, a minute or two on a small server; a room's runs wait for it at most that long.
OPEN_STUDIO_MAX_IMAGES = 2 * 60_000


def open_studio_refusal(epochs, train_size):
    """Why a visitor of the open studio may not train ``epochs`` over ``train_size`` images (None when they may)."""
    if epochs * train_size <= OPEN_STUDIO_MAX_IMAGES:
        return None
    return (f"Outside a class, a run trains on at most {OPEN_STUDIO_MAX_IMAGES:,} images in all (epochs × training images; "
            f"this one: {epochs * train_size:,}), so that classes never wait long for it. Use fewer epochs or images, "
            "or start a class (home page) for longer runs.")


def whose_runs(open_studio, visitor):
    """Whose runs a page controls and shows as waiting: in the open studio without a passcode (``open_studio``),
    where everyone has teacher rights, the visitor's own (``visitor``: :func:`visitor_digest`); else None: the
    room's, whoever started them (the rights are its teacher's alone)."""
    return visitor if open_studio else None


def is_among(whose, run_starter):
    """Whether a run started by ``run_starter`` (a :func:`visitor_digest`, "" when unknown) is among ``whose``
    runs (:func:`whose_runs`; None: anyone's)."""
    return whose in (None, run_starter)


def may_control_run(rights, whose, run_starter):
    """Whether a page with teacher ``rights`` that controls ``whose`` runs (:func:`whose_runs`) may stop a run
    started by ``run_starter``, or cancel it while it waits."""
    return bool(rights) and is_among(whose, run_starter)


def visitor_digest(visitor_id):
    """What a run keeps of the visitor who started it: their browser's visitor id as a SHA-256, never the id."""
    return client_digest(visitor_id)


class NotAJoinCodeError(ValueError):
    """What was typed cannot be a join code; the message is meant for the student."""


class NoSuchRoomError(LookupError):
    """No open class has this code; the message is meant for the student."""


class RoomLimitError(RateLimitError):
    """Too many rooms created lately; the message says when to try again, ``retry_after`` in seconds."""

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


class PasscodeRefusedError(PermissionError):
    """Creating a room needs the teacher passcode and it was missing or wrong; the message is for the page,
    ``wait_seconds`` how long before the next attempt is compared."""

    def __init__(self, message, wait_seconds=0.0):
        super().__init__(message)
        self.wait_seconds = wait_seconds


def new_join_code():
    """A random join code: JOIN_CODE_LENGTH characters of JOIN_CODE_ALPHABET."""
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def _how_to_type():
    return f"A class code has {JOIN_CODE_LENGTH} letters and numbers: check the code your teacher shows and type it again."


def normalize_join_code(typed):
    """The join code in ``typed`` (what a student typed or a QR link carried), in capitals without separators.

    Case, spaces, dashes and letters from other alphabets that look the same are forgiven; anything else
    raises :class:`NotAJoinCodeError` with a sentence for the student. A character left out of the
    alphabet because it looks like another one (O and 0, I, L and 1, ...) could mean either, so it is
    refused with a hint rather than guessed.
    """
    if not isinstance(typed, str) or not typed.strip():
        raise NotAJoinCodeError(f"Type the class code first. {_how_to_type()}")
    if len(typed) > _LONGEST_TYPED:
        raise NotAJoinCodeError(f"That is too long for a class code. {_how_to_type()}")
    # NFKC folds phone keyboards' full-width letters (Ａ) into plain ones.
    characters = [_SAME_LOOKING.get(c, c) for c in unicodedata.normalize("NFKC", typed).upper()]
    code = "".join(c for c in characters if not (c.isspace() or c in _SEPARATORS))
    unknown = next((c for c in code if c not in JOIN_CODE_ALPHABET), None)
    if unknown is not None:
        kind = "number" if unknown in string.digits else "letter" if unknown.isalpha() else "sign"
        raise NotAJoinCodeError(f"Class codes have no {kind} “{unknown}”. {_how_to_type()}")
    if len(code) != JOIN_CODE_LENGTH:
        raise NotAJoinCodeError(f"That has {len(code)} letters and numbers, not {JOIN_CODE_LENGTH}. {_how_to_type()}")
    return code


@dataclass(frozen=True)
class Room:
    """One class room as the database keeps it (times in Unix seconds)."""

    code: str
    created_at: float
    last_active_at: float
    closed_at: float | None  # None while the room is open
    teacher_secret: str = field(repr=False)  # signs the room's teacher tokens: never shown or logged
    creator: str = field(repr=False)  # a SHA-256 of the creating client's key

    @property
    def is_open(self):
        return self.closed_at is None


def _room(row):
    return Room(row.code, row.created_at, row.last_active_at, row.closed_at, row.teacher_secret, row.creator)


def _in_how_long(seconds):
    minutes = max(1, -(-int(seconds) // 60))  # rounded up: "in 0 minutes" would be wrong
    return "in 1 minute" if minutes == 1 else f"in {minutes} minutes"


class Rooms:
    """The class rooms in ``database`` (a :class:`~classroom.class_set.ClassSet`); every server process on
    it sees the same rooms.

    ``clock``: wall-clock Unix seconds (servers share the times; tests inject one). ``teacher_passcode``:
    the host's passcode, required to create a room when set; wrong ones go through ``guard`` (a
    :class:`~classroom.teacher.PasscodeGuard`; the app passes its own, so teacher unlocks and room creation
    share one count per client). ``new_code``: the code generator (tests inject collisions).
    ``purge_hooks``: functions ``hook(connection, codes)`` called in the purge's transaction after the rooms' rows
    in every room-owned table are deleted (:func:`~classroom.class_set.delete_rooms_data`, always), for anything
    else a room leaves behind.
    """

    def __init__(self, database, clock=time.time, teacher_passcode=None, guard=None, new_code=new_join_code,
                 rooms_per_client=ROOMS_PER_CLIENT, rooms_per_server=ROOMS_PER_SERVER, purge_hooks=()):
        self._database, self._clock = database, clock
        self._teacher_passcode = teacher_passcode
        self._guard = guard or PasscodeGuard(lambda: database, store_errors=(ClassSetUnavailableError,), clock=clock)
        self._new_code = new_code
        self.rooms_per_client, self.rooms_per_server = rooms_per_client, rooms_per_server
        self._purge_hooks = tuple(purge_hooks)
        self._touch_lock = threading.Lock()
        self._touched = {}  # code -> when this process last wrote its activity
        self._found = {}  # code -> (open Room or None, when read): rooms closed by another process show within FIND_SECONDS
        self._wrong_codes = {}  # client digest -> times of its codes of no open class, in this process

    # -- creating ---------------------------------------------------------------------------

    def create(self, client_key, passcode=None):
        """A new open room created by client ``client_key`` (e.g. its address; only its SHA-256 is kept).

        With a teacher passcode configured ``passcode`` must match it (:class:`PasscodeRefusedError`
        otherwise); without one, :class:`RoomLimitError` once the client or everyone together created
        the hour's allowance.
        """
        if self._teacher_passcode:
            self._require_passcode(client_key, passcode)
        creator = client_digest(client_key)
        with self._database.transaction(writes=True) as connection:
            if connection.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serializes writers
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRESQL_CREATION_LOCK_KEY})
            now = self._clock()
            if not self._teacher_passcode:
                self._require_allowance(connection, creator, now)
            room = Room(self._free_code(connection), now, now, None, secrets.token_hex(TEACHER_SECRET_BYTES), creator)
            connection.execute(ROOMS.insert().values(
                code=room.code, created_at=room.created_at, last_active_at=room.last_active_at, closed_at=None,
                teacher_secret=room.teacher_secret, creator=room.creator,
            ))
        self._remember_touch(room.code, now)
        self._found.pop(room.code, None)
        return room

    def _require_passcode(self, client_key, attempt):
        if not (isinstance(attempt, str) and attempt.strip()):
            raise PasscodeRefusedError("Starting a class on this server needs the teacher passcode: type it first.")
        refusal = passcode_refusal(attempt, self._teacher_passcode, self._guard, client_key)
        if refusal is not None:
            raise PasscodeRefusedError(refusal.message, refusal.wait_seconds)

    def _require_allowance(self, connection, creator, now):
        since = now - CREATION_WINDOW_SECONDS
        limits = (
            (ROOMS.c.creator == creator, self.rooms_per_client,
             "You have started {limit} classes in the last hour, the most one device may. You can start another {when}."),
            (sa.true(), self.rooms_per_server,
             "This server has started {limit} classes in the last hour, as many as it takes. Try again {when}."),
        )
        for condition, limit, message in limits:
            # The limit-th newest creation in the window: once it is an hour old, one more room may be created.
            times = connection.execute(
                sa.select(ROOMS.c.created_at).where(condition, ROOMS.c.created_at > since)
                .order_by(ROOMS.c.created_at.desc()).limit(limit)
            ).scalars().all()
            if len(times) >= limit:
                retry_after = max(0.0, times[-1] + CREATION_WINDOW_SECONDS - now)
                raise RoomLimitError(message.format(limit=limit, when=_in_how_long(retry_after)), retry_after)

    def _free_code(self, connection):
        # A closed room's code stays taken until the room is purged: its data is still exported by its code.
        for _ in range(CODE_ATTEMPTS):
            code = self._new_code()
            if connection.execute(sa.select(ROOMS.c.code).where(ROOMS.c.code == code)).first() is None:
                return code
        raise ClassSetUnavailableError(f"No free class code came up in {CODE_ATTEMPTS} tries: try starting the class again.")

    # -- finding and activity ---------------------------------------------------------------

    def find(self, code, include_closed=False):
        """The open room with this code (as typed: see :func:`normalize_join_code`), else None; with
        ``include_closed`` a closed room not yet purged too (to export its data)."""
        try:
            code = normalize_join_code(code)
        except NotAJoinCodeError:
            return None
        if not include_closed:
            room, read_at = self._found.get(code, (None, float("-inf")))
            if self._clock() - read_at < FIND_SECONDS:
                return room
        query = sa.select(ROOMS).where(ROOMS.c.code == code)
        if not include_closed:
            query = query.where(ROOMS.c.closed_at.is_(None))
        with self._database.transaction() as connection:
            row = connection.execute(query).first()
        room = None if row is None else _room(row)
        if not include_closed:
            if len(self._found) > 1000:
                self._found.clear()  # strangers typing codes must not grow it without end
            self._found[code] = (room, self._clock())
        return room

    def join(self, typed, client_key=""):
        """The open room whose code a student typed; :class:`NotAJoinCodeError` or :class:`NoSuchRoomError`
        with a sentence for the student otherwise, and :class:`RateLimitError` once client ``client_key`` tried
        WRONG_CODES_PER_WINDOW codes of no open class within WRONG_CODE_WINDOW_SECONDS (counted per process)."""
        code = normalize_join_code(typed)
        client, now = client_digest(client_key), self._clock()
        with self._touch_lock:
            recent = [t for t in self._wrong_codes.get(client, ()) if now - t < WRONG_CODE_WINDOW_SECONDS]
        if len(recent) >= WRONG_CODES_PER_WINDOW:
            wait = recent[0] + WRONG_CODE_WINDOW_SECONDS - now
            raise RateLimitError(f"Too many codes of no open class: check the code your teacher shows and try again "
                                 f"{_in_how_long(wait)}.")
        room = self.find(code)
        if room is None:
            with self._touch_lock:
                if len(self._wrong_codes) > 10_000:
                    self._wrong_codes.clear()  # strangers must not grow it without end
                self._wrong_codes[client] = [*recent, now]
            raise NoSuchRoomError(f"No class with the code {code} is open right now. Check the code your teacher shows.")
        return room

    def touch(self, code):
        """Someone used the room: it stays open. Written at most once per TOUCH_SECONDS per room (by this
        process, and across processes by the condition in the update), so ``last_active_at`` may lag the last
        click by two minutes at most, nothing next to ROOM_IDLE_SECONDS; a closed room stays closed."""
        now = self._clock()
        with self._touch_lock:
            if now - self._touched.get(code, float("-inf")) < TOUCH_SECONDS:
                return
        with self._database.transaction(writes=True) as connection:
            connection.execute(ROOMS.update().where(
                ROOMS.c.code == code, ROOMS.c.closed_at.is_(None), ROOMS.c.last_active_at <= now - TOUCH_SECONDS,
            ).values(last_active_at=now))
        self._remember_touch(code, now)

    def _remember_touch(self, code, now):
        with self._touch_lock:
            if len(self._touched) > 1000:  # rooms not touched for a minute need no entry
                self._touched = {c: t for c, t in self._touched.items() if now - t < TOUCH_SECONDS}
            self._touched[code] = now

    # -- closing and purging ----------------------------------------------------------------

    def close(self, code):
        """The teacher ends the class ``code`` (as :class:`Room` has it) now: nobody joins any more and its
        teacher tokens stop working; its data stays exportable until it is purged. True if an open room closed."""
        with self._database.transaction(writes=True) as connection:
            closed = connection.execute(
                ROOMS.update().where(ROOMS.c.code == code, ROOMS.c.closed_at.is_(None)).values(closed_at=self._clock())
            ).rowcount > 0
        self._found.pop(code, None)
        return closed

    def close_idle(self, idle_seconds=ROOM_IDLE_SECONDS):
        """Close every open room with no activity for ``idle_seconds``; returns their codes."""
        now = self._clock()
        idle = sa.and_(ROOMS.c.closed_at.is_(None), ROOMS.c.last_active_at < now - idle_seconds)
        with self._database.transaction(writes=True) as connection:
            codes = connection.execute(sa.select(ROOMS.c.code).where(idle)).scalars().all()
            if codes:
                connection.execute(ROOMS.update().where(idle, ROOMS.c.code.in_(codes)).values(closed_at=now))
        for code in codes:
            self._found.pop(code, None)
        return sorted(codes)

    def purge_closed(self, keep_seconds=CLOSED_ROOM_KEEP_SECONDS):
        """Delete every room closed more than ``keep_seconds`` ago with all its data (its rows in every
        room-owned table, then the purge hooks), in one transaction; returns their codes (which new rooms may
        then get, starting empty)."""
        now = self._clock()
        expired = ROOMS.c.closed_at < now - keep_seconds
        with self._database.transaction(writes=True) as connection:
            codes = connection.execute(sa.select(ROOMS.c.code).where(expired)).scalars().all()
            if codes:
                delete_rooms_data(connection, codes)
                for hook in self._purge_hooks:
                    hook(connection, codes)
                connection.execute(ROOMS.delete().where(ROOMS.c.code.in_(codes)))
        return sorted(codes)

    # -- the room's teacher -----------------------------------------------------------------

    def issue_room_teacher_token(self, room, now=None):
        """A token that makes its holder the teacher of ``room`` (a :class:`Room`) for
        ROOM_TOKEN_LIFETIME_SECONDS, signed with the room's own secret and naming its code."""
        now = self._clock() if now is None else now
        return issue_signed_token(bytes.fromhex(room.teacher_secret), now, ROOM_TOKEN_LIFETIME_SECONDS, scope=room.code)

    def room_teacher_rights(self, token, code, now=None):
        """The :class:`~classroom.teacher.TokenClaims` of ``token`` when it makes its holder the teacher of
        the open room ``code``; None for another room's, a forged, altered or expired token, or a closed room."""
        if not isinstance(token, str) or not isinstance(code, str) or not token.startswith(f"{code}."):
            return None  # another room's token or none at all: no database read
        room = self.find(code)
        if room is None or room.code != code:
            return None
        now = self._clock() if now is None else now
        return signed_token_claims(token, bytes.fromhex(room.teacher_secret), now, scope=room.code)

    # -- the room's keeper: its digits after the lesson -------------------------------------

    def issue_keeper_token(self, room, now=None, lifetime=KEEPER_TOKEN_LIFETIME_SECONDS):
        """A token that lets its holder read the digits of ``room`` (a :class:`Room`), open or closed, until the
        room is deleted or the token expires; signed with the room's secret. It gives no control of the room."""
        now = self._clock() if now is None else now
        return issue_signed_token(bytes.fromhex(room.teacher_secret), now, lifetime, scope=room.code + KEEPER_SUFFIX)

    def kept_room(self, token, now=None):
        """The :class:`Room` (open or closed, not yet deleted) whose keeper token ``token`` is; None for a forged,
        altered or expired token, a teacher token, or a deleted room."""
        code = keeper_token_code(token)
        room = self.find(code, include_closed=True) if len(code) == JOIN_CODE_LENGTH else None
        if room is None or room.code != code:
            return None
        now = self._clock() if now is None else now
        claims = signed_token_claims(token, bytes.fromhex(room.teacher_secret), now, scope=code + KEEPER_SUFFIX)
        return None if claims is None else room


def keeper_token_code(token):
    """The class code a keeper token names, unchecked ("" when ``token`` is no keeper token)."""
    scope = token.split(".", 1)[0] if isinstance(token, str) else ""
    return scope.removesuffix(KEEPER_SUFFIX) if scope.endswith(KEEPER_SUFFIX) else ""


def closed_room_keep_seconds(environ):
    """How long a closed room's data is kept: ``MNIST_CNN_CLOSED_CLASS_DAYS`` days when the host set a number
    of days (0 or more) in ``environ``, else CLOSED_ROOM_KEEP_SECONDS."""
    try:
        days = float(environ.get(KEEP_DAYS_ENV, ""))
    except ValueError:
        return CLOSED_ROOM_KEEP_SECONDS
    return days * 86400 if days >= 0 else CLOSED_ROOM_KEEP_SECONDS


def keep_rooms_tidy(rooms, stop, keep_seconds=CLOSED_ROOM_KEEP_SECONDS, every=TIDY_SECONDS):
    """Until ``stop`` (a threading.Event) is set: close rooms idle for ROOM_IDLE_SECONDS and delete those closed
    ``keep_seconds`` ago, every ``every`` seconds (a server's thread; every server may run one)."""
    while not stop.is_set():
        try:
            rooms.close_idle()
            rooms.purge_closed(keep_seconds)
        except ClassSetUnavailableError:
            pass  # the database is down: next time
        stop.wait(every)
