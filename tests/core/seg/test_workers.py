"""The worker pool: results in task order, serial for one worker, sizes from cores and memory."""

from __future__ import annotations

import operator
from types import SimpleNamespace

import psutil

from emstudio.core.seg import workers
from emstudio.core.seg.workers import IN_PROCESS, WorkerPool, worker_count


def test_results_come_in_task_order_from_processes_and_in_process():
    tasks = [(i, i) for i in range(7)]
    assert list(IN_PROCESS.map(operator.mul, tasks)) == [i * i for i in range(7)]
    with WorkerPool(2) as pool:
        assert list(pool.map(operator.mul, tasks)) == [i * i for i in range(7)]
        assert list(pool.map(operator.add, tasks, limit=1)) == [2 * i for i in range(7)]


def niceness() -> int:
    return psutil.Process().nice()


def test_workers_run_below_this_process_priority():
    with WorkerPool(2) as pool:
        found = list(pool.map(niceness, [()] * 2))
    assert all(n > niceness() for n in found)


def test_worker_count_follows_cores_memory_tasks_and_size(monkeypatch):
    monkeypatch.setattr(workers, "cpu_count", lambda: 16)
    free = SimpleNamespace(available=64 * 2**30)
    monkeypatch.setattr(workers.psutil, "virtual_memory", lambda: free)
    big = 2**31
    assert worker_count(2**20, tasks=100, voxels=big) == 16  # one per core
    assert worker_count(2**20, tasks=3, voxels=big) == 3
    per_worker = workers.MEMORY_BUDGET // 4  # with the interpreter's own share: 3 fit
    assert worker_count(per_worker, tasks=100, voxels=big) == 3
    assert worker_count(2**20, tasks=100, voxels=workers.POOL_MIN_VOXELS - 1) == 1
    assert worker_count(2**20, tasks=100, requested=5, voxels=10) == 5
    monkeypatch.setattr(workers, "cpu_count", lambda: 2)
    assert worker_count(2**20, tasks=100, voxels=big) == 2
