"""Segment a project's prediction set into a new segmentation volume (what the job runs).

A prediction set ``NAME`` is the volumes ``NAME-{class}`` (uint8 probabilities, attrs
``prediction_set``/``class``): the area map is ``NAME-mitochondria``, or ``NAME-{class}`` with
``class_name``, or the set's only class besides ``boundary``; the boundary map is
``NAME-boundary``. Without a boundary map (or with mode "components") the class is segmented
by connected components (semantic-only classes such as nuclei).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psutil

from emstudio.core.errors import DestinationError, NotFoundError
from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.project import atomic, provenance
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import check_free_space, check_new_name
from emstudio.core.seg.blockwise import (
    BYTES_PER_CROP_VOXEL,
    DEFAULT_BLOCK,
    DEFAULT_CROP_VOXELS,
    LabelResult,
    components_blockwise,
    label_workers,
    segment_blockwise,
)
from emstudio.core.seg.from_truth import BOUNDARY_CLASS
from emstudio.core.seg.labelwrite import write_labels
from emstudio.core.seg.object_cache import save_boxes
from emstudio.core.seg.params import MODES, InstanceParams, SegmentParamsError
from emstudio.core.seg.workers import WorkerPool
from emstudio.core.volume.store import Volume, VolumeWriter

DEFAULT_CLASS = "mitochondria"
BYTES_PER_BLOCK_VOXEL = 24  # two uint8 maps, masks, int32 labels, uint64 ids


def prediction_set(project: Project, name: str) -> dict[str, VolumeRecord]:
    """class -> volume of the prediction set ``name``."""
    found = {}
    for record in project.catalog.volumes("prediction"):
        stated = record.attrs.get("prediction_set")
        # the name prefix only for volumes that do not say their set: "truth-v2-mitochondria"
        # (set "truth-v2") must not be taken for a class of the set "truth"
        if stated == name or (stated is None and record.name.startswith(f"{name}-")):
            found[record.attrs.get("class") or record.name.removeprefix(f"{name}-")] = record
    if not found:
        known = sorted(
            {r.attrs.get("prediction_set", r.name) for r in project.catalog.volumes("prediction")}
        )
        raise NotFoundError(
            f"No prediction set named {name!r} in this project "
            f"(prediction sets: {', '.join(known) or 'none'})."
        )
    return found


def pick_area_class(classes: dict[str, VolumeRecord], name: str, class_name: str | None) -> str:
    if class_name:
        if class_name not in classes:
            raise NotFoundError(
                f"The prediction set {name!r} has no class {class_name!r} "
                f"(classes: {', '.join(sorted(classes))})."
            )
        return class_name
    if DEFAULT_CLASS in classes:
        return DEFAULT_CLASS
    others = [c for c in classes if c != BOUNDARY_CLASS]
    if len(others) != 1:
        raise SegmentParamsError(
            f"The prediction set {name!r} has classes {', '.join(sorted(others))}: "
            "choose one with --class."
        )
    return others[0]


def check_memory(block: tuple[int, int, int], crop_voxels: int) -> None:
    """Refuse to start when the free memory cannot hold one block and one crop."""
    block_voxels = block[0] * block[1] * block[2]
    need = block_voxels * BYTES_PER_BLOCK_VOXEL + crop_voxels * BYTES_PER_CROP_VOXEL
    free = psutil.virtual_memory().available
    if need > free:
        raise DestinationError(
            f"Not enough free memory to segment: about {need / 2**30:.1f} GiB needed, "
            f"{free / 2**30:.1f} GiB available. Close other programs or use a smaller --block."
        )


def segment_prediction(
    project: Project,
    prediction: str,
    out: str,
    params: InstanceParams,
    *,
    class_name: str | None = None,
    mode: str = "auto",
    preset: str | None = None,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    job_id: str | None = None,
    progress: Progress = no_progress,
) -> VolumeRecord:
    """Segment the prediction set into the new segmentation volume ``out``."""
    if mode not in MODES:
        raise SegmentParamsError(f"--mode must be one of {MODES}, not {mode!r}.")
    out = check_new_name(project, out, "--out")
    classes = prediction_set(project, prediction)
    area_class = pick_area_class(classes, prediction, class_name)
    area_record = classes[area_class]
    boundary_record = classes.get(BOUNDARY_CLASS)
    if mode == "watershed" and boundary_record is None:
        raise NotFoundError(
            f"The prediction set {prediction!r} has no boundary map ({prediction}-boundary); "
            "use --mode components for a class without boundaries."
        )
    watershed = mode == "watershed" or (mode == "auto" and boundary_record is not None)
    check_memory(block, DEFAULT_CROP_VOXELS)
    area = Volume(project.resolve(area_record.path))
    z, y, x = area.shape
    check_free_space(project, z * y * x * 4)  # uint32 labels uncompressed (compressed: less)
    voxel_size = area.voxel_size
    scratch = project.staging_path(".work")
    staging = project.staging_path()
    scratch.mkdir()
    # one set of processes segments and writes: starting them costs ~1 s of CPU each
    pool = WorkerPool(label_workers(area.shape, block))
    try:
        label_progress = scaled(progress, 0, 80, 100)
        if watershed:
            boundary = Volume(project.resolve(boundary_record.path))
            result = segment_blockwise(
                area.boxes(),
                boundary.boxes(),
                params,
                voxel_size.zyx,
                scratch,
                block=block,
                progress=label_progress,
                pool=pool,
            )
        else:
            result = components_blockwise(
                area.boxes(),
                params.foreground_threshold,
                params.min_voxels(voxel_size.zyx),
                scratch,
                block=block,
                progress=label_progress,
                pool=pool,
            )
        inputs = [{"volume": r.name, "id": r.id} for r in (area_record, boundary_record) if r]
        settings: dict[str, Any] = {
            "prediction_set": prediction,
            "class": area_class,
            "preset": preset,
            "method": "watershed" if watershed else "components",
            **params.to_json(),
        }
        record = VolumeRecord(
            id=uuid.uuid4().hex,
            name=out,
            kind="segmentation",
            path="",
            shape=area.shape,
            dtype=result.dtype.name,
            voxel_size=voxel_size,
            chunks=(0, 0, 0),
            levels=0,
            source=f"prediction set {prediction!r}, segmented",
            image_id=area_record.image_id,
            attrs={
                "classes": [area_class],
                "class": area_class,
                "source_prediction": prediction,
                "preset": preset,
                "params": settings,
                "objects": result.n_objects,
                "left_out": result.left_out,  # pieces under the size filter
            },
            provenance=provenance.record("segment", job_id=job_id, params=settings, inputs=inputs),
        )
        _write(result, staging, record, scaled(progress, 80, 20, 100), pool)
        committed = project.commit_volume(staging, record)
        # the objects' table as a scan would find it: meshing and measuring need not scan
        save_boxes(Volume(project.resolve(committed.path)), result.boxes)
        return committed
    finally:
        pool.close()
        atomic.remove_tree(scratch)
        atomic.remove_tree(staging)


def _write(
    result: LabelResult, staging: Path, record: VolumeRecord, progress: Progress, pool: WorkerPool
) -> None:
    with VolumeWriter(
        staging, record.shape, result.dtype, record.voxel_size, "segmentation", record.name
    ) as writer:
        write_labels(result, writer, progress, pool=pool)
        writer.finalize({"source": record.source, **record.attrs})
        record.chunks, record.levels = tuple(writer.chunks), len(writer.arrays)
