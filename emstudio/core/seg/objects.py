"""The objects of a stored label volume: id, voxel count and bounding box, found blockwise;
and grouping of boxes so that nearby objects are read together."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from emstudio.core.progress import Progress, no_progress
from emstudio.core.seg.components import block_count, iter_blocks
from emstudio.core.seg.instances import Box
from emstudio.core.seg.workers import IN_PROCESS, WorkerPool, sendable, worker_count

BYTES_PER_SCAN_VOXEL = 16  # a block (uint32) and its int64 ids
DENSE_IDS = 2**24  # above this largest id a block's ids are compacted before find_objects


@dataclass
class ObjectBoxes:
    """Objects sorted by id: ``lo``/``hi`` bounding boxes (hi exclusive), voxel ``count``."""

    ids: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    count: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def box(self, index: int) -> Box:
        return tuple(
            slice(int(a), int(b)) for a, b in zip(self.lo[index], self.hi[index], strict=True)
        )

    def select(self, ids: Sequence[int]) -> ObjectBoxes:
        keep = np.isin(self.ids, np.asarray(list(ids), dtype=self.ids.dtype))
        return self.select_indices(np.flatnonzero(keep))

    def select_indices(self, indices: np.ndarray) -> ObjectBoxes:
        """The objects at these positions, in this order."""
        return ObjectBoxes(
            self.ids[indices], self.lo[indices], self.hi[indices], self.count[indices]
        )


def _block_boxes(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    top = int(block.max(initial=0))
    if top == 0:
        empty = np.zeros((0, 3), np.int64)
        return np.zeros(0, np.int64), empty, empty, np.zeros(0, np.int64)
    if top > DENSE_IDS:
        ids, local = np.unique(block, return_inverse=True)
        local = local.reshape(block.shape).astype(np.int64)
    else:
        ids, local = np.arange(top + 1), block.astype(np.int64, copy=False)
    found = ndimage.find_objects(local)
    counts = np.bincount(local.ravel(), minlength=len(found) + 1)
    present = [i for i, f in enumerate(found, start=1) if f is not None]
    lo = np.array([[s.start for s in found[i - 1]] for i in present], np.int64)
    hi = np.array([[s.stop for s in found[i - 1]] for i in present], np.int64)
    return ids[present].astype(np.int64), lo, hi, counts[present].astype(np.int64)


def scan_workers(shape: tuple[int, ...], block: tuple[int, int, int], requested: int | None) -> int:
    """Processes for scanning a volume of ``shape`` for its objects (``object_boxes``)."""
    bytes_per_block = int(np.prod(block)) * BYTES_PER_SCAN_VOXEL
    return worker_count(bytes_per_block, block_count(shape, block), requested, int(np.prod(shape)))


def group_workers(
    lo: np.ndarray,
    hi: np.ndarray,
    groups: Sequence[np.ndarray],
    bytes_per_voxel: int,
    requested: int | None,
    pool: WorkerPool,
) -> int:
    """Tasks to run at once in ``pool`` (``WorkerPool.tasks_at_once``) on ``groups`` (from
    ``group_boxes``) of the boxes ``lo``/``hi``, one group's crop per task."""
    regions = [int(np.prod(hi[g].max(0) - lo[g].min(0))) for g in groups]
    need = max(regions, default=0) * bytes_per_voxel
    return pool.tasks_at_once(need, len(groups), requested, sum(regions))


def box_task(labels, box: Box) -> tuple[np.ndarray, ...]:
    """Worker task: the objects of one block (given whole with ``box`` None, or as a sendable
    source and its box), in block coordinates."""
    block = np.asarray(labels if box is None else labels[box])
    return _block_boxes(block)


def object_boxes(
    labels,
    block: tuple[int, int, int],
    progress: Progress = no_progress,
    pool: WorkerPool = IN_PROCESS,
) -> ObjectBoxes:
    """Scan a label array (zarr or numpy) block by block; memory: one block per worker + the
    table. A ``pool`` scans blocks in parallel, reading them itself where it can."""
    parts: list[tuple[np.ndarray, ...]] = []
    blocks = [box for _, box in iter_blocks(tuple(labels.shape), block)]
    remote = pool.workers > 1 and sendable(labels)
    tasks = ((labels, box) if remote else (labels[box], None) for box in blocks)
    for done, (box, found) in enumerate(zip(blocks, pool.map(box_task, tasks), strict=True)):
        ids, lo, hi, count = found
        start = np.array([s.start for s in box], np.int64)
        parts.append((ids, lo + start, hi + start, count))
        progress(done + 1, len(blocks), f"finding objects {done + 1}/{len(blocks)}")
    return merged_boxes(*(np.concatenate(field) for field in zip(*parts, strict=True)))[0]


def merged_boxes(
    ids: np.ndarray, lo: np.ndarray, hi: np.ndarray, count: np.ndarray
) -> tuple[ObjectBoxes, np.ndarray]:
    """Parts of objects (one row each: an object's id, and its box [lo, hi) and voxel count in
    one block) merged into one row per object, ids ascending; and the row each part went to."""
    unique, inverse = np.unique(ids, return_inverse=True)
    merged_lo = np.full((len(unique), 3), np.iinfo(np.int64).max, np.int64)
    merged_hi = np.zeros((len(unique), 3), np.int64)
    np.minimum.at(merged_lo, inverse, lo)
    np.maximum.at(merged_hi, inverse, hi)
    merged_count = np.bincount(inverse, weights=count, minlength=len(unique)).astype(np.int64)
    return ObjectBoxes(unique.astype(np.int64), merged_lo, merged_hi, merged_count), inverse


def group_boxes(
    lo: np.ndarray, hi: np.ndarray, block: Sequence[int], max_voxels: int
) -> Iterator[list[int]]:
    """Indices grouped by the block their box starts in; a group whose union box exceeds
    ``max_voxels`` is split into single objects (which may themselves exceed it)."""
    owners: dict[tuple[int, ...], list[int]] = {}
    for index in range(len(lo)):
        owners.setdefault(tuple((lo[index] // np.asarray(block)).tolist()), []).append(index)
    for members in owners.values():
        box = hi[members].max(0) - lo[members].min(0)
        if int(np.prod(box)) <= max_voxels:
            yield members
        else:
            yield from ([m] for m in members)
