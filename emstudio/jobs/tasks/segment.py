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
    if not record.attrs.get("objects"):
        events.warn(nothing_found_note(params, record.attrs.get("left_out", 0), settings))
    return {
        "volume": record.name,
        "objects": record.attrs.get("objects"),
        "left_out": record.attrs.get("left_out"),
        "class": record.attrs.get("class"),
        "method": settings.get("method"),
        "min_voxels": params.min_voxels(record.voxel_size.zyx),
    }


def nothing_found_note(params: InstanceParams, left_out: int, settings: dict[str, Any]) -> str:
    """What to try when a segmentation holds no object: the pieces the size filter removed,
    else the thresholds no voxel passed (``settings``: the segmentation's, its method)."""
    if left_out:
        return (
            f"no object is left: all {left_out} pieces found were under the smallest size; "
            "lower --min-size (or --min-volume) to keep them"
        )
    seeds = (
        f" with the boundary map below --boundary-threshold {params.boundary_threshold:g}"
        if settings.get("method") == "watershed"
        else ""
    )
    return (
        f"no object was found: no voxel of the map is above --area-threshold "
        f"{params.area_threshold:g}{seeds}. On a weak map, lower the thresholds (in the Segment "
        "dialog too), or look at the prediction in the viewer"
    )
