"""Job kind "measure": per-object measurements of a segmentation into CSV files.

inputs: {"segmentation": NAME, "image": NAME or null, "other": SEGMENTATION or null}
params: {"out": FILE.csv or null (kept in the project only), "max_distance_nm": float}
"""

from __future__ import annotations

from typing import Any

from emstudio.core.measure.params import DEFAULT_MAX_DISTANCE_NM
from emstudio.core.measure.run import measure_segmentation
from emstudio.core.project import Project
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def run_measure(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    events.warn(project.catalog.volume(spec.inputs["segmentation"]).size_warning)
    outputs = measure_segmentation(
        project,
        spec.inputs["segmentation"],
        spec.params.get("out"),
        image=spec.inputs.get("image"),
        other=spec.inputs.get("other"),
        max_distance_nm=float(spec.params.get("max_distance_nm", DEFAULT_MAX_DISTANCE_NM)),
        job_id=spec.id,
        progress=events.progress,
    )
    events.emit("artifact", kind="table", path=outputs["csv"])
    return outputs
