"""Writing boxes of several stores in a child process, so that this process's GIL stays free.

A GPU prediction writes its maps, column by column, while one of its threads drives the model.
Coding and writing the chunks mostly runs without the GIL, but each chunk takes it several
times (the code around the coder, opening, writing and flushing its file). On a 16-core H200
machine, the threads writing three maps of 517 x 1024 x 1024 voxels a column waited for the
GIL a third of their time, and the column waited 1.7 s for them after the model's 3.2 s; with
four chunk threads a map instead of one, they waited less, but the model's own part grew to
5.8 s (session 14). In a process of their own, they share a GIL only with each other.

The boxes travel through one block of shared memory, sized for the largest set of boxes: a
copy at memory speed, without the GIL, instead of pickling them through a pipe. A write returns
once its chunk files are written and those of the write before are durable: making one box's
files durable (the disk) overlaps coding and writing the next one's (the cores).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from emstudio.core.volume.chunkio import fsync_file
from emstudio.core.volume.store import PyramidBoxes

SHARED_MEMORY_FOLDER = Path("/dev/shm")  # where Linux keeps shared memory (a tmpfs)
FLUSH_THREADS = 16  # threads making the written files durable (they wait on the disk)

# where a box lies in the shared memory: (byte offset, shape, dtype)
BoxLayout = tuple[int, tuple[int, ...], str]
Result = TypeVar("Result")


def shared_memory_room(nbytes: int) -> bool:
    """Whether a shared memory block of ``nbytes`` fits. On Linux it lives in a tmpfs whose
    size containers often set to 64 MiB (writing past its end kills the process); Windows and
    macOS back it with the paging file and virtual memory."""
    if not sys.platform.startswith("linux"):
        return True
    try:
        return shutil.disk_usage(SHARED_MEMORY_FOLDER).free >= nbytes
    except OSError:
        return False


class BoxWriterProcess:
    """Writes boxes of several stores (through all their levels: ``PyramidBoxes``) in one child
    process with ``threads`` chunk-writing threads per store, up to ``capacity`` bytes of boxes
    at a time. A box is durably on disk once the next ``write`` or ``flush`` has returned."""

    def __init__(self, stores: list[PyramidBoxes], capacity: int, threads: int) -> None:
        self._stores = stores
        self._memory = SharedMemory(create=True, size=max(1, capacity))
        try:
            self._executor = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(self._memory.name, stores, threads),
            )
            self._executor.submit(int)  # starts the process while the caller goes on
        except BaseException:
            self._release()
            raise

    def write(self, y0: int, x0: int, boxes: list[np.ndarray]) -> dict[str, float]:
        """Write box ``k`` of ``boxes`` into store ``k`` at ``(y0, x0)``; return once they are
        written and the boxes of the write before are durable. The seconds it took: copying
        the boxes to the child (``copy``), writing their chunks (``chunks``), then waiting for
        the write before to be durable (``durable``)."""
        start = time.perf_counter()
        layout: list[BoxLayout] = []
        offset = 0
        for box in boxes:
            if offset + box.nbytes > self._memory.size:
                raise ValueError(f"boxes of more than {self._memory.size} bytes")
            np.copyto(np.ndarray(box.shape, box.dtype, self._memory.buf, offset), box)
            layout.append((offset, box.shape, box.dtype.str))
            offset += box.nbytes
        seconds = {"copy": time.perf_counter() - start}
        return seconds | self._call(_write, y0, x0, layout)

    def flush(self) -> None:
        """Return once every box written is durable."""
        self._call(_settle)

    def _call(self, function: Callable[..., Result], *args: Any) -> Result:
        """``function(*args)`` in the child; its result."""
        try:
            return self._executor.submit(function, *args).result()
        except BrokenProcessPool:
            stores = ", ".join(str(store.levels[0].dir.parent) for store in self._stores)
            raise OSError(
                f"the process writing {stores} stopped (out of memory, or killed)"
            ) from None

    def close(self) -> None:
        """Stop the process (after the box it is writing) and free the shared memory."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._release()

    def _release(self) -> None:
        self._memory.close()
        with contextlib.suppress(FileNotFoundError):
            self._memory.unlink()


# the child process's state, set once by ``_start``
_child: dict = {}


def _start(name: str, stores: list[PyramidBoxes], threads: int) -> None:
    """The child's start: leave Ctrl-C to the parent (which stops it), end with the parent,
    attach the shared memory, start the chunk and flushing threads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with_parent, daemon=True).start()
    _child["memory"] = _attach(name)
    _child["stores"] = stores
    _child["pools"] = [ThreadPoolExecutor(threads, "chunk-writer") for _ in stores]
    _child["flusher"] = ThreadPoolExecutor(FLUSH_THREADS, "chunk-flusher")


def _end_with_parent() -> None:
    """End this process as soon as its parent has ended (killed, say, by a cancel that did not
    stop it in time): the pool's worker would otherwise wait for its next box forever, holding
    the shared memory."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)


def _attach(name: str) -> SharedMemory:
    """The shared memory block ``name``, not registered with the resource tracker: the parent
    owns it (Python before 3.13 registers every attachment, and the tracker would unlink the
    block when this process ends, or warn of a leak)."""
    if sys.version_info >= (3, 13):
        return SharedMemory(name=name, track=False)
    register = resource_tracker.register
    resource_tracker.register = lambda *args: None
    try:
        return SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def _write(y0: int, x0: int, layout: list[BoxLayout]) -> dict[str, float]:
    """Write each store's box from the shared memory, the stores side by side in threads; wait
    for the files of the write before to be durable, and start making these durable. The
    seconds each part took."""
    start = time.perf_counter()
    buffer = _child["memory"].buf
    boxes = [np.ndarray(shape, np.dtype(dtype), buffer, offset) for offset, shape, dtype in layout]

    def write_store(k: int) -> set[Path]:
        return _child["stores"][k].write(y0, x0, boxes[k], _child["pools"][k], _child["flusher"])

    with ThreadPoolExecutor(len(boxes), "store-box") as each:
        files = set().union(*each.map(write_store, range(len(boxes))))
    written = time.perf_counter()
    _settle()
    _child["syncing"] = [_child["flusher"].submit(fsync_file, path) for path in files]
    return {"chunks": written - start, "durable": time.perf_counter() - written}


def _settle() -> None:
    """Wait for the files of the last write to be durable (raising what failed)."""
    syncing: list[Future] = _child.pop("syncing", [])
    for future in syncing:
        future.result()
