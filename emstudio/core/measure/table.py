"""Measure every object of a label volume larger than memory, and write the CSV files.

Objects are found blockwise; nearby objects are measured from one crop (plus the search margin
when distances to another segmentation are asked), crops in worker processes (which read their
own crops where the arrays allow it); a very large object is measured here, from its own box,
and meshed in blocks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from emstudio.core.measure import shape
from emstudio.core.measure.distance import NearestOther, margin_voxels
from emstudio.core.measure.params import DEFAULT_MAX_DISTANCE_NM
from emstudio.core.mesh.build import read_padded
from emstudio.core.mesh.surface import described_mask, mesh_in_blocks
from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.seg.objects import (
    ObjectBoxes,
    group_boxes,
    group_workers,
    object_boxes,
    scan_workers,
)
from emstudio.core.seg.workers import WorkerPool, sendable

DEFAULT_BLOCK = (64, 512, 512)
DEFAULT_CROP_VOXELS = 16 * 2**20
BYTES_PER_MEASURE_VOXEL = 24  # three crops in transit and held, masks, a float field, distances
BYTES_PER_CLASS = 12  # a class's distance map (float64) and its objects (uint32)


@dataclass
class Inputs:
    """What to measure: labels (required) and optional image / other segmentation arrays."""

    labels: Any
    voxel_size: tuple[float, float, float]
    object_class: str = "object"
    image: Any | None = None
    other: Any | None = None
    other_name: str = "other"
    # other is a label set: a distance to each of these classes (value -> name), no ids
    other_classes: dict[int, str] = field(default_factory=dict)
    max_distance_nm: float = DEFAULT_MAX_DISTANCE_NM
    class_names: dict[int, str] = field(default_factory=dict)  # per id, where not object_class
    skip: tuple[int, ...] = ()  # ids that are no object (a label set's "not labelled")


def _box(lo, hi) -> tuple[slice, ...]:
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


def _row(
    inputs: Inputs,
    object_id: int,
    sums: shape.Moments,
    surface: dict,
    values: shape.Intensity,
    touches: bool,
    found: dict[str, tuple[float, int]],
) -> dict[str, Any]:
    """An object's row from its moments, its area mesh's ``describe`` facts, the image values
    in it (where there is an image), whether it touches the border and the nearest objects
    found of each distance target (where there is another segmentation)."""
    row: dict[str, Any] = {
        "id": object_id,
        "class": inputs.class_names.get(object_id, inputs.object_class),
    }
    row.update(sums.row())
    row["surface_area_nm2"] = surface["area_nm2"]
    row["surface_area_um2"] = surface["area_nm2"] / 1e6
    row["sphericity"] = shape.sphericity(surface["volume_nm3"], surface["area_nm2"])
    if values.count:  # image values were added
        row.update(values.row())
    row["touches_border"] = touches
    add_distances(inputs, row, found)
    return row


def table_columns(inputs: Inputs) -> list[str]:
    """The columns of the rows ``measure_objects`` gives for ``inputs``: the header of a table
    without objects (the row of a one-voxel object, as any object's row is made)."""
    voxel = np.ones((1, 1, 1), bool)
    sums, values = shape.Moments(inputs.voxel_size), shape.Intensity()
    sums.add(voxel, (0, 0, 0))
    if inputs.image is not None:
        values.add(voxel, np.zeros(voxel.shape))
    found = (
        {name: (math.nan, 0) for name in target_names(inputs)} if inputs.other is not None else {}
    )
    return list(_row(inputs, 0, sums, {"area_nm2": 0.0, "volume_nm3": 0.0}, values, False, found))


def target_names(inputs: Inputs) -> list[str]:
    """The names of what distances are measured to: the other segmentation, or each class of
    the other label set."""
    return list(inputs.other_classes.values()) or [inputs.other_name]


def distance_targets(inputs: Inputs, other: np.ndarray) -> list[tuple[str, NearestOther]]:
    """What each object's distances are measured to, over a crop of ``inputs.other``: its
    objects (one column pair), or each class of a label set (one column per class)."""
    if not inputs.other_classes:
        return [(inputs.other_name, NearestOther(other, inputs.voxel_size))]
    return [
        (name, NearestOther(np.where(other == value, other, 0), inputs.voxel_size))
        for value, name in inputs.other_classes.items()
    ]


def add_distances(inputs: Inputs, row: dict[str, Any], found: dict[str, tuple[float, int]]) -> None:
    """The distance columns of a row: per target, the distance, and the nearest object's id
    (not for a label set's classes: the column names the class)."""
    for name, (distance, other_id) in found.items():
        row[f"distance_to_{name}_nm"] = distance
        if not inputs.other_classes:
            row[f"nearest_{name}_id"] = other_id


def _nearer(distance: float, than: float) -> bool:
    """Whether ``distance`` is found (not NaN: nothing in reach) and less than ``than``."""
    return not math.isnan(distance) and (math.isnan(than) or distance < than)


def surface_facts(mask: np.ndarray, origin, voxel_size: tuple[float, float, float]) -> dict:
    """The ``describe`` facts of the mesh that gives an object's area: the smoothed one, or
    for an object too small to keep a closed smoothed surface, its plain one."""
    _, facts = described_mask(mask, origin, voxel_size, shape.AREA_MESH)
    if facts["volume_nm3"]:
        return facts
    return described_mask(mask, origin, voxel_size, shape.SMALL_AREA_MESH)[1]


def measure_objects(
    inputs: Inputs,
    ids: Sequence[int] | None = None,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    crop_voxels: int = DEFAULT_CROP_VOXELS,
    progress: Progress = no_progress,
    workers: int | None = None,
    known: ObjectBoxes | None = None,
) -> list[dict[str, Any]]:
    """One row per object (sorted by id); see ``COLUMNS`` for what each row holds.
    ``workers``: processes measuring crops (None: one per core, as far as the memory allows).
    ``known``: the objects' boxes when known already (``object_cache``), else scanned for."""
    labels = inputs.labels
    shape_ = np.asarray(labels.shape)
    rows: dict[int, dict[str, Any]] = {}
    with WorkerPool(scan_workers(tuple(labels.shape), block, workers)) as pool:
        boxes = known
        if boxes is None:
            boxes = object_boxes(labels, block, scaled(progress, 0, 10, 100), pool)
        if ids is not None or inputs.skip:
            wanted = boxes.ids.tolist() if ids is None else ids
            boxes = boxes.select([i for i in wanted if i not in inputs.skip])
        margin = (
            margin_voxels(inputs.max_distance_nm, inputs.voxel_size)
            if inputs.other is not None
            else np.zeros(3, np.int64)
        )
        step = scaled(progress, 10, 90, 100)
        lo_m = np.maximum(boxes.lo - margin, 0)
        hi_m = np.minimum(boxes.hi + margin, shape_)
        sizes = np.prod(hi_m - lo_m, axis=1)
        normal = np.flatnonzero(sizes <= crop_voxels)
        groups = [normal[g] for g in group_boxes(lo_m[normal], hi_m[normal], block, crop_voxels)]
        # each further class of a label set measured to holds its own distance map
        per_voxel = BYTES_PER_MEASURE_VOXEL + BYTES_PER_CLASS * max(
            len(inputs.other_classes) - 1, 0
        )
        limit = group_workers(lo_m, hi_m, groups, per_voxel, workers, pool)
        remote = pool.workers > 1 and all(
            sendable(a) for a in (inputs.labels, inputs.image, inputs.other) if a is not None
        )
        tasks = (_group_task(inputs, boxes, members, margin, remote) for members in groups)
        for measured in pool.map(measure_crop, tasks, limit):
            rows.update((row["id"], row) for row in measured)
            step(len(rows), len(boxes), f"measured {len(rows)}/{len(boxes)} objects")
    for index in np.flatnonzero(sizes > crop_voxels).tolist():
        _measure_large(inputs, boxes, index, margin, rows, block)
        step(len(rows), len(boxes), f"measured {len(rows)}/{len(boxes)} objects")
    return [rows[i] for i in sorted(rows)]


@dataclass(frozen=True)
class _Crops:
    """One crop of each input (``image`` and ``other`` when measured)."""

    labels: np.ndarray
    image: np.ndarray | None
    other: np.ndarray | None


def _read_crops(inputs: Inputs, region: tuple[slice, ...]) -> _Crops:
    def read(array: Any) -> np.ndarray | None:
        return read_padded(array, region) if array is not None else None

    return _Crops(read(inputs.labels), read(inputs.image), read(inputs.other))


def _group_task(inputs: Inputs, boxes: ObjectBoxes, members, margin, remote: bool) -> tuple:
    """The arguments of ``measure_crop`` for a group: the inputs to read the crop from (when
    ``remote``), else the crops read here and the inputs without their arrays."""
    shape_ = np.asarray(inputs.labels.shape)
    lo = np.maximum(boxes.lo[members].min(0) - margin, 0)
    hi = np.minimum(boxes.hi[members].max(0) + margin, shape_)
    region = _box(lo, hi)
    listed = [
        (
            int(boxes.ids[index]),
            _box(boxes.lo[index] - lo, boxes.hi[index] - lo),
            tuple(int(v) for v in boxes.lo[index]),
            bool((boxes.lo[index] == 0).any() or (boxes.hi[index] == shape_).any()),
        )
        for index in members.tolist()
    ]
    if remote:
        return inputs, region, listed
    bare = replace(inputs, labels=None, image=None, other=None)
    return bare, _read_crops(inputs, region), listed


def measure_crop(
    inputs: Inputs,
    crops: _Crops | tuple[slice, ...],
    members: list[tuple[int, tuple[slice, ...], tuple[int, int, int], bool]],
) -> list[dict[str, Any]]:
    """Worker task: the rows of the members (id, box in the crop, origin in the volume, touches
    the border) of one crop, given as ``_Crops`` or as the region to read from ``inputs``."""
    if not isinstance(crops, _Crops):
        crops = _read_crops(inputs, crops)
    targets = distance_targets(inputs, crops.other) if crops.other is not None else []
    rows = []
    for object_id, box, origin, touches in members:
        mask = crops.labels[box] == object_id
        sums = shape.Moments(inputs.voxel_size)
        sums.add(mask, origin)
        values = shape.Intensity()
        if crops.image is not None:
            values.add(mask, crops.image[box])
        found = {name: t.measure(mask, box, inputs.max_distance_nm) for name, t in targets}
        facts = surface_facts(mask, origin, inputs.voxel_size)
        rows.append(_row(inputs, object_id, sums, facts, values, touches, found))
    return rows


def _measure_large(inputs: Inputs, boxes: ObjectBoxes, index, margin, rows, block) -> None:
    """An object too large for one crop, measured slab by slab over its box (the search for
    other objects looks at each slab plus the margin); its mesh is made in blocks."""
    object_id = int(boxes.ids[index])
    lo, hi = boxes.lo[index], boxes.hi[index]
    sums, values = shape.Moments(inputs.voxel_size), shape.Intensity()
    best: dict[str, tuple[float, int]] = {}
    for z0 in range(int(lo[0]), int(hi[0]), block[0]):
        z1 = min(z0 + block[0], int(hi[0]))
        slab = _box((z0, lo[1], lo[2]), (z1, hi[1], hi[2]))
        mask = np.asarray(inputs.labels[slab]) == object_id
        if not mask.any():
            continue
        sums.add(mask, (z0, int(lo[1]), int(lo[2])))
        if inputs.image is not None:
            values.add(mask, np.asarray(inputs.image[slab]))
        if inputs.other is not None:
            start = np.maximum(np.array([z0, lo[1], lo[2]]) - margin, 0)
            stop = np.minimum(np.array([z1, hi[1], hi[2]]) + margin, inputs.labels.shape)
            offset = np.array([z0, lo[1], lo[2]]) - start
            where = _box(offset, offset + mask.shape)
            other = np.asarray(inputs.other[_box(start, stop)])
            for name, target in distance_targets(inputs, other):
                found = target.measure(mask, where, inputs.max_distance_nm)
                if name not in best or _nearer(found[0], best[name][0]):
                    best[name] = found
    _, facts = mesh_in_blocks(
        lambda b: read_padded(inputs.labels, b) == object_id,
        lo,
        hi,
        inputs.voxel_size,
        shape.AREA_MESH,
        block,
    )
    touches = bool((lo == 0).any() or (hi == np.asarray(inputs.labels.shape)).any())
    rows[object_id] = _row(inputs, object_id, sums, facts, values, touches, best)
