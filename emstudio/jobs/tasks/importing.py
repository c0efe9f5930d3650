"""Job kind "import": files into a project volume."""

from __future__ import annotations

from typing import Any

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project
from emstudio.core.project.importer import import_files
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def run_import(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    voxel = spec.params.get("voxel_size_nm")
    record = import_files(
        project,
        spec.inputs["paths"],
        name=spec.params["name"],
        kind=spec.params.get("kind", "image"),
        voxel_size=VoxelSize.given(voxel) if voxel else None,
        like=spec.inputs.get("like"),
        class_names={int(k): str(v) for k, v in (spec.params.get("classes") or {}).items()},
        recode={int(k): int(v) for k, v in (spec.params.get("recode") or {}).items()},
        object_class=spec.params.get("class"),
        job_id=spec.id,
        progress=events.progress,
        log=events.log,
    )
    return {"volume": record.name, "id": record.id}
