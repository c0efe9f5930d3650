"""One worker thread for the crowd widgets' reads and computations (a tracings file, an
agreement map): the GUI thread never waits on them, and results come back to it as calls."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal


class Background(QObject):
    """``submit(work, done)``: ``work()`` runs in the worker thread, then ``done(result)`` on
    the GUI thread (``result`` is the exception when ``work`` raised one)."""

    _finished = Signal(object, object)  # done, result: queued to the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crowd")
        self._closed = False
        self._finished.connect(self._deliver)

    def submit(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        if self._closed:
            return
        future = self._pool.submit(work)
        future.add_done_callback(lambda f: self._report(f, done))

    def close(self) -> None:
        """Drop queued work, wait for the running one; later results are not delivered."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _report(self, future: Future, done: Callable[[Any], None]) -> None:
        if future.cancelled() or self._closed:
            return
        error = future.exception()
        self._finished.emit(done, error if error is not None else future.result())

    def _deliver(self, done: Callable[[Any], None], result: Any) -> None:
        if not self._closed:
            done(result)
