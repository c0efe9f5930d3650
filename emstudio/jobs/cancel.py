"""Polite cancellation of a job process: a request file (every platform) and SIGTERM (POSIX).

The requester writes ``jobs/<id>/cancel`` and, on POSIX, sends SIGTERM. In the job process
SIGTERM becomes KeyboardInterrupt, and progress reports poll the file, so a job stops at its
next progress report (well under the 2 s asked of a cancel) and cleans up its partial output.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emstudio.core.errors import CancelledError
from emstudio.core.project.project import CANCEL_REQUEST_FILE as CANCEL_FILE

POLL_SECONDS = 0.2


def request_cancel(job_dir: Path) -> None:
    (Path(job_dir) / CANCEL_FILE).write_text(str(time.time()), encoding="utf-8")


def cancel_requested(job_dir: Path) -> bool:
    return (Path(job_dir) / CANCEL_FILE).exists()


class CancelWatch:
    """Raises CancelledError from ``check()`` once a cancel was requested (file polled ≤ 5/s)."""

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = Path(job_dir)
        self._last = 0.0

    def check(self) -> None:
        now = time.monotonic()
        if now - self._last < POLL_SECONDS:
            return
        self._last = now
        if cancel_requested(self.job_dir):
            raise CancelledError("Cancelled by the user; partial results were removed.")


def _interrupt(signum: int, frame: object) -> None:
    """A signal handler: the signal stops the main thread as Ctrl-C does."""
    raise KeyboardInterrupt


def sigterm_as_interrupt() -> None:
    """In a job process: SIGTERM raises KeyboardInterrupt in the main thread (POSIX)."""
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _interrupt)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While the block runs (a job run by a command in its own process, which `kill`, `emstudio
    job cancel` or closing its terminal may stop), SIGTERM and SIGHUP raise KeyboardInterrupt:
    the job is cancelled cleanly. The old handlers are put back after; nothing off the main
    thread, where no handler can be set."""
    stops = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    if not stops or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {stop: signal.signal(stop, _interrupt) for stop in stops}
    try:
        yield
    finally:
        for stop, old in previous.items():
            signal.signal(stop, old)
