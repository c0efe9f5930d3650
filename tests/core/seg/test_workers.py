"""The worker pool: results in task order, serial for one worker, sizes from cores and memory."""

from __future__ import annotations

import operator
import os
import sys
import time
from types import SimpleNamespace

import psutil
import pytest

from emstudio.core.seg import workers
from emstudio.core.seg.workers import IN_PROCESS, WorkerPool, worker_count


def test_results_come_in_task_order_from_processes_and_in_process():
    tasks = [(i, i) for i in range(7)]
    assert list(IN_PROCESS.map(operator.mul, tasks)) == [i * i for i in range(7)]
    with WorkerPool(2) as pool:
        assert list(pool.map(operator.mul, tasks)) == [i * i for i in range(7)]
        assert list(pool.map(operator.add, tasks, limit=1)) == [2 * i for i in range(7)]


def timed_nap(index: int, seconds: float) -> tuple[int, float, float]:
    start = time.monotonic()  # one clock for all processes
    time.sleep(seconds)
    return index, start, time.monotonic()


def most_at_once(spans: list[tuple[int, float, float]]) -> int:
    return max(sum(s <= start < e for _, s, e in spans) for _, start, _ in spans)


def test_no_more_than_limit_tasks_run_at_once_in_a_larger_pool():
    with WorkerPool(3) as pool:
        list(pool.map(timed_nap, [(i, 0.0) for i in range(3)]))  # starts its three processes
        assert len(psutil.Process().children()) >= 3
        spans = list(pool.map(timed_nap, [(i, 0.3) for i in range(6)], limit=2))
    assert most_at_once(spans) == 2
    assert [index for index, _, _ in spans] == list(range(6))  # still in task order


def niceness() -> int:
    return psutil.Process().nice()


def test_workers_run_below_normal_priority():
    with WorkerPool(2) as pool:
        found = list(pool.map(niceness, [()] * 2))
    if os.name == "nt":
        assert all(n > niceness() for n in found)
    else:  # below normal, or as low as this process (started with ``nice``, say)
        assert found == [max(niceness(), workers.WORKER_NICENESS)] * 2


def loaded(module: str) -> bool:
    return module in sys.modules


def test_workers_import_the_preloaded_modules_as_they_start():
    # a module no task of this test imports (the processes start with a fresh interpreter)
    with WorkerPool(2, preload=("emstudio.core.mesh.surface",)) as pool:
        assert list(pool.map(loaded, [("emstudio.core.mesh.surface",)] * 2)) == [True, True]
    with WorkerPool(2) as pool:
        assert list(pool.map(loaded, [("emstudio.core.mesh.surface",)] * 2)) == [False, False]


def test_worker_count_follows_cores_memory_tasks_and_size(monkeypatch):
    monkeypatch.setattr(workers, "cpu_count", lambda: 8)
    free = SimpleNamespace(available=64 * 2**30)
    monkeypatch.setattr(workers.psutil, "virtual_memory", lambda: free)
    big = 2**31
    assert worker_count(2**20, tasks=100, voxels=big) == 8  # one per core
    monkeypatch.setattr(workers, "cpu_count", lambda: 64)  # the workers' own size caps it
    fit = workers.MEMORY_BUDGET // (2**20 + workers.WORKER_BYTES)
    assert 8 < fit < 64 and worker_count(2**20, tasks=100, voxels=big) == fit
    monkeypatch.setattr(workers, "cpu_count", lambda: 16)
    assert worker_count(2**20, tasks=3, voxels=big) == 3
    per_worker = workers.MEMORY_BUDGET // 4  # with the interpreter's own share: 3 fit
    assert worker_count(per_worker, tasks=100, voxels=big) == 3
    assert worker_count(2**20, tasks=100, voxels=workers.POOL_MIN_VOXELS - 1) == 1
    assert worker_count(2**20, tasks=100, requested=5, voxels=10) == 5
    monkeypatch.setattr(workers, "cpu_count", lambda: 2)
    assert worker_count(2**20, tasks=100, voxels=big) == 2


def test_a_pool_whose_processes_outgrow_the_budget_starts_again_with_fewer(monkeypatch):
    """Idle processes keep their memory: where the budget holds fewer tasks than the pool has
    processes, the pool starts again with that many (before, such a pass ran one task at a
    time in this process)."""
    monkeypatch.setattr(workers, "cpu_count", lambda: 16)
    task, big = 2**20, 2**31
    with WorkerPool(4) as pool:
        list(pool.map(operator.mul, [(1, 2)] * 8))
        own = pool.held_bytes() // 4  # measured, per process
        monkeypatch.setattr(workers, "MEMORY_BUDGET", 100 * (own + task))
        assert pool.tasks_at_once(task, tasks=3, voxels=big) == 3  # fits: the pool stays
        assert pool.workers == 4
        monkeypatch.setattr(workers, "MEMORY_BUDGET", int(2.5 * (own + task)))
        held = pool.held_bytes()
        assert pool.tasks_at_once(task, tasks=100, voxels=big) == 2
        assert pool.workers == 2
        assert list(pool.map(operator.mul, [(2, 3)] * 6, 2)) == [6] * 6
        assert pool.held_bytes() < held * 0.75


def test_a_pool_sized_for_large_tasks_starts_again_larger_for_many_small_ones(monkeypatch):
    """Labelling blocks sizes the segmentation's pool; flooding and writing, with smaller
    tasks, may use more processes: the pool starts again larger where that is worth a start
    (room for half as many again, and tasks to keep them busy)."""
    monkeypatch.setattr(workers, "cpu_count", lambda: 5)
    task, big = 2**20, 2**31
    with WorkerPool(2) as pool:
        list(pool.map(operator.mul, [(1, 2)] * 4))
        monkeypatch.setattr(workers, "MEMORY_BUDGET", 100 * (pool.held_bytes() + task))
        assert pool.tasks_at_once(task, tasks=10, voxels=big) == 5  # too few tasks to grow
        assert pool.workers == 2
        assert pool.tasks_at_once(task, tasks=40, voxels=big) == 5
        assert pool.workers == 5
        assert list(pool.map(hold_for_a_while, [(8, i) for i in range(40)], 5)) == list(range(40))
        assert 2 < len(psutil.Process().children()) <= 6  # the five (and the executor's helper)
    fresh = WorkerPool(2)  # not started yet: it takes the size of its first pass, for nothing
    assert fresh.tasks_at_once(task, tasks=10, voxels=big) == 5 and fresh.workers == 5
    fresh = WorkerPool(5)
    assert fresh.tasks_at_once(task, tasks=3, voxels=big) == 3 and fresh.workers == 3


def hold_for_a_while(megabytes: int, value: int) -> int:
    """In a worker: ``megabytes`` of touched memory for a moment (a task's working set)."""
    block = bytearray(megabytes * 2**20)
    block[::4096] = b"x" * len(block[::4096])
    time.sleep(0.05)
    return value


def test_a_pool_whose_tasks_outgrow_the_budget_goes_on_with_fewer_processes(monkeypatch):
    """Processes that peak higher than the budget allows for their number (larger tasks or
    libraries than estimated) are replaced, mid-pass, by as many as the budget holds at that
    peak; the results still come in task order."""
    monkeypatch.setattr(workers, "PEAK_CHECK_SECONDS", 0.0)
    with WorkerPool(4) as pool:
        list(pool.map(hold_for_a_while, [(0, 0)] * 4))  # starts the four processes
        peak = max(workers.peak_bytes(c) for c in psutil.Process().children())
        task = 96 * 2**20
        monkeypatch.setattr(workers, "MEMORY_BUDGET", int(2.5 * (peak + task)))
        results = list(pool.map(hold_for_a_while, [(96, i) for i in range(12)]))
        assert results == list(range(12))
        assert pool.workers == 2
        children = psutil.Process().children()
        assert len(children) <= 3  # the two processes (and the executor's helper, if any)
        assert max(workers.peak_bytes(c) for c in children) * 2 <= workers.MEMORY_BUDGET


def test_a_pool_within_its_budget_keeps_its_processes(monkeypatch):
    monkeypatch.setattr(workers, "PEAK_CHECK_SECONDS", 0.0)
    with WorkerPool(3) as pool:
        assert list(pool.map(hold_for_a_while, [(16, i) for i in range(9)])) == list(range(9))
        assert pool.workers == 3 and pool.room_at_peak() >= 3


def test_peak_bytes_is_at_least_what_a_process_holds_now():
    process = psutil.Process()
    block = bytearray(64 * 2**20)
    block[::4096] = b"x" * len(block[::4096])
    assert workers.peak_bytes(process) >= process.memory_info().rss > 64 * 2**20


def environment_variable(name: str) -> str | None:
    return os.environ.get(name)


def test_workers_run_native_libraries_single_threaded(monkeypatch):
    for name in workers.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # the user's own setting is kept
    with WorkerPool(2) as pool:
        seen = list(pool.map(environment_variable, [(n,) for n in workers.THREAD_VARIABLES]))
    assert seen == ["1", "1", "3", "1"]
    assert "OMP_NUM_THREADS" not in os.environ  # this process is left as it was


def test_a_pool_holds_at_least_its_estimate_and_what_its_processes_measure(monkeypatch):
    with WorkerPool(2) as pool:
        assert pool.held_bytes() == 0  # nothing started yet
        list(pool.map(operator.mul, [(1, 2)] * 4))
        assert pool.held_bytes() >= 2 * workers.WORKER_BYTES
        monkeypatch.setattr(workers, "WORKER_BYTES", 1)  # processes larger than estimated
        measured = sum(c.memory_info().rss for c in psutil.Process().children())
        assert pool.held_bytes() == pytest.approx(measured, rel=0.2)
        assert measured > 2 * 30 * 2**20  # two Python processes with numpy and zarr


def test_cores_can_be_set_for_a_shared_or_a_simulated_machine(monkeypatch):
    monkeypatch.setenv(workers.CORES_VARIABLE, "16")
    assert workers.cpu_count() == 16
    monkeypatch.setenv(workers.CORES_VARIABLE, "none")  # not a count: the real cores
    assert workers.cpu_count() == len(os.sched_getaffinity(0))


KEPT: list[bytearray] = []  # a worker's allocations that outlive a task


def resident_bytes() -> int:
    return psutil.Process().memory_info().rss


def fill_heap_and_free_it() -> int:
    """In a worker: resident bytes while 200 MB of heap blocks are alive. They are freed on
    return, but small blocks that stay sit between them, so the heap cannot shrink by itself
    (what a task's mix of large and small allocations does)."""
    blocks = []
    for _ in range(3200):
        blocks.append(bytearray(64 * 1024))
        KEPT.append(bytearray(4096))  # from malloc (pymalloc serves up to 512 bytes)
    return resident_bytes()


@pytest.mark.skipif(workers.MALLOC_TRIM is None, reason="glibc only")
def test_workers_give_freed_memory_back_after_each_task():
    with WorkerPool(2) as pool:
        during = list(pool.map(fill_heap_and_free_it, [()] * 2))
        after = list(pool.map(resident_bytes, [()] * 4))
    assert max(after) < min(during) - 150 * 2**20  # the 200 MB went back to the system


def test_a_pass_of_small_tasks_is_not_held_to_an_earlier_pass_of_large_ones(monkeypatch):
    """Each pass goes by the peaks of its own tasks: a worker's lifetime peak would keep a
    pass of small tasks (writing labels) to the number of processes that large ones
    (labelling blocks) allowed."""
    monkeypatch.setattr(workers, "PEAK_CHECK_SECONDS", 0.0)
    with WorkerPool(3) as pool:
        list(pool.map(hold_for_a_while, [(128, i) for i in range(6)]))
        own = max(c.memory_info().rss for c in psutil.Process().children())
        monkeypatch.setattr(workers, "MEMORY_BUDGET", 3 * (own + 32 * 2**20))
        assert list(pool.map(hold_for_a_while, [(0, i) for i in range(9)])) == list(range(9))
        assert pool.workers == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_peak_starts_afresh_from_what_the_process_holds():
    process = psutil.Process()
    block = bytearray(256 * 2**20)
    block[::4096] = b"x" * len(block[::4096])
    del block
    before = workers.peak_bytes(process)
    workers.reset_peak()
    assert workers.peak_bytes(process) < before - 128 * 2**20
