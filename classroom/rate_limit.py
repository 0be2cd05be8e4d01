"""A per-session rate limit: at most one action a second, and a bounded number a lesson."""
import threading
import time
from collections import deque
from contextlib import contextmanager

MIN_SECONDS_BETWEEN = 1.0
MAX_PER_LESSON = 200
LESSON_SECONDS = 2 * 60 * 60  # the window the per-lesson bound counts over (a double lesson)


class RateLimitError(Exception):
    """A session asked too often; the message says when it may go on."""


class RateLimiter:
    """Counts each session's actions in a rolling lesson window; thread-safe.

    ``clock`` returns seconds (``time.monotonic`` by default); tests inject a fake one.
    """

    def __init__(self, min_seconds_between=MIN_SECONDS_BETWEEN, max_per_lesson=MAX_PER_LESSON,
                 lesson_seconds=LESSON_SECONDS, clock=time.monotonic):
        self.min_seconds_between = min_seconds_between
        self.max_per_lesson = max_per_lesson
        self.lesson_seconds = lesson_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._times = {}  # session id -> deque of action times within the lesson window

    def _reserve(self, session_id):
        now = self._clock()
        with self._lock:
            times = self._times.setdefault(session_id, deque())
            while times and now - times[0] >= self.lesson_seconds:
                times.popleft()
            if times and now - times[-1] < self.min_seconds_between:
                raise RateLimitError(f"One digit a second, please: wait {self.min_seconds_between - (now - times[-1]):.1f} s.")
            if len(times) >= self.max_per_lesson:
                minutes = (self.lesson_seconds - (now - times[0])) / 60
                raise RateLimitError(
                    f"This session has given {self.max_per_lesson} digits this lesson, the most one session may give; "
                    f"more in {minutes:.0f} min."
                )
            times.append(now)
            self._forget_idle_sessions(now)
            return now

    def _forget_idle_sessions(self, now):
        idle = [key for key, times in self._times.items() if not times or now - times[-1] >= self.lesson_seconds]
        for key in idle:
            del self._times[key]

    def _release(self, session_id, reserved_at):
        with self._lock:
            times = self._times.get(session_id)
            if times and reserved_at in times:
                times.remove(reserved_at)

    @contextmanager
    def admit(self, session_id):
        """Admit one action of ``session_id`` or raise :class:`RateLimitError`; an action that
        raises inside the block is not counted."""
        reserved_at = self._reserve(session_id)
        try:
            yield
        except BaseException:
            self._release(session_id, reserved_at)
            raise
