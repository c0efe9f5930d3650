"""What each job kind does: maps a spec onto the core function that does the work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project
from emstudio.core.project.importer import import_files
from emstudio.core.synth.demo import add_demo_volumes
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec

Task = Callable[[Project, JobSpec, EventLog], dict[str, Any]]


def run_import(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    voxel = spec.params.get("voxel_size_nm")
    record = import_files(
        project,
        spec.inputs["paths"],
        name=spec.params["name"],
        kind=spec.params.get("kind", "image"),
        voxel_size=VoxelSize(*voxel, known=True, origin="user") if voxel else None,
        like=spec.inputs.get("like"),
        job_id=spec.id,
        progress=events.progress,
        log=events.log,
    )
    return {"volume": record.name, "id": record.id}


def run_demo(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    records = add_demo_volumes(
        project,
        shape=tuple(spec.params.get("shape", ())) or None,
        seed=int(spec.params.get("seed", 0)),
        job_id=spec.id,
        progress=events.progress,
    )
    return {"volumes": [r.name for r in records]}


TASKS: dict[str, Task] = {"import": run_import, "demo": run_demo}
