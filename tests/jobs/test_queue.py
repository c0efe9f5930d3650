"""The job queue with real job processes: scheduling, cancel, crashes, garbage, concurrency."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import sys
import time

import numpy as np
import psutil
import pytest
import tifffile

from emstudio.core.project import Project
from emstudio.jobs.launcher import JOB_NICENESS
from emstudio.jobs.queue import JobQueue, death_reason
from emstudio.jobs.spec import JobSpec


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        yield project


def stack(tmp_path, name="s.tif", shape=(8, 64, 64)):
    path = tmp_path / name
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8))
    return path


def import_spec(project, path, name):
    return JobSpec(
        kind="import",
        project=str(project.path),
        inputs={"paths": [str(path)]},
        params={"name": name, "kind": "image", "voxel_size_nm": [40, 8, 8]},
    )


def start_import(project, path, name) -> tuple[JobQueue, JobSpec]:
    """A queue of ``project`` that has just started importing ``path`` as ``name``."""
    queue = JobQueue(project)
    spec = import_spec(project, path, name)
    queue.submit(spec)
    queue.tick()
    return queue, spec


def run_until_idle(queue, timeout=120):
    updates = []
    end = time.monotonic() + timeout
    while (queue.running or queue.queued) and time.monotonic() < end:
        updates += queue.tick()
        time.sleep(0.05)
    assert not queue.running and not queue.queued, "jobs did not finish in time"
    return updates


def test_two_jobs_run_concurrently_and_the_catalog_stays_sound(tmp_path, project):
    queue = JobQueue(project, cpu_slots=2)
    specs = [import_spec(project, stack(tmp_path, f"s{i}.tif"), f"v{i}") for i in range(3)]
    for spec in specs:
        queue.submit(spec)
    first = queue.tick()
    assert len(queue.running) == 2 and len(queue.queued) == 1  # two CPU slots
    assert {u.status for u in first} == {"running"}
    updates = run_until_idle(queue)
    ends = {u.job_id: u.status for u in updates if u.status and u.status != "running"}
    assert ends == {s.id: "done" for s in specs}
    assert sorted(v.name for v in project.catalog.volumes()) == ["v0", "v1", "v2"]
    events = [e for u in updates for e in u.events]
    assert any(e["event"] == "progress" for e in events)
    assert any(e["event"] == "done" for e in events)
    db = sqlite3.connect(project.path / "project.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {j.device for j in project.catalog.jobs()} == {"cpu"}


def test_accelerator_jobs_run_one_at_a_time(project):
    queue = JobQueue(
        project, command_for=lambda spec: [sys.executable, "-c", "import time; time.sleep(30)"]
    )
    for _ in range(2):
        queue.submit(JobSpec(kind="train", project=str(project.path)))
    queue.tick()
    assert len(queue.running) == 1 and len(queue.queued) == 1
    ((_, process),) = queue.running.values()  # it runs below the window's priority
    expected = psutil.BELOW_NORMAL_PRIORITY_CLASS if sys.platform == "win32" else JOB_NICENESS
    assert psutil.Process(process.pid).nice() == expected
    queue.cancel_all()
    assert not queue.running


def test_cancel_stops_a_running_import_within_two_seconds(tmp_path, project):
    big = stack(tmp_path, "big.tif", shape=(256, 1024, 1024))
    queue, spec = start_import(project, big, "big")
    end = time.monotonic() + 60
    while project.catalog.job(spec.id).status != "running" and time.monotonic() < end:
        queue.tick()
        time.sleep(0.02)
    time.sleep(0.5)  # it is writing now
    start = time.monotonic()
    queue.cancel(spec.id)
    while queue.running:
        queue.tick()
        time.sleep(0.02)
    assert time.monotonic() - start < 2.0
    job = project.catalog.job(spec.id)
    assert job.status == "cancelled"
    assert project.catalog.volumes() == []
    assert [p.name for p in project.data_dir.iterdir()] == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import sys; print('garbage that is not json'); sys.exit(3)", "exited with code 3"),
        ("pass", "ended without reporting a result"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "segmentation fault"),
    ],
)
def test_a_process_that_prints_garbage_or_nothing_or_crashes_is_failed(project, code, expected):
    queue = JobQueue(project, command_for=lambda spec: [sys.executable, "-c", code])
    spec = JobSpec(kind="import", project=str(project.path))
    queue.submit(spec)
    updates = run_until_idle(queue, timeout=60)
    job = project.catalog.job(spec.id)
    assert job.status == "failed" and expected in job.message
    assert updates[-1].status == "failed"


def test_death_reason_names_the_out_of_memory_killer():
    assert "ran out of memory" in death_reason(-signal.SIGKILL, "")
    assert "Last lines" in death_reason(1, "Traceback...\nMemoryError")


@pytest.mark.parametrize("fraction", [0.1, 0.35, 0.6, 0.85])
def test_kill_9_at_random_points_leaves_the_project_consistent(tmp_path, fraction):
    path = tmp_path / "k.emproj"
    Project.create(path).close()
    big = stack(tmp_path, "big.tif", shape=(96, 1024, 1024))
    with Project.open(path) as project:
        queue, spec = start_import(project, big, "big")
        pid = queue.running[spec.id][1].pid
        time.sleep(0.6 + 2.0 * fraction)
        with contextlib.suppress(ProcessLookupError):  # it may have finished: then complete
            os.kill(pid, signal.SIGKILL)
        updates = run_until_idle(queue, timeout=60)
        status = project.catalog.job(spec.id).status
        assert status in ("done", "failed")
        if status == "failed":
            assert "killed" in updates[-1].message or "ended" in updates[-1].message
    with Project.open(path) as project:  # reopens; catalog and folders agree
        names = [v.name for v in project.catalog.volumes()]
        on_disk = sorted(p.name for p in project.data_dir.iterdir())
        assert on_disk == sorted(f"{v.id}.zarr" for v in project.catalog.volumes())
        assert names in ([], ["big"])
        db = sqlite3.connect(path / "project.sqlite")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_detached_jobs_are_adopted_when_the_project_is_reopened(tmp_path):
    path = tmp_path / "a.emproj"
    Project.create(path).close()
    big = stack(tmp_path, "mid.tif", shape=(128, 512, 512))
    with Project.open(path) as project:
        queue, spec = start_import(project, big, "mid")
        end = time.monotonic() + 60
        while project.catalog.job(spec.id).status != "running" and time.monotonic() < end:
            time.sleep(0.02)
        assert queue.detach() == [spec.id]  # the app closes; "keep running"
    with Project.open(path) as project:
        queue = JobQueue(project)
        adopted = queue.adopt_running()
        run_until_idle(queue)
        assert project.catalog.job(spec.id).status == "done"
        assert [v.name for v in project.catalog.volumes()] == ["mid"]
        assert adopted in ([spec.id], [])  # [] when it had already finished


def test_a_job_runs_on_the_queue_s_project_whatever_place_its_spec_names(tmp_path):
    """Re-running a job of a copied project must not write into the original."""
    with Project.create(tmp_path / "original.emproj") as original:
        spec = import_spec(original, stack(tmp_path), "v")  # as stored in the original
    with Project.create(tmp_path / "copy.emproj") as copy:
        queue = JobQueue(copy)
        queue.submit(JobSpec.from_json({k: v for k, v in spec.to_json().items() if k != "id"}))
        updates = run_until_idle(queue)
        assert [u.status for u in updates if u.status][-1] == "done"
        assert [v.name for v in copy.catalog.volumes()] == ["v"]
    with Project.open(tmp_path / "original.emproj", mode="read") as original:
        assert original.catalog.volumes() == []
