"""Job kind "export": a project volume written out as TIFF, OME-Zarr or HDF5.

inputs: {"volume": NAME}
params: {"out": FILE (.tif, .zarr or .h5; must not exist)}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emstudio.core.io.export import export_volume
from emstudio.core.project import Project
from emstudio.core.volume.store import Volume
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def run_export(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    record = project.catalog.volume(spec.inputs["volume"])
    volume = Volume(project.resolve(record.path))
    out = export_volume(volume, Path(spec.params["out"]), events.progress, project.path)
    return {"path": str(out)}
