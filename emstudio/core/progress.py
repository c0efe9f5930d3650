"""Progress reporting from core functions without knowing who listens (CLI bar, job events)."""

from __future__ import annotations

import math
from collections.abc import Callable

# progress(done, total, message): called as work advances; may raise CancelledError to stop.
Progress = Callable[[int, int, str], None]


def no_progress(done: int, total: int, message: str) -> None:
    """The default listener: ignores everything."""


def scaled(progress: Progress, offset: int, span: int, total: int) -> Progress:
    """Map a sub-task's own (done, total) onto [offset, offset + span] of a larger ``total``."""

    def report(done: int, sub_total: int, message: str) -> None:
        progress(offset + (span * done) // max(sub_total, 1), total, message)

    return report


def describe_duration(seconds: float) -> str:
    """A duration as a person says it: "under 10 s", "about 40 s", "about 12 min", "about
    2.5 h"."""
    if seconds < 10:
        return "under 10 s"
    if seconds < 90:
        return f"about {max(1, math.ceil(seconds / 10) * 10):.0f} s"
    if seconds < 5400:
        return f"about {math.ceil(seconds / 60):.0f} min"
    return f"about {seconds / 3600:.1f} h"
