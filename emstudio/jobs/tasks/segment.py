"""Job kind "segment": a prediction set into an instance (or connected-component) segmentation.

inputs: {"prediction": SET, "class": CLASS or null}
params: {"out": NAME, "preset": P or null, "mode": "auto"|"watershed"|"components",
         "block": [z, y, x] or null, and any InstanceParams field overriding the preset}
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from emstudio.core.project import Project
from emstudio.core.seg.blockwise import DEFAULT_BLOCK
from emstudio.core.seg.params import InstanceParams, preset
from emstudio.core.seg.run import segment_prediction
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def params_from_spec(values: dict[str, Any]) -> InstanceParams:
    base = preset(values["preset"]).params if values.get("preset") else InstanceParams()
    names = {f.name for f in fields(InstanceParams)}
    return base.with_changes(**{k: v for k, v in values.items() if k in names})


def run_segment(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    params = params_from_spec(spec.params)
    record = segment_prediction(
        project,
        spec.inputs["prediction"],
        spec.params["out"],
        params,
        class_name=spec.inputs.get("class"),
        mode=spec.params.get("mode", "auto"),
        preset=spec.params.get("preset"),
        block=tuple(spec.params.get("block") or DEFAULT_BLOCK),
        job_id=spec.id,
        progress=events.progress,
    )
    events.emit("artifact", kind="volume", name=record.name, id=record.id)
    settings = record.attrs.get("params", {})
    return {
        "volume": record.name,
        "objects": record.attrs.get("objects"),
        "left_out": record.attrs.get("left_out"),
        "class": record.attrs.get("class"),
        "method": settings.get("method"),
        "min_voxels": params.min_voxels(record.voxel_size.zyx),
    }
