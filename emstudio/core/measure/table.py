"""Measure every object of a label volume larger than memory, and write the CSV files.

Objects are found blockwise; nearby objects are measured from one crop (plus the search margin
when distances to another segmentation are asked); a very large object is measured from its
own box and meshed in blocks.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.measure import shape
from emstudio.core.measure.distance import NearestOther, margin_voxels
from emstudio.core.mesh.build import read_padded
from emstudio.core.mesh.surface import mesh_in_blocks, mesh_mask
from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.project.atomic import atomic_write_text
from emstudio.core.seg.objects import ObjectBoxes, group_boxes, object_boxes

DEFAULT_BLOCK = (64, 512, 512)
DEFAULT_CROP_VOXELS = 16 * 2**20
DEFAULT_MAX_DISTANCE_NM = 2000.0


@dataclass
class Inputs:
    """What to measure: labels (required) and optional image / other segmentation arrays."""

    labels: Any
    voxel_size: tuple[float, float, float]
    object_class: str = "object"
    image: Any | None = None
    other: Any | None = None
    other_name: str = "other"
    max_distance_nm: float = DEFAULT_MAX_DISTANCE_NM


def _box(lo, hi) -> tuple[slice, ...]:
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


def _row(inputs: Inputs, object_id: int, sums: shape.Moments, area_nm2: float) -> dict[str, Any]:
    row: dict[str, Any] = {"id": object_id, "class": inputs.object_class}
    row.update(sums.row())
    row["surface_area_nm2"] = area_nm2
    row["surface_area_um2"] = area_nm2 / 1e6
    row["sphericity"] = shape.sphericity(row["volume_nm3"], area_nm2)
    return row


def measure_objects(
    inputs: Inputs,
    ids: Sequence[int] | None = None,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    crop_voxels: int = DEFAULT_CROP_VOXELS,
    progress: Progress = no_progress,
) -> list[dict[str, Any]]:
    """One row per object (sorted by id); see ``COLUMNS`` for what each row holds."""
    labels = inputs.labels
    boxes = object_boxes(labels, block, scaled(progress, 0, 10, 100))
    if ids is not None:
        boxes = boxes.select(ids)
    margin = (
        margin_voxels(inputs.max_distance_nm, inputs.voxel_size)
        if inputs.other is not None
        else np.zeros(3, np.int64)
    )
    rows: dict[int, dict[str, Any]] = {}
    step = scaled(progress, 10, 90, 100)
    shape_ = np.asarray(labels.shape)
    lo_m = np.maximum(boxes.lo - margin, 0)
    hi_m = np.minimum(boxes.hi + margin, shape_)
    sizes = np.prod(hi_m - lo_m, axis=1)
    normal = np.flatnonzero(sizes <= crop_voxels)
    lo_m, hi_m = lo_m[normal], hi_m[normal]
    for group in group_boxes(lo_m, hi_m, block, crop_voxels):
        members = normal[group]
        _measure_group(inputs, boxes, members, margin, rows)
        step(len(rows), len(boxes), f"measured {len(rows)}/{len(boxes)} objects")
    for index in np.flatnonzero(sizes > crop_voxels).tolist():
        _measure_large(inputs, boxes, index, margin, rows, block)
        step(len(rows), len(boxes), f"measured {len(rows)}/{len(boxes)} objects")
    return [rows[i] for i in sorted(rows)]


def _measure_group(inputs: Inputs, boxes: ObjectBoxes, members, margin, rows) -> None:
    shape_ = np.asarray(inputs.labels.shape)
    lo = np.maximum(boxes.lo[members].min(0) - margin, 0)
    hi = np.minimum(boxes.hi[members].max(0) + margin, shape_)
    region = _box(lo, hi)
    labels = read_padded(inputs.labels, region)
    image = read_padded(inputs.image, region) if inputs.image is not None else None
    nearest = None
    if inputs.other is not None:
        nearest = NearestOther(read_padded(inputs.other, region), inputs.voxel_size)
    for index in members.tolist():
        object_id = int(boxes.ids[index])
        box = _box(boxes.lo[index] - lo, boxes.hi[index] - lo)
        mask = labels[box] == object_id
        origin = tuple(int(v) for v in boxes.lo[index])
        mesh = mesh_mask(mask, origin, inputs.voxel_size, shape.AREA_MESH)
        sums = shape.Moments(inputs.voxel_size)
        sums.add(mask, origin)
        row = _row(inputs, object_id, sums, float(mesh.area))
        if image is not None:
            values = shape.Intensity()
            values.add(mask, image[box])
            row.update(values.row())
        row["touches_border"] = bool(
            (boxes.lo[index] == 0).any() or (boxes.hi[index] == shape_).any()
        )
        if nearest is not None:
            distance, other_id = nearest.measure(mask, box, inputs.max_distance_nm)
            row[f"distance_to_{inputs.other_name}_nm"] = distance
            row[f"nearest_{inputs.other_name}_id"] = other_id
        rows[object_id] = row


def _measure_large(inputs: Inputs, boxes: ObjectBoxes, index, margin, rows, block) -> None:
    """An object too large for one crop, measured slab by slab over its box (the search for
    other objects looks at each slab plus the margin); its mesh is made in blocks."""
    object_id = int(boxes.ids[index])
    lo, hi = boxes.lo[index], boxes.hi[index]
    sums, values = shape.Moments(inputs.voxel_size), shape.Intensity()
    best = (float("nan"), 0)
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
            nearest = NearestOther(np.asarray(inputs.other[_box(start, stop)]), inputs.voxel_size)
            offset = np.array([z0, lo[1], lo[2]]) - start
            found = nearest.measure(mask, _box(offset, offset + mask.shape), inputs.max_distance_nm)
            if not math.isnan(found[0]) and (math.isnan(best[0]) or found[0] < best[0]):
                best = found
    mesh = mesh_in_blocks(
        lambda b: read_padded(inputs.labels, b) == object_id,
        lo,
        hi,
        inputs.voxel_size,
        shape.AREA_MESH,
        block,
    )
    row = _row(inputs, object_id, sums, float(mesh.area))
    if inputs.image is not None:
        row.update(values.row())
    row["touches_border"] = bool((lo == 0).any() or (hi == np.asarray(inputs.labels.shape)).any())
    if inputs.other is not None:
        row[f"distance_to_{inputs.other_name}_nm"] = best[0]
        row[f"nearest_{inputs.other_name}_id"] = best[1]
    rows[object_id] = row


SUMMARY_COLUMNS = (
    "class",
    "count",
    "total_volume_um3",
    "mean_volume_um3",
    "median_volume_um3",
    "mean_surface_area_um2",
    "mean_sphericity",
    "touching_border",
)


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per class: counts, volumes, areas, sphericity (and mean distance if measured)."""
    out = []
    for name in sorted({r["class"] for r in rows}):
        members = [r for r in rows if r["class"] == name]
        volumes = np.array([r["volume_um3"] for r in members])
        summary: dict[str, Any] = {
            "class": name,
            "count": len(members),
            "total_volume_um3": float(volumes.sum()),
            "mean_volume_um3": float(volumes.mean()),
            "median_volume_um3": float(np.median(volumes)),
            "mean_surface_area_um2": float(np.mean([r["surface_area_um2"] for r in members])),
            "mean_sphericity": float(np.nanmean([r["sphericity"] for r in members])),
            "touching_border": sum(bool(r["touches_border"]) for r in members),
        }
        for key in members[0]:
            if key.startswith("distance_to_"):
                values = np.array([r[key] for r in members], np.float64)
                found = values[~np.isnan(values)]
                summary[f"mean_{key}"] = float(found.mean()) if len(found) else float("nan")
        out.append(summary)
    return out


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text (missing values empty, floats to 6 significant digits)."""
    buffer = io.StringIO()
    if rows:
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(list(rows[0]))
        for row in rows:
            writer.writerow([_format(v) for v in row.values()])
    return buffer.getvalue()


def summary_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-summary{path.suffix or '.csv'}")


def write_csv(rows: list[dict[str, Any]], path: Path) -> tuple[Path, Path]:
    """Write the object table and the per-class summary beside it (atomically)."""
    path = Path(path)
    atomic_write_text(path, to_csv(rows))
    summary = summary_path(path)
    atomic_write_text(summary, to_csv(summarise(rows)))
    return path, summary


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
