"""Measuring a server from outside: its CPU time (from /proc), and percentiles of what was timed."""
import os
from pathlib import Path

import numpy as np

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """CPU seconds (user and system, its waited-for children's too) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(field) for field in fields[11:15]) / TICKS_PER_SECOND


def percentile(values, q):
    """The ``q``-th percentile of ``values`` rounded to the millisecond; None for no values."""
    return round(float(np.percentile(values, q)), 3) if len(values) else None
