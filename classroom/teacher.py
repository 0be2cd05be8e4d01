"""The teacher role: a passcode set by the host, signed expiring tokens, revocation, one-time
sign-in links for a second device, and a guard on wrong guesses.

No Streamlit here. Tokens are signed with a key derived from the passcode alone, so they survive a
server restart and stop working when the host changes the passcode; each carries its issue time and
an id, so Lock (one token) and "sign out every device" (every token issued before a moment) can revoke
them, kept in the app's database through a restart, as are the wrong passcodes per client that slow
guessing down. The passcode itself is never stored, logged, or put in a message. A class room's teacher
tokens (:mod:`classroom.rooms`) have the same format and helpers, signed with the room's own secret.
"""
import base64
import functools
import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass

PASSCODE_ENVIRONMENT_VARIABLE = "MNIST_CNN_TEACHER_PASSCODE"
PASSCODE_SECRET_NAME = "teacher_passcode"
TOKEN_LIFETIME_SECONDS = 12 * 3600  # a school day: unlocked in the morning, still the teacher after lunch
SIGN_IN_LINK_SECONDS = 5 * 60  # a one-time link for the teacher's second device: open it now or never
# Fixed salt: the key must come out the same after a restart. The many iterations slow down anyone who
# holds a token and tries to guess the passcode offline.
_KEY_SALT = b"mnist-cnn-studio/teacher-token/v2"
_KEY_ITERATIONS = 200_000
_PAYLOAD = re.compile(r"(\d{1,16})\.(\d{1,12})\.([0-9a-f]{16})")  # issued (ms).expires (s).id


def configured_passcode(environ, secrets_lookup=None):
    """The teacher passcode set by the host, or None when class mode is off.

    ``environ``: a mapping such as ``os.environ`` (the variable wins); ``secrets_lookup``: a function of
    a name returning the secret or None (the app passes one that reads ``st.secrets`` safely).
    Surrounding whitespace is ignored: a blank passcode means no passcode.
    """
    value = environ.get(PASSCODE_ENVIRONMENT_VARIABLE)
    if not (isinstance(value, str) and value.strip()) and secrets_lookup is not None:
        value = secrets_lookup(PASSCODE_SECRET_NAME)
    if value is None or isinstance(value, bool):
        return None
    value = str(value).strip()  # a TOML number such as 1234 is a passcode too
    return value or None


def passcode_matches(attempt, passcode):
    """Whether ``attempt`` is the passcode, compared in constant time (lengths included)."""
    if not isinstance(attempt, str) or not passcode:
        return False
    attempt_digest = hashlib.sha256(attempt.strip().encode()).digest()
    return hmac.compare_digest(attempt_digest, hashlib.sha256(passcode.encode()).digest())


@functools.lru_cache(maxsize=4)
def _signing_key(passcode):
    return hashlib.pbkdf2_hmac("sha256", passcode.encode(), _KEY_SALT, _KEY_ITERATIONS)


def _signature(key, payload):
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def client_digest(key):
    """A client's key (e.g. its address) as a fixed-length SHA-256 (hex): what the database keeps instead of it."""
    return hashlib.sha256(str(key).encode()).hexdigest()


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says: its id, when it was issued and when it expires (Unix seconds)."""

    token_id: str
    issued_at: float
    expires_at: int


def issue_signed_token(key, now=None, lifetime=TOKEN_LIFETIME_SECONDS, scope=""):
    """A cookie-safe token ``[scope.]issued (ms).expires (s).id.signature``, HMAC-SHA256 signed with ``key``
    (bytes), valid for ``lifetime`` seconds. ``scope`` (no dots) names what the token is for, e.g. a room."""
    now = time.time() if now is None else now
    payload = f"{int(now * 1000)}.{int(now + lifetime)}.{secrets.token_hex(8)}"
    if scope:
        payload = f"{scope}.{payload}"
    return f"{payload}.{_signature(key, payload)}"


def signed_token_claims(token, key, now=None, scope=""):
    """The :class:`TokenClaims` of a valid token from :func:`issue_signed_token` with this ``key`` and
    ``scope``; None for a forged, altered, malformed, expired or other scope's one."""
    if not key or not isinstance(token, str) or len(token) > 200:
        return None
    payload, _, signature = token.rpartition(".")
    scope_prefix = f"{scope}." if scope else ""
    match = _PAYLOAD.fullmatch(payload.removeprefix(scope_prefix)) if payload.startswith(scope_prefix) else None
    if not (match and signature):
        return None
    if not hmac.compare_digest(signature.encode(), _signature(key, payload).encode()):
        return None
    issued_ms, expires, token_id = match.groups()
    claims = TokenClaims(token_id, int(issued_ms) / 1000, int(expires))
    return claims if claims.expires_at > (time.time() if now is None else now) else None


def issue_token(passcode, now=None, lifetime=TOKEN_LIFETIME_SECONDS):
    """A cookie-safe token that proves its holder unlocked the teacher role, valid for ``lifetime`` seconds."""
    return issue_signed_token(_signing_key(passcode), now, lifetime)


def token_claims(token, passcode, now=None):
    """The :class:`TokenClaims` of a valid token; None for a forged, altered, malformed or expired one.

    Revocation is not checked here: see :class:`Revocations`.
    """
    if not passcode:
        return None
    return signed_token_claims(token, _signing_key(passcode), now)


class Revocations:
    """Which teacher tokens no longer count: ids revoked by Lock, and every token issued before the
    last "sign out every device".

    Kept in memory and in ``store`` (a function returning the app's database, a
    :class:`~classroom.class_set.ClassSet` in the room whose teacher tokens these are: ``teacher_revocations()`` ->
    ``(ids, signed_out_before)``, ``revoke_teacher_token(token_id, expires_at)`` and
    ``sign_out_teacher_tokens(before, expires_at)``, each kept to its room), so they survive a restart. The store is read
    again every ``refresh_seconds`` (another server process may have revoked). A store that fails
    (``store_errors``) leaves this process's own revocations in force, and a revoke raises its error
    after taking effect here.
    """

    def __init__(self, store, store_errors=(), refresh_seconds=5.0, clock=time.monotonic):
        self._store = store
        self._store_errors = tuple(store_errors)
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = set()
        self._before = float("-inf")
        self._read_at = float("-inf")

    def _refresh(self):
        if self._clock() - self._read_at < self._refresh_seconds:
            return
        self._read_at = self._clock()
        try:
            ids, before = self._store().teacher_revocations()
        except self._store_errors:
            return
        self._ids.update(ids)
        if before is not None:
            self._before = max(self._before, before)

    def is_revoked(self, claims):
        with self._lock:
            self._refresh()
            return claims.token_id in self._ids or claims.issued_at < self._before

    def revoke(self, claims):
        """Lock: this one token stops working everywhere."""
        with self._lock:
            self._ids.add(claims.token_id)
        self._store().revoke_teacher_token(claims.token_id, claims.expires_at)

    def revoke_all(self, now=None):
        """Sign out every device: every token issued before now stops working."""
        before = time.time() if now is None else now
        with self._lock:
            self._before = max(self._before, before)
        self._store().sign_out_teacher_tokens(before, before + TOKEN_LIFETIME_SECONDS)


class SignInLinks:
    """One-time codes for the teacher's second device: each is valid once, for ``lifetime`` seconds, and
    only while the token that asked for it is still valid (not expired, not revoked). Thread-safe."""

    def __init__(self, lifetime=SIGN_IN_LINK_SECONDS, clock=time.monotonic):
        self.lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._codes = {}  # code -> (the asking token, expiry on the clock)

    def create(self, token):
        code = secrets.token_urlsafe(18)
        with self._lock:
            now = self._clock()
            self._codes = {c: entry for c, entry in self._codes.items() if entry[1] > now}
            self._codes[code] = (token, now + self.lifetime)
        return code

    def redeem(self, code):
        """The token that asked for ``code`` (the caller checks it is still valid), once; else None."""
        with self._lock:
            entry = self._codes.pop(code, None) if isinstance(code, str) else None
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]


class _FailuresInMemory:
    """The guard's per-client table in this process's memory: its own without a database, and its stand-in
    while the database cannot be reached (the methods of :class:`~classroom.class_set.ClassSet` it replaces)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_client = {}  # client -> (wrong passcodes in a row, time of the last one)

    def passcode_failures(self, client):
        with self._lock:
            return self._by_client.get(client, (0, None))

    def count_wrong_passcode(self, client, now, forget_before):
        with self._lock:
            self._by_client = {key: record for key, record in self._by_client.items() if record[1] >= forget_before}
            self._by_client[client] = (self._by_client.get(client, (0, None))[0] + 1, now)
            return self._by_client[client]

    def forget_passcode_failures(self, client):
        with self._lock:
            self._by_client.pop(client, None)


class PasscodeGuard:
    """Keeps guessing slow without ever refusing the right passcode because of someone else's wrong ones.

    Per client (a key that survives a reload, e.g. the client's address): one attempt at a time (a
    parallel one is refused without comparing), ``free_attempts`` wrong passcodes in a row, then a wait
    that doubles from ``first_delay`` up to ``max_delay`` seconds, during which attempts are refused
    without comparing. Per server process: wrong answers only are serialized through one lock and
    answered at least ``wrong_answer_spacing`` seconds apart, so a crowd of clients guesses no faster than
    that, while a right passcode is compared and accepted at once.

    The wrong passcodes per client are kept in ``store`` (a function returning the app's database, a
    :class:`~classroom.class_set.ClassSet`), so the wait holds across server processes and restarts; while
    it fails (``store_errors``), and without one, they are counted in this process's memory. ``clock``
    (wall-clock seconds: servers share the times) and ``sleep`` are injectable.
    """

    def __init__(self, store=None, store_errors=(), free_attempts=3, first_delay=2.0, max_delay=60.0,
                 wrong_answer_spacing=0.5, clock=time.time, sleep=time.sleep):
        self.free_attempts = free_attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.wrong_answer_spacing = wrong_answer_spacing
        self._store, self._store_errors = store, tuple(store_errors)
        self._memory = _FailuresInMemory()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()  # guards the in-flight set
        # In memory: an attempt is one thread's, and a server that dies mid-attempt must not leave its client busy.
        self._in_flight = set()
        # In memory: the spacing is a sleep under a lock, which must never hold a lock in the shared database.
        self._wrong_answers = threading.Lock()  # serializes this process's replies to wrong passcodes
        self._last_wrong_reply = float("-inf")

    def _failures(self, action):
        """``action(table)`` on the database's table of wrong passcodes, else on this process's memory."""
        if self._store is not None:
            try:
                return action(self._store())
            except self._store_errors:
                pass  # the database cannot be reached: this process counts on its own meanwhile
        return action(self._memory)

    def _forget_before(self, now):
        # A client idle for longer than the longest wait starts afresh; this also bounds the table.
        return now - 2 * self.max_delay

    def _key_delay(self, failures):
        # after free_attempts failures in a row: first_delay, then twice as long after each further one
        extra = failures - self.free_attempts
        return 0.0 if extra < 0 else min(self.first_delay * 2**extra, self.max_delay)

    def _wait(self, record, now):
        failures, last = record
        delay = self._key_delay(failures)
        # at most the delay: a last failure "after" now comes from another server whose clock is ahead
        return 0.0 if last is None else max(0.0, min(delay, last + delay - now))

    def _record(self, key, now):
        # (wrong passcodes in a row, time of the last) that still count; (0, None) for a client that starts afresh
        client = client_digest(key)
        failures, last = self._failures(lambda table: table.passcode_failures(client))
        return (0, None) if last is None or last < self._forget_before(now) else (failures, last)

    def failures(self, key):
        """Wrong passcodes in a row from ``key`` that still count."""
        return self._record(key, self._clock())[0]

    def wait_seconds(self, key):
        """Seconds before ``key`` may try again (0 when it may now)."""
        now = self._clock()
        return self._wait(self._record(key, now), now)

    def check(self, key, is_right):
        """Compare one attempt from ``key``: ``is_right()`` is called only when the client may try now.

        Returns ``(outcome, wait)``: outcome ``"right"``, ``"wrong"``, ``"wait"`` (not compared: the
        client must wait ``wait`` seconds) or ``"busy"`` (not compared: another attempt of the same
        client is under way in this process; ``wait`` is 0); otherwise ``wait`` is the client's wait after
        this attempt.
        """
        client = client_digest(key)
        with self._lock:
            if client in self._in_flight:
                return "busy", 0.0
            self._in_flight.add(client)
        try:
            now = self._clock()
            record = self._record(key, now)
            wait = self._wait(record, now)
            if wait > 0:
                return "wait", wait
            if is_right():
                if record[0]:
                    self._failures(lambda table: table.forget_passcode_failures(client))
                return "right", 0.0
            with self._wrong_answers:  # the server-wide cost of a wrong answer
                # at most one spacing: a wall clock set back must not hold every wrong answer for the difference
                pause = min(self.wrong_answer_spacing, self._last_wrong_reply + self.wrong_answer_spacing - self._clock())
                if pause > 0:
                    self._sleep(pause)
                self._last_wrong_reply = self._clock()
            now = self._clock()
            record = self._failures(lambda table: table.count_wrong_passcode(client, now, self._forget_before(now)))
            return "wrong", self._wait(record, now)
        finally:
            with self._lock:
                self._in_flight.discard(client)


@dataclass(frozen=True)
class UnlockResult:
    """What an unlock attempt gave: a token, or a message and how long to wait before the next try."""

    token: str | None
    message: str = ""
    wait_seconds: float = 0.0

    @property
    def unlocked(self):
        return self.token is not None


def _wait_message(wait):
    return f"Too many wrong passcodes from here: wait {max(1, math.ceil(wait))} s before trying again."


def passcode_refusal(attempt, passcode, guard, key):
    """Check a passcode attempt from client ``key`` through ``guard``: None when right, else an
    :class:`UnlockResult` without a token, saying why and how long to wait."""
    outcome, wait = guard.check(key, lambda: passcode_matches(attempt, passcode))
    if outcome == "right":
        return None
    if outcome == "busy":
        return UnlockResult(None, "Another passcode from here is being checked: try again in a moment.", 1.0)
    if outcome == "wait":
        return UnlockResult(None, _wait_message(wait), wait)
    if wait > 0:
        return UnlockResult(None, "Wrong passcode. " + _wait_message(wait), wait)
    return UnlockResult(None, "Wrong passcode. Try again.")


def unlock(attempt, passcode, guard, key, now=None):
    """Check a passcode attempt from client ``key`` through ``guard``; a token when right."""
    return passcode_refusal(attempt, passcode, guard, key) or UnlockResult(issue_token(passcode, now))
