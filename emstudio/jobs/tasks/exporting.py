"""Job kind "export": a project volume written out as TIFF, OME-Zarr or HDF5.

inputs: {"volume": NAME}
params: {"out": FILE (.tif, .zarr or .h5; must not exist)}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emstudio.core.io.export import export_record
from emstudio.core.project import Project
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def run_export(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    record = project.catalog.volume(spec.inputs["volume"])
    done = export_record(project, record, Path(spec.params["out"]), events.progress)
    if done.note:
        events.log(f"{done.path.name}: {done.note}")
    return {"path": str(done.path), "note": done.note}
