"""A background thread that produces items ahead of their use (reading/sampling overlapped with
compute). Items come out in order; an error in the producer is raised in the consumer."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class Prefetcher(Generic[T]):
    """Iterate over ``produce(item)`` for each of ``items``, ``depth`` results ahead."""

    def __init__(self, produce: Callable[..., T], items: Iterable, depth: int = 2) -> None:
        self._produce = produce
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)

    def _run(self) -> None:
        try:
            for item in self._items:
                if self._stop.is_set():
                    return
                self._put(("ok", self._produce(item)))
        except BaseException as exc:  # handed to the consumer
            self._put(("error", exc))
            return
        self._put(("ok", _END))

    def _put(self, entry: tuple) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[T]:
        while True:
            kind, value = self._queue.get()
            if kind == "error":
                raise value
            if value is _END:
                return
            yield value

    def __enter__(self) -> Prefetcher[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
