"""Job kind "mesh": meshes of a segmentation's objects into a new mesh set.

inputs: {"segmentation": NAME}
params: {"format": "stl"|"obj"|"ply"|"glb", "smooth": N, "decimate": F, "ids": [...] or null,
         "combined": bool, "out": DIR or null, "name": NAME or null}
"""

from __future__ import annotations

from typing import Any

from emstudio.core.mesh.meshset import create_mesh_set, undecimated_note
from emstudio.core.mesh.surface import MeshOptions
from emstudio.core.project import Project
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def run_mesh(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    events.warn(project.catalog.volume(spec.inputs["segmentation"]).size_warning)
    p = spec.params
    record = create_mesh_set(
        project,
        spec.inputs["segmentation"],
        name=p.get("name"),
        fmt=p.get("format", "ply"),
        options=MeshOptions(
            smooth=int(p.get("smooth", 10)),
            decimate=float(p.get("decimate", 1)),
            sections=bool(p.get("sections", False)),
        ),
        ids=p.get("ids"),
        combined=bool(p.get("combined", False)),
        out=p.get("out"),
        job_id=spec.id,
        progress=events.progress,
    )
    events.emit("artifact", kind="meshes", name=record.name, id=record.id)
    events.warn(undecimated_note(record.attrs.get("kept_all_faces", 0), record.count))
    return {
        "mesh_set": record.name,
        "count": record.count,
        "path": record.path,
        "out": p.get("out"),
        "kept_all_faces": record.attrs.get("kept_all_faces", 0),
    }
