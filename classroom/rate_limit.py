"""How often a student may give a digit: at most one a second, and a bounded number a lesson.

Both are kept in the class set's database (:meth:`classroom.class_set.ClassSet.add`), counted from the
student's own digits, so a reload, another server process or a restart resets neither.
"""
MIN_SECONDS_BETWEEN = 1.0
MAX_PER_LESSON = 200  # the most digits a teacher may allow each student a lesson
LESSON_SECONDS = 2 * 60 * 60  # the window the per-lesson bound counts over (a double lesson)


class RateLimitError(Exception):
    """A student asked too often; the message says when they may go on."""


def require_spacing(seconds_since_last, min_seconds_between=MIN_SECONDS_BETWEEN):
    """Raise :class:`RateLimitError` when the student's last digit came less than ``min_seconds_between`` ago."""
    seconds_since_last = max(0.0, seconds_since_last)  # a last digit "after" now (a give racing this one, a clock ahead)
    if seconds_since_last < min_seconds_between:
        raise RateLimitError(f"One digit a second, please: wait {min_seconds_between - seconds_since_last:.1f} s.")
