"""A pool of worker processes that maps a pure function over tasks, results in task order.

A flooding task holds the GIL for about a third of its time (Python and numpy between the
labelling and the watershed), meshing for most of it (marching cubes), so threads do not scale:
the work goes to ``spawn`` processes (safe in the frozen app, which calls
``multiprocessing.freeze_support``). Tasks are produced lazily and only a few more than the
workers are in flight, so memory stays bounded by the task size, whatever the volume size.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import psutil
import zarr
import zarr.storage

from emstudio.core.volume.fastslice import COPY_THREADS_VARIABLE, RawChunkSlicer

MEMORY_BUDGET = 3 * 2**30  # bytes all workers together may hold (peak RSS target: 4 GiB)
# a worker's own resident size (Python, numpy, scipy, skimage, trimesh): about 120 MiB on the
# 2-core development machine, 110 MiB on a lent 16-core H200 machine less the 178 MiB of that
# machine's CuPy, which zarr imports where it is installed (emstudio installs none). A pass
# whose processes peak larger goes on with fewer (``WorkerPool.map``).
WORKER_BYTES = 128 * 2**20
# how often a pass looks at its processes' peak memory (``WorkerPool.map``)
PEAK_CHECK_SECONDS = 0.5
# a pool starts again larger only for a pass of at least this many tasks per process
GROW_TASKS = 4
POOL_MIN_VOXELS = 32 * 2**20  # below this much work, starting processes costs more than it saves
CORES_VARIABLE = "EMSTUDIO_CORES"


def worker_count(
    bytes_per_worker: int,
    tasks: int,
    requested: int | None = None,
    voxels: int | None = None,
    worker_bytes: int = WORKER_BYTES,
) -> int:
    """How many processes to use (or tasks to run at once): ``requested``, else one per core as
    far as the memory budget (and the free memory) and the number of tasks allow, and 1 (no
    pool) for less than ``POOL_MIN_VOXELS`` of work. Each process holds ``worker_bytes`` of its
    own besides its task's ``bytes_per_worker``. This process reads and writes meanwhile, yet
    gets no core of its own: on two cores, segmentation with two workers took 0.76 of the time
    with none."""
    if requested is not None:
        return max(1, min(int(requested), tasks))
    if voxels is not None and voxels < POOL_MIN_VOXELS:
        return 1
    return int(max(1, min(cpu_count(), _fitting(bytes_per_worker, worker_bytes), tasks)))


def _fitting(task_bytes: int, worker_bytes: int) -> int:
    """Processes, each with a task, that the memory budget holds."""
    return int(_budget() // (max(int(task_bytes), 1) + worker_bytes))


def _budget() -> int:
    """Bytes all workers together may hold: ``MEMORY_BUDGET``, or half the free memory."""
    return min(MEMORY_BUDGET, psutil.virtual_memory().available // 2)


def peak_bytes(process: psutil.Process) -> int:
    """A process's peak resident memory so far: VmHWM on Linux, the peak working set on
    Windows, elsewhere its resident memory now."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    info = process.memory_info()
    return int(getattr(info, "peak_wset", info.rss))


def sendable(source: object) -> bool:
    """Whether a worker can read ``source`` itself: our chunk reader (raw or Blosc chunks), or
    a zarr array in a local folder, pickles to a few hundred bytes, so workers read (and
    decompress) their own crops in parallel; else this process reads them and sends the
    pixels."""
    if isinstance(source, zarr.Array):
        return isinstance(source.store, zarr.storage.LocalStore)
    return isinstance(source, RawChunkSlicer)


def cpu_count() -> int:
    """The cores to use: ``EMSTUDIO_CORES`` if set (to leave cores to others on a shared
    workstation, or to see how a bigger one would run), else those this process may run on
    (its affinity), else all of them."""
    cores = os.environ.get(CORES_VARIABLE, "")
    if cores.isdigit() and int(cores) > 0:
        return int(cores)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


WORKER_NICENESS = 10  # POSIX: worker processes run at this niceness or lower priority


def lower_priority() -> None:
    """Run this (worker) process below normal priority: a pool busy on every core must not make
    the app's window stutter (it costs nothing when the cores are otherwise idle). A process
    started lower already (by ``nice``, or a job the app started) keeps its priority."""
    with contextlib.suppress(OSError, psutil.Error):
        process = psutil.Process()
        if os.name == "nt":
            process.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        elif process.nice() < WORKER_NICENESS:
            process.nice(WORKER_NICENESS)


def start_worker(modules: tuple[str, ...]) -> None:
    """A worker process's start: below normal priority, with ``modules`` imported."""
    lower_priority()
    for name in modules:
        importlib.import_module(name)


# Thread pools inside a process (native libraries', and the raw reader's chunk copies): one
# thread in each worker, as the pool already gives every core a process (16 processes of 16
# OpenBLAS/OpenMP threads each oversubscribe the cores, and each thread's buffers take memory).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    COPY_THREADS_VARIABLE,
)


@contextlib.contextmanager
def single_threaded_children() -> Iterator[None]:
    """Processes started inside this block inherit one-thread settings for the variables in
    ``THREAD_VARIABLES`` that the user has not set; this process's own are left as they were."""
    added = [name for name in THREAD_VARIABLES if name not in os.environ]
    os.environ.update(dict.fromkeys(added, "1"))
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


MALLOC_TRIM = _malloc_trim()


def run_and_release(work: Callable[..., Any], *args: Any) -> tuple[Any, int]:
    """Worker side of a task: ``work(*args)`` and this process's peak resident memory while it
    ran (``reset_peak``); then the heap's free pages go back to the system. glibc keeps them
    otherwise, so each worker would go on holding the peak of its largest task (meshing with
    16 workers: 3.86 GiB for the process tree untrimmed, 3.37 trimmed, on 256 x 1024 x 1024)."""
    reset_peak()
    try:
        result = work(*args)
        return result, peak_bytes(psutil.Process())
    finally:
        if MALLOC_TRIM is not None:
            MALLOC_TRIM(0)


def reset_peak() -> None:
    """Start this process's peak resident memory (VmHWM) afresh from what it holds now (Linux;
    elsewhere ``peak_bytes`` gives the lifetime's peak on Windows, the memory held now on
    macOS)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def pool_or_own(
    pool: WorkerPool | None, workers: Callable[[], int]
) -> AbstractContextManager[WorkerPool]:
    """``pool`` to use and leave running (a caller's, shared by its passes), or a pool of
    ``workers()`` processes of our own, ended after use."""
    return nullcontext(pool) if pool is not None else WorkerPool(workers())


class WorkerPool:
    """Up to ``workers`` processes, started on first use and shared by the passes of one run
    (each start imports numpy/scipy/scikit-image: about a second of CPU). Each process imports
    ``preload`` as it starts: the modules a later pass needs, so that the size the processes
    show after an earlier pass (which ``tasks_at_once`` goes by) includes theirs."""

    def __init__(self, workers: int, preload: tuple[str, ...] = ()) -> None:
        self.workers = max(1, int(workers))
        self.preload = preload
        self._executor: ProcessPoolExecutor | None = None
        self._peak = 0  # the largest peak a task of the current pass has shown

    def map(
        self, work: Callable[..., Any], tasks: Iterable[tuple], limit: int | None = None
    ) -> Iterator[Any]:
        """``work(*task)`` for each task, yielded in task order; at most ``limit`` (default:
        all workers) tasks at a time, in this process when that is 1.

        Every ``PEAK_CHECK_SECONDS`` the processes' peak memory is looked at: where the largest
        times their number exceeds the memory budget (tasks or libraries larger than estimated,
        as on a 16-core machine whose meshing workers peaked at 427 MiB and the tree at 4.86
        GiB), the running tasks are finished and the pool starts again with as many processes
        as the budget holds at that peak (the peaks of this pass's tasks: a pass of small tasks
        after one of large tasks is not held to the large ones)."""
        limit = min(limit or self.workers, self.workers)
        if limit <= 1:
            for task in tasks:
                yield work(*task)
            return
        self._peak = 0
        pending: deque[Future] = deque()
        checked = time.monotonic()
        for task in tasks:
            for done in _make_room(pending, limit):
                yield self._result(done)
            if time.monotonic() - checked >= PEAK_CHECK_SECONDS:
                checked = time.monotonic()
                room = self.room_at_peak()
                if room < self.workers:
                    while pending:
                        yield self._result(pending.popleft())
                    self.close()
                    self.workers = limit = min(limit, room)
            with single_threaded_children():  # a submit may start a process
                pending.append(self._started().submit(run_and_release, work, *task))
        while pending:
            yield self._result(pending.popleft())

    def _result(self, done: Future) -> Any:
        """A finished task's result, its peak memory noted."""
        result, peak = done.result()
        self._peak = max(self._peak, peak)
        return result

    def _started(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=start_worker,
                initargs=(self.preload,),
            )
        return self._executor

    def room_at_peak(self) -> int:
        """Processes the memory budget holds, each at the largest peak a task of this pass has
        shown (the pool's size before any has finished)."""
        return max(1, _budget() // self._peak) if self._peak else self.workers

    def tasks_at_once(
        self,
        task_bytes: int,
        tasks: int,
        requested: int | None = None,
        voxels: int | None = None,
    ) -> int:
        """``worker_count`` for a pass over ``tasks`` of ``task_bytes`` each in this pool, with
        the size its processes have shown once started. Where that leaves room for fewer tasks
        than there are processes, the processes are ended and the pool starts again with that
        many: idle, they would keep the memory that tasks need. (Before, such a pass ran one
        task at a time: meshing on a 16-core machine whose workers were 300+ MiB took 132 s.)
        Where it leaves room for half as many again or more (smaller tasks than the pool was
        sized for: flooding and writing after labelling), and there are tasks enough to keep
        them busy, the pool starts again that much larger: a start costs about a second. A pool
        not started yet simply takes the size of its first pass: processes beyond the tasks
        that run at once would only hold memory (an executor may start one while a finished
        task's process is not yet counted idle)."""
        if requested is not None:
            return worker_count(task_bytes, tasks, requested, voxels)
        if self._executor is None:
            self.workers = worker_count(task_bytes, tasks, None, voxels)
            return self.workers
        own = max(WORKER_BYTES, self.held_bytes() // self.workers)
        fitting = worker_count(task_bytes, self.workers, worker_bytes=own)  # of the processes
        count = worker_count(task_bytes, tasks, None, voxels, own)
        grow = count >= self.workers + max(2, self.workers // 2) and tasks >= GROW_TASKS * count
        if fitting < self.workers or grow:
            self.close()
            self.workers = count if grow else fitting
        return count

    def held_bytes(self) -> int:
        """What this pool's processes hold now, at least ``WORKER_BYTES`` each once started:
        between passes, their own size (each hands its freed heap back after a task), which on
        some machines exceeds the estimate (0 before the first pass)."""
        if self._executor is None:
            return 0
        measured = 0
        for child in psutil.Process().children():  # the pool's processes (and its helpers)
            with contextlib.suppress(psutil.Error):
                measured += child.memory_info().rss
        return max(self.workers * WORKER_BYTES, measured)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _make_room(pending: deque[Future], limit: int) -> Iterator[Future]:
    """Wait until another task may start: fewer than ``limit`` tasks running, at most ``limit``
    waiting to be yielded. Finished tasks at the front are yielded only while there is no room,
    so a worker that finishes takes its next task before the caller works on a result, and no
    more than ``limit`` tasks ever hold memory in the workers."""
    while True:
        running = [future for future in pending if not future.done()]
        if len(running) < limit and len(pending) <= limit:
            return
        if pending[0].done():
            yield pending.popleft()
        else:
            wait(running if len(running) >= limit else running[:1], return_when=FIRST_COMPLETED)


IN_PROCESS = WorkerPool(1)  # runs every task here
