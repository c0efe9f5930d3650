"""Runs one job spec: records it in the project, emits events, marks how it ended.

The same function serves ``emstudio job run SPEC`` in a job process and the CLI commands,
so a job started from the GUI and one started from a terminal are recorded identically.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass
from typing import Any, TextIO

from emstudio.core.errors import (
    CancelledError,
    DestinationError,
    EmstudioError,
    environment_problem,
)
from emstudio.core.project import Project
from emstudio.core.project.atomic import atomic_write_text
from emstudio.jobs.cancel import CancelWatch
from emstudio.jobs.events import EVENTS_FILE, EventLog, Listener
from emstudio.jobs.spec import JobSpec
from emstudio.jobs.tasks import TASKS, task

LOG_FILE = "log"


class UnknownJobKindError(EmstudioError):
    """A spec names a kind of job this emstudio does not know."""


class JobRanAlreadyError(EmstudioError):
    """A spec carries the id of a job of the project that has run: running it again would
    rewrite that job's record, log and the provenance that points to it."""


@dataclass
class JobResult:
    job_id: str
    status: str
    outputs: dict[str, Any]


def run_job(
    spec: JobSpec,
    listeners: list[Listener] | None = None,
    stream: TextIO | None = None,
    project: Project | None = None,
) -> JobResult:
    """Execute ``spec``; raises the task's error after recording how the job ended."""
    if spec.kind not in TASKS:
        raise UnknownJobKindError(
            f"unknown job kind {spec.kind!r}; this emstudio runs: {', '.join(sorted(TASKS))}"
        )
    own_project = project is None
    project = project or Project.open(spec.project)
    job_dir = project.jobs_dir / spec.id
    try:
        _check_not_run(project, spec)
        job_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(job_dir / "spec.json", json.dumps(spec.to_json(), indent=2))
        if not project.catalog.has_job(spec.id):  # a queued job already has its row
            project.catalog.add_job(spec.id, spec.kind, spec.to_json(), status="queued")
        project.catalog.set_job_status(spec.id, "running", pid=os.getpid())
        project.catalog.set_job_device(spec.id, "cpu")  # tasks on an accelerator say which
        project.job_id = spec.id  # names this job's staging folders (cleaned if it dies)
        events = EventLog(
            job_dir / EVENTS_FILE, listeners, stream, check_cancel=CancelWatch(job_dir).check
        )
        try:
            return _execute(project, spec, events, job_dir)
        finally:
            events.close()
            project.job_id = None
    finally:
        if own_project:
            project.close()


def _check_not_run(project: Project, spec: JobSpec) -> None:
    """Refuse a spec whose id names a job of the project that is no longer waiting to run."""
    if not project.catalog.has_job(spec.id):
        return
    status = project.catalog.job(spec.id).status
    if status != "queued":
        raise JobRanAlreadyError(
            f"job {spec.id} has run already in {project.path} ({status}): to run its spec "
            'again as a new job, remove the spec\'s "id" line (a new one is made) or change it.'
        )


def _execute(project: Project, spec: JobSpec, events: EventLog, job_dir) -> JobResult:
    try:
        outputs = task(spec.kind)(project, spec, events)
    except (KeyboardInterrupt, CancelledError):
        _finish(project, spec, events, "cancelled", "Cancelled by the user.")
        raise
    except EmstudioError as exc:
        _finish(project, spec, events, "failed", str(exc))
        raise
    except BaseException as exc:
        problem = environment_problem(exc, writing_into=project.path)
        if problem is not None:  # a read-only place or a full disk: the user's to fix
            _finish(project, spec, events, "failed", problem)
            raise DestinationError(problem) from exc
        with open(job_dir / LOG_FILE, "a", encoding="utf-8") as log:
            log.write(traceback.format_exc())
        _finish(project, spec, events, "failed", f"Internal error: {exc!r}")
        raise
    project.catalog.set_job_status(spec.id, "done", outputs=outputs)
    events.emit("done", outputs=outputs)
    return JobResult(spec.id, "done", outputs)


def _finish(project: Project, spec: JobSpec, events: EventLog, status: str, message: str) -> None:
    project.catalog.set_job_status(spec.id, status, message)
    events.emit("error" if status == "failed" else status, message=message)
