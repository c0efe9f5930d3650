"""Job kind "demo": the synthetic phantom and its ground truth into a project."""

from __future__ import annotations

from typing import Any

from emstudio.core.project import Project
from emstudio.core.synth.demo import add_demo_volumes
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def run_demo(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    records = add_demo_volumes(
        project,
        shape=tuple(spec.params.get("shape", ())) or None,
        seed=int(spec.params.get("seed", 0)),
        job_id=spec.id,
        progress=events.progress,
    )
    return {"volumes": [r.name for r in records]}
