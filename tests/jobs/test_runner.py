"""How ``run_job`` records a job that ends badly."""

from __future__ import annotations

import errno
import json

import pytest

from emstudio.core.errors import DestinationError
from emstudio.core.project import Project
from emstudio.jobs import runner
from emstudio.jobs.runner import run_job
from emstudio.jobs.spec import JobSpec


def test_a_read_only_place_fails_the_job_with_a_message_not_an_internal_error(
    tmp_path, monkeypatch
):
    def read_only(project, spec, events):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/ro/table.csv")

    monkeypatch.setattr(runner, "task", lambda kind: read_only)
    with Project.create(tmp_path / "p.emproj"):
        pass
    spec = JobSpec(kind="measure", project=str(tmp_path / "p.emproj"))
    with pytest.raises(DestinationError, match=r"/mnt/ro/table\.csv: Read-only file system"):
        run_job(spec)
    with Project.open(tmp_path / "p.emproj", mode="read") as project:
        job = project.catalog.job(spec.id)
    assert job.status == "failed" and job.message == "/mnt/ro/table.csv: Read-only file system."
    assert not (tmp_path / "p.emproj" / "jobs" / spec.id / runner.LOG_FILE).exists()


def test_a_full_disk_without_a_file_named_names_the_project_and_what_to_do(tmp_path, monkeypatch):
    def full(project, spec, events):
        raise OSError(errno.ENOSPC, "No space left on device")  # as os.write raises it

    monkeypatch.setattr(runner, "task", lambda kind: full)
    with Project.create(tmp_path / "p.emproj"):
        pass
    spec = JobSpec(kind="predict", project=str(tmp_path / "p.emproj"))
    with pytest.raises(DestinationError) as refused:
        run_job(spec)
    expected = (
        f"{tmp_path / 'p.emproj'}: No space left on device. Free some space on that disk, "
        "then run it again."
    )
    assert str(refused.value) == expected
    with Project.open(tmp_path / "p.emproj", mode="read") as project:
        assert project.catalog.job(spec.id).message == expected


def test_a_spec_of_a_job_that_has_run_is_refused_and_that_job_left_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "task", lambda kind: lambda project, spec, events: {"ran": 1})
    with Project.create(tmp_path / "p.emproj"):
        pass
    spec = JobSpec(kind="import", project=str(tmp_path / "p.emproj"))
    assert run_job(spec).status == "done"
    job_dir = tmp_path / "p.emproj" / "jobs" / spec.id
    log = (job_dir / "events.jsonl").read_bytes()
    again = JobSpec.from_json({**spec.to_json(), "params": {"name": "other"}})
    with pytest.raises(runner.JobRanAlreadyError, match=rf"job {spec.id} has run already"):
        run_job(again)
    assert (job_dir / "events.jsonl").read_bytes() == log
    assert json.loads((job_dir / "spec.json").read_text()) == spec.to_json()
    with Project.open(tmp_path / "p.emproj", mode="read") as project:
        assert project.catalog.job(spec.id).status == "done"
    fresh = {k: v for k, v in again.to_json().items() if k != "id"}  # the way out it names
    assert run_job(JobSpec.from_json(fresh)).status == "done"
