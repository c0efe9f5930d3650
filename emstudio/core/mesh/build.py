"""Meshes of every object of a label volume larger than memory.

Objects are found blockwise (``seg.objects``); nearby objects are read in one crop; an object
whose box exceeds ``crop_voxels`` is meshed in blocks (``surface.mesh_in_blocks``). Each object
is meshed whole, so there are no block borders inside an object's mesh.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import trimesh

from emstudio.core.errors import NotFoundError
from emstudio.core.mesh.surface import MeshOptions, mesh_in_blocks, mesh_mask
from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.seg.instances import Box
from emstudio.core.seg.objects import ObjectBoxes, group_boxes, object_boxes

DEFAULT_BLOCK = (64, 512, 512)
DEFAULT_CROP_VOXELS = 32 * 2**20


def read_padded(labels, box: Box) -> np.ndarray:
    """``labels[box]`` where the box may reach outside the array (outside reads as 0)."""
    shape = labels.shape
    inside = tuple(slice(max(s.start, 0), min(s.stop, n)) for s, n in zip(box, shape, strict=True))
    out = np.zeros([s.stop - s.start for s in box], labels.dtype)
    if all(s.stop > s.start for s in inside):
        target = tuple(
            slice(i.start - s.start, i.stop - s.start) for i, s in zip(inside, box, strict=True)
        )
        out[target] = np.asarray(labels[inside])
    return out


def select_objects(boxes: ObjectBoxes, ids: Sequence[int] | None) -> ObjectBoxes:
    if ids is None:
        return boxes
    missing = sorted(set(int(i) for i in ids) - set(boxes.ids.tolist()))
    if missing:
        raise NotFoundError(f"no object with id {', '.join(map(str, missing[:10]))} here.")
    return boxes.select(ids)


def iter_meshes(
    labels,
    voxel_size: tuple[float, float, float],
    options: MeshOptions,
    boxes: ObjectBoxes,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    crop_voxels: int = DEFAULT_CROP_VOXELS,
    progress: Progress = no_progress,
) -> Iterator[tuple[int, trimesh.Trimesh]]:
    """(id, mesh) for each object of ``boxes``, read from ``labels`` (zarr or numpy)."""
    sizes = np.prod(boxes.hi - boxes.lo, axis=1)
    normal = np.flatnonzero(sizes <= crop_voxels)
    done = 0
    for group in group_boxes(boxes.lo[normal], boxes.hi[normal], block, crop_voxels):
        members = normal[group]
        lo, hi = boxes.lo[members].min(0), boxes.hi[members].max(0)
        region = read_padded(
            labels, tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        )
        for index in members.tolist():
            box = tuple(
                slice(int(a - o), int(b - o))
                for a, b, o in zip(boxes.lo[index], boxes.hi[index], lo, strict=True)
            )
            mask = region[box] == boxes.ids[index]
            origin = tuple(int(v) for v in boxes.lo[index])
            yield int(boxes.ids[index]), mesh_mask(mask, origin, voxel_size, options)
            done += 1
            progress(done, len(boxes), f"meshed {done}/{len(boxes)} objects")
    for index in np.flatnonzero(sizes > crop_voxels).tolist():
        value = boxes.ids[index]
        mesh = mesh_in_blocks(
            lambda box, v=value: read_padded(labels, box) == v,
            boxes.lo[index],
            boxes.hi[index],
            voxel_size,
            options,
            block,
        )
        yield int(value), mesh
        done += 1
        progress(done, len(boxes), f"meshed {done}/{len(boxes)} objects")


def mesh_objects(
    labels,
    voxel_size: tuple[float, float, float],
    options: MeshOptions = MeshOptions(),  # noqa: B008
    ids: Sequence[int] | None = None,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    crop_voxels: int = DEFAULT_CROP_VOXELS,
    progress: Progress = no_progress,
) -> Iterator[tuple[int, trimesh.Trimesh]]:
    """Find the objects, then mesh them (``ids``: only these)."""
    boxes = select_objects(object_boxes(labels, block, scaled(progress, 0, 10, 100)), ids)
    yield from iter_meshes(
        labels, voxel_size, options, boxes, block, crop_voxels, scaled(progress, 10, 90, 100)
    )
