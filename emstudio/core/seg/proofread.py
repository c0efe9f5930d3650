"""Qt-free proofreading operations on a label block: merge, split by seeds, delete, relabel.

Each operation edits ``labels`` (a numpy block, modified in place) and returns a
``LabelChange``: the box it touched (in volume coordinates, given the block's ``origin``) with
the values before and after, so a viewer can undo/redo (``revert``/``apply``) and
``save_version`` can write the edited segmentation as a new volume.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed

from emstudio.core.errors import EmstudioError
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project import atomic, provenance
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import check_new_name
from emstudio.core.seg.instances import STRUCTURE, Box
from emstudio.core.volume.store import Volume, VolumeWriter


class ProofreadError(EmstudioError):
    """A proofreading edit cannot be made (unknown id, too few seeds, id in use...)."""


@dataclass(frozen=True)
class LabelChange:
    """Values of ``box`` (volume coordinates) before and after one edit."""

    description: str
    box: Box
    before: np.ndarray
    after: np.ndarray

    def local(self, origin: Sequence[int]) -> Box:
        return tuple(slice(s.start - o, s.stop - o) for s, o in zip(self.box, origin, strict=True))


def apply(labels: np.ndarray, change: LabelChange, origin: Sequence[int] = (0, 0, 0)) -> None:
    """Redo ``change`` on a block that contains its box."""
    labels[change.local(origin)] = change.after


def revert(labels: np.ndarray, change: LabelChange, origin: Sequence[int] = (0, 0, 0)) -> None:
    """Undo ``change`` on a block that contains its box."""
    labels[change.local(origin)] = change.before


def next_free_id(labels: np.ndarray) -> int:
    return int(labels.max(initial=0)) + 1


def _box_of(labels: np.ndarray, ids: Iterable[int]) -> Box:
    found = np.isin(labels, list(ids))
    if not found.any():
        raise ProofreadError(f"no object with id {', '.join(map(str, ids))} in this block.")
    where = np.nonzero(found)
    return tuple(slice(int(w.min()), int(w.max()) + 1) for w in where)


def _edit(labels, origin, box, description, edit) -> LabelChange:
    region = labels[box]
    before = region.copy()
    edit(region)
    glob = tuple(slice(s.start + o, s.stop + o) for s, o in zip(box, origin, strict=True))
    return LabelChange(description, glob, before, region.copy())


def merge(labels: np.ndarray, ids: Sequence[int], origin: Sequence[int] = (0, 0, 0)) -> LabelChange:
    """Merge objects into the smallest of their ids."""
    ids = sorted({int(i) for i in ids if i})
    if len(ids) < 2:
        raise ProofreadError("select at least two different objects to merge.")
    box = _box_of(labels, ids)

    def edit(region: np.ndarray) -> None:
        region[np.isin(region, ids[1:])] = ids[0]

    return _edit(labels, origin, box, f"merge {ids} into {ids[0]}", edit)


def delete(
    labels: np.ndarray, ids: Sequence[int], origin: Sequence[int] = (0, 0, 0)
) -> LabelChange:
    """Set objects to background."""
    ids = sorted({int(i) for i in ids if i})
    box = _box_of(labels, ids)

    def edit(region: np.ndarray) -> None:
        region[np.isin(region, ids)] = 0

    return _edit(labels, origin, box, f"delete {ids}", edit)


def relabel(
    labels: np.ndarray, old: int, new: int, origin: Sequence[int] = (0, 0, 0)
) -> LabelChange:
    """Give object ``old`` the id ``new`` (which must be unused: use merge to join)."""
    if new <= 0:
        raise ProofreadError("the new id must be a positive number.")
    if np.any(labels == new):
        raise ProofreadError(f"id {new} is already in use; merge the objects instead.")
    box = _box_of(labels, [old])

    def edit(region: np.ndarray) -> None:
        region[region == old] = new

    return _edit(labels, origin, box, f"relabel {old} as {new}", edit)


def split(
    labels: np.ndarray,
    obj: int,
    seeds: Sequence[Sequence[Sequence[int]]],
    image: np.ndarray | None = None,
    voxel_size: Sequence[float] = (1.0, 1.0, 1.0),
    origin: Sequence[int] = (0, 0, 0),
) -> LabelChange:
    """Split object ``obj`` by seeds drawn by the user.

    ``seeds``: one list of voxel positions (block coordinates z, y, x) per part, at least two.
    The object is flooded from the seeds over ``image`` (e.g. the boundary map or the EM image,
    low values flood first) or, without it, over its negated distance transform. The first part
    keeps ``obj``; the others get new ids above the block's largest.
    """
    parts = [list(s) for s in seeds if len(s)]
    if len(parts) < 2:
        raise ProofreadError("draw seeds for at least two parts to split an object.")
    box = _box_of(labels, [obj])
    start = np.array([s.start for s in box])
    mask = labels[box] == obj
    markers = np.zeros(mask.shape, np.int32)
    for part, points in enumerate(parts, start=1):
        for point in points:
            local = tuple(int(p) - int(s) for p, s in zip(point, start, strict=True))
            inside = all(0 <= v < n for v, n in zip(local, mask.shape, strict=True))
            if not inside or not mask[local]:
                raise ProofreadError(f"seed {tuple(point)} lies outside object {obj}.")
            markers[local] = part
    if image is None:
        flood = -ndimage.distance_transform_edt(np.pad(mask, 1), sampling=voxel_size)[
            1:-1, 1:-1, 1:-1
        ]
    else:
        flood = image[box]
    parts_found = watershed(flood, markers, mask=mask, connectivity=1)
    first_new = next_free_id(labels)
    ids = [obj, *range(first_new, first_new + len(parts) - 1)]

    def edit(region: np.ndarray) -> None:
        for part, new in enumerate(ids, start=1):
            region[parts_found == part] = new

    return _edit(labels, origin, box, f"split {obj} into {ids}", edit)


def connected_pieces(labels: np.ndarray, obj: int) -> int:
    """How many 6-connected pieces object ``obj`` has in this block (a check after edits)."""
    return int(ndimage.label(labels == obj, STRUCTURE)[1])


def save_version(
    project: Project,
    segmentation: str,
    changes: Sequence[LabelChange],
    name: str,
    job_id: str | None = None,
    progress: Progress = no_progress,
) -> VolumeRecord:
    """Write ``segmentation`` with ``changes`` applied (in order) as a new volume ``name``."""
    check_new_name(project, name)
    source = project.catalog.volume(segmentation)
    volume = Volume(project.resolve(source.path))
    largest = max((int(c.after.max(initial=0)) for c in changes), default=0)
    dtype = np.dtype(source.dtype)
    if largest > np.iinfo(dtype).max:
        dtype = np.dtype(np.uint64)
    record = VolumeRecord(
        id=uuid.uuid4().hex,
        name=name,
        kind="segmentation",
        path="",
        shape=volume.shape,
        dtype=dtype.name,
        voxel_size=volume.voxel_size,
        chunks=(0, 0, 0),
        levels=0,
        source=f"proofread from {source.name!r}",
        image_id=source.image_id,
        attrs={**source.attrs, "proofread_from": source.name, "edits": len(changes)},
        provenance=provenance.record(
            "proofread",
            job_id=job_id,
            params={"edits": [c.description for c in changes]},
            inputs=[{"volume": source.name, "id": source.id}],
        ),
    )
    path = project.staging_path()
    try:
        with VolumeWriter(
            path, volume.shape, dtype, volume.voxel_size, "segmentation", name
        ) as writer:
            step = writer.slab_planes
            for z0 in range(0, volume.shape[0], step):
                z1 = min(z0 + step, volume.shape[0])
                slab = volume.read(z0, z1).astype(dtype)
                for change in changes:
                    _apply_to_slab(slab, z0, z1, change)
                writer.write_slab(z0, slab)
                progress(z1, volume.shape[0], "writing the proofread version")
            writer.finalize({"source": record.source})
            record.chunks, record.levels = tuple(writer.chunks), len(writer.arrays)
        return project.commit_volume(path, record)
    finally:
        atomic.remove_tree(path)


def _apply_to_slab(slab: np.ndarray, z0: int, z1: int, change: LabelChange) -> None:
    bz = change.box[0]
    lo, hi = max(bz.start, z0), min(bz.stop, z1)
    if lo >= hi:
        return
    target = (slice(lo - z0, hi - z0), *change.box[1:])
    slab[target] = change.after[lo - bz.start : hi - bz.start]
