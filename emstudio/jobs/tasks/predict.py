"""Job kind "predict": a model's probability maps of an image, one ``prediction`` volume per
output (``{out}-{class}``, ``{out}-boundary``), predicted along the requested axes and combined.

inputs: ``image`` (volume name), ``model`` (model name). params: ``out``, ``axes``, ``combine``,
``tta``, ``keep_axes``, ``batch``, ``tile``, ``compile``, ``columns``, ``memory_mb``, and
``resume_from`` (a job id whose finished blocks are reused). Work in progress lives in
``jobs/<id>/scratch``: per-axis maps, or the final maps being filled column by column.
"""

from __future__ import annotations

import shutil
from typing import Any

from emstudio.core.errors import NameConflictError
from emstudio.core.ml import presets
from emstudio.core.ml.card import output_names
from emstudio.core.ml.geometry import parse_axes
from emstudio.core.project import Project, provenance
from emstudio.core.project.volumes import check_free_space
from emstudio.core.text import counted, size_text
from emstudio.core.volume.store import Volume
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec
from emstudio.jobs.tasks.train import volume_of_kind

SCRATCH_DIR = "scratch"
CONFIG_KEYS = (
    "combine",
    "tta",
    "keep_axes",
    "batch",
    "tile",
    "overlap",
    "compile",
    "columns",
    "memory_mb",
)


def run_predict(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    # torch loads here, not at import: every emstudio command imports the task table
    from emstudio.core.ml.columns import column_maps
    from emstudio.core.ml.device import describe, select_device
    from emstudio.core.ml.outputs import (
        PredictionSet,
        check_outputs,
        plan_outputs,
        write_prediction_set,
    )
    from emstudio.core.ml.prediction import (
        PredictConfig,
        Reporter,
        VolumePredictor,
        fit_geometry,
    )
    from emstudio.core.ml.registry import open_model
    from emstudio.core.ml.scratch import Scratch

    params = dict(spec.params)
    out = str(params.get("out") or "").strip()
    if not out:
        raise NameConflictError("A prediction needs a name: give --out NAME.")
    image_rec = volume_of_kind(project, spec.inputs["image"], "image", "image")
    model, card, model_rec = open_model(project, spec.inputs["model"])
    axes = params.get("axes") or "auto"
    seen = presets.model_axes(card)
    if axes == "auto":
        axes = seen
        events.log(f"axes: {', '.join(a.upper() for a in axes)} (the views the model saw)")
    unseen = [a for a in parse_axes(axes) if a not in seen]
    if unseen:
        events.log(
            f"note: model {model_rec.name!r} was trained on {', '.join(a.upper() for a in seen)} "
            f"views only; its {', '.join(a.upper() for a in unseen)} predictions may be worse "
            "(and take longer). --axes auto predicts the views it saw."
        )
    config = PredictConfig(
        axes=parse_axes(axes), **{k: params[k] for k in CONFIG_KEYS if params.get(k) is not None}
    )
    config.check()
    voxel = fit_geometry(card, image_rec.voxel_size.zyx, image_rec.voxel_size.known, events.log)
    planned = plan_outputs(out, output_names(card), config.axes, config.keep_axes)
    check_outputs(project, planned, image_rec.shape)
    z, y, x = image_rec.shape
    device = select_device(spec.device)
    project.catalog.set_job_device(spec.id, describe(device))
    image = Volume(project.resolve(image_rec.path)).boxes()
    predictor = VolumePredictor(
        model,
        card,
        image,
        voxel,
        config,
        device,
        Reporter(progress=events.progress, log=events.log),
    )
    owner = params.get("resume_from") or spec.id
    folder = project.jobs_dir / owner / SCRATCH_DIR
    if owner != spec.id and not folder.is_dir():
        events.log(f"job {owner[:8]} left no finished blocks: starting from the beginning")
    if not folder.is_dir() and not predictor.columns:
        scratch_axes = len(predictor.scratch_axes)
        check_free_space(project, z * y * x * len(predictor.outputs) * scratch_axes)
    plan = {**predictor.plan(), "image": image_rec.id}
    scratch, resumed = Scratch.open(folder, image_rec.shape, predictor.outputs, plan)
    if owner != spec.id and not resumed:
        events.log(f"job {owner[:8]}'s blocks were made with other settings: starting over")
    how = f"tiles of {config.tile} px"
    if predictor.columns:
        width = predictor.column_width
        how = f"{len(predictor.columns)} columns up to {width} voxels wide, {how}"
    events.log(
        f"predicting {', '.join(a.upper() for a in config.axes)} with model {model_rec.name!r} "
        f"on {describe(device)} ({how}"
        + (f", {config.combine} of the axes)" if len(config.axes) > 1 else ")")
    )
    attrs = {
        "prediction_set": out,
        "model": model_rec.name,
        "model_id": model_rec.id,
        "axes": list(config.axes),
        "combine": config.combine,
        "tta": config.tta,
    }
    prov = provenance.record(
        "predict",
        job_id=spec.id,
        params={**params, **config.to_json()},
        inputs=[
            {"volume": image_rec.name, "id": image_rec.id},
            {"model": model_rec.name, "id": model_rec.id},
        ],
    )
    writer_parts: list[dict[str, float]] = []  # of the fused pass: each column's write
    if predictor.columns:
        maps = column_maps(scratch, [item.name for item in planned])
        # uint8 maps of the largest column, written by a child process while the next columns
        # are predicted (a single column has nothing for the child's start to overlap)
        largest = max(c.area for c in predictor.columns)
        column_bytes = z * largest * len(planned) if len(predictor.columns) > 1 else 0
        outputs = PredictionSet(
            project,
            planned,
            image_rec,
            attrs,
            prov,
            folder=maps,
            in_boxes=True,
            box_bytes=column_bytes,
        )
        if outputs.writes_in_child:
            events.log("the maps are written by a process of their own")
        try:
            predictor.run_columns(
                scratch,
                lambda column, maps: writer_parts.append(
                    outputs.write_box(column.y[0], column.x[0], *maps)
                ),
                outputs.flush,
            )
            records = outputs.commit()
        finally:
            outputs.close(remove=False)  # a failed job's maps stay for its resumption
    else:
        predictor.run(scratch)
        slabs = predictor.combined_slabs(scratch)
        records = write_prediction_set(project, planned, slabs, image_rec, attrs, prov)
    scratch.remove()
    events.warn(drop_superseded_scratch(project, out, owner))
    return {
        "prediction_set": attrs["prediction_set"],
        "volumes": [r.name for r in records],
        "seconds": {axis: round(t, 2) for axis, t in predictor.seconds.items()},
        "busy_seconds": {stage: round(t, 2) for stage, t in predictor.busy.items()},
        "columns": [[*c.y, *c.x] for c in predictor.columns],
        "column_seconds": [round(t, 3) for t in predictor.column_seconds],
        "column_parts": to_milliseconds(predictor.column_parts),
        "writer_parts": to_milliseconds(writer_parts),
    }


def to_milliseconds(parts: list[dict[str, float]]) -> list[dict[str, float]]:
    """Each dict's seconds rounded to the millisecond."""
    return [{part: round(t, 3) for part, t in seconds.items()} for seconds in parts]


def drop_superseded_scratch(project: Project, out: str, done: str) -> str:
    """Remove the finished parts that unfinished predictions to ``out`` kept for --resume:
    with ``out`` made (by job ``done``) they can no longer be resumed. Returns what a person
    should know ("" when there were none)."""
    dropped, freed = 0, 0
    for job in project.catalog.jobs():
        folder = project.jobs_dir / job.id / SCRATCH_DIR
        earlier = job.kind == "predict" and job.id != done and job.status != "running"
        if earlier and folder.is_dir() and job.spec.get("params", {}).get("out") == out:
            freed += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            dropped += 1
    if not dropped:
        return ""
    return (
        f"removed what {counted(dropped, 'unfinished prediction')} to {out!r} had kept for "
        f"--resume ({size_text(freed)})."
    )
