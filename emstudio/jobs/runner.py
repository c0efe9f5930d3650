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

from emstudio.core.errors import EmstudioError
from emstudio.core.project import Project
from emstudio.core.project.atomic import atomic_write_text
from emstudio.jobs.events import EventLog, Listener
from emstudio.jobs.spec import JobSpec
from emstudio.jobs.tasks import TASKS


class UnknownJobKindError(EmstudioError):
    """A spec names a kind of job this emstudio does not know."""


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
    """Execute ``spec``; raises the task's error after recording the job as failed."""
    if spec.kind not in TASKS:
        raise UnknownJobKindError(
            f"unknown job kind {spec.kind!r}; this emstudio runs: {', '.join(sorted(TASKS))}"
        )
    own_project = project is None
    project = project or Project.open(spec.project)
    job_dir = project.jobs_dir / spec.id
    job_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(job_dir / "spec.json", json.dumps(spec.to_json(), indent=2))
    project.catalog.add_job(spec.id, spec.kind, spec.to_json(), status="queued")
    project.catalog.set_job_status(spec.id, "running", pid=os.getpid())
    events = EventLog(job_dir / "events.jsonl", listeners, stream)
    try:
        outputs = TASKS[spec.kind](project, spec, events)
    except EmstudioError as exc:
        _finish(project, spec, events, "failed", str(exc))
        raise
    except KeyboardInterrupt:
        _finish(project, spec, events, "cancelled", "Cancelled by the user.")
        raise
    except BaseException as exc:
        (job_dir / "log").write_text(traceback.format_exc(), encoding="utf-8")
        _finish(project, spec, events, "failed", f"Internal error: {exc!r}")
        raise
    else:
        project.catalog.set_job_status(spec.id, "done", outputs=outputs)
        events.emit("done", outputs=outputs)
        return JobResult(spec.id, "done", outputs)
    finally:
        events.close()
        if own_project:
            project.close()


def _finish(project: Project, spec: JobSpec, events: EventLog, status: str, message: str) -> None:
    project.catalog.set_job_status(spec.id, status, message)
    events.emit("error" if status == "failed" else status, message=message)
