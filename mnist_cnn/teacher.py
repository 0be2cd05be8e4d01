"""The teacher role: a passcode set by the host, signed expiring tokens, and a limit on wrong guesses.

No Streamlit here. Tokens are signed with a key derived from the passcode alone, so they survive a
server restart and stop working when the host changes the passcode; the passcode itself is never
stored, logged, or put in a message.
"""
import base64
import functools
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

PASSCODE_ENVIRONMENT_VARIABLE = "MNIST_CNN_TEACHER_PASSCODE"
PASSCODE_SECRET_NAME = "teacher_passcode"
TOKEN_LIFETIME_SECONDS = 12 * 3600  # a school day: a link copied in the morning still works after lunch
# Fixed salt: the key must come out the same after a restart. The many iterations slow down anyone who
# holds a token and tries to guess the passcode offline.
_KEY_SALT = b"mnist-cnn-studio/teacher-token/v1"
_KEY_ITERATIONS = 200_000


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


def _signature(passcode, payload):
    digest = hmac.new(_signing_key(passcode), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_token(passcode, now=None, lifetime=TOKEN_LIFETIME_SECONDS):
    """A URL-safe token that proves its holder unlocked the teacher role, valid for ``lifetime`` seconds."""
    expires = int((time.time() if now is None else now) + lifetime)
    payload = f"{expires}.{secrets.token_hex(4)}"
    return f"{payload}.{_signature(passcode, payload)}"


def token_expiry(token, passcode, now=None):
    """The Unix time a valid token expires; None for a forged, altered, malformed or expired token."""
    if not passcode or not isinstance(token, str) or len(token) > 200:
        return None
    payload, _, signature = token.rpartition(".")
    expires, _, nonce = payload.partition(".")
    if not (expires.isdigit() and nonce and signature):
        return None
    if not hmac.compare_digest(signature.encode(), _signature(passcode, payload).encode()):
        return None
    expires = int(expires)
    return expires if expires > (time.time() if now is None else now) else None


def token_is_valid(token, passcode, now=None):
    return token_expiry(token, passcode, now) is not None


class AttemptLimiter:
    """Slows down guessing: per visitor, a growing wait after a few wrong passcodes; per server, a cap.

    Per key (one browser session): ``free_attempts`` wrong passcodes in a row are allowed at once; after
    that each one doubles the wait, from ``first_delay`` up to ``max_delay`` seconds. Per server: at most
    ``server_failures`` wrong passcodes in any ``server_window`` seconds, from all keys together (new
    sessions cannot reset it). A right passcode clears its key. Thread-safe; ``clock`` is injectable.
    """

    def __init__(self, free_attempts=3, first_delay=2.0, max_delay=60.0, server_failures=20, server_window=60.0,
                 clock=time.monotonic):
        self.free_attempts = free_attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.server_failures = server_failures
        self.server_window = server_window
        self._clock = clock
        self._lock = threading.Lock()
        self._by_key = {}  # key -> (wrong passcodes in a row, time of the last one)
        self._server = deque()  # times of recent wrong passcodes, oldest first

    def _key_delay(self, failures):
        # after free_attempts failures in a row: first_delay, then twice as long after each further one
        extra = failures - self.free_attempts
        return 0.0 if extra < 0 else min(self.first_delay * 2**extra, self.max_delay)

    def wait_seconds(self, key):
        """Seconds before ``key`` may try again (0 when it may now)."""
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            waits = [0.0]
            if key in self._by_key:
                failures, last = self._by_key[key]
                waits.append(last + self._key_delay(failures) - now)
            if len(self._server) >= self.server_failures:
                waits.append(self._server[len(self._server) - self.server_failures] + self.server_window - now)
            return max(waits)

    def server_is_limited(self):
        """Whether the server-wide cap is what makes visitors wait now."""
        with self._lock:
            self._forget_old(self._clock())
            return len(self._server) >= self.server_failures

    def record_failure(self, key):
        with self._lock:
            now = self._clock()
            failures, _ = self._by_key.get(key, (0, now))
            self._by_key[key] = (failures + 1, now)
            self._server.append(now)
            self._forget_old(now)

    def record_success(self, key):
        with self._lock:
            self._by_key.pop(key, None)

    def _forget_old(self, now):
        while self._server and self._server[0] <= now - self.server_window:
            self._server.popleft()
        # Keys idle for longer than the longest wait start afresh; this also bounds memory.
        for key in [key for key, (_, last) in self._by_key.items() if now - last > 2 * self.max_delay]:
            del self._by_key[key]


@dataclass(frozen=True)
class UnlockResult:
    """What an unlock attempt gave: a token, or a message and how long to wait before the next try."""

    token: str | None
    message: str = ""
    wait_seconds: float = 0.0

    @property
    def unlocked(self):
        return self.token is not None


def _wait_message(limiter, wait):
    seconds = max(1, math.ceil(wait))
    who = "Too many wrong passcodes on this server" if limiter.server_is_limited() else "Too many wrong passcodes"
    return f"{who}: wait {seconds} s before trying again."


def unlock(attempt, passcode, limiter, key, now=None):
    """Check a passcode attempt from ``key`` through ``limiter``; a token when right.

    While the limiter makes ``key`` wait, the attempt is not even compared (it counts as nothing).
    """
    wait = limiter.wait_seconds(key)
    if wait > 0:
        return UnlockResult(None, _wait_message(limiter, wait), wait)
    if passcode_matches(attempt, passcode):
        limiter.record_success(key)
        return UnlockResult(issue_token(passcode, now))
    limiter.record_failure(key)
    wait = limiter.wait_seconds(key)
    if wait > 0:
        return UnlockResult(None, "Wrong passcode. " + _wait_message(limiter, wait), wait)
    return UnlockResult(None, "Wrong passcode. Try again.")
