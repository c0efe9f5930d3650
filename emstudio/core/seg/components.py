"""Connected components of a volume larger than memory: label each block on its own, join the
labels that touch across block faces (union-find as graph components), keep per-component
statistics. Components come out numbered in raster order of their first voxel, as
``instances.label`` numbers them in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from emstudio.core.progress import Progress, no_progress
from emstudio.core.seg.instances import Box, label
from emstudio.core.seg.scratch import ScratchArray
from emstudio.core.seg.workers import IN_PROCESS, WorkerPool, sendable

ReadMask = Callable[[Box], np.ndarray]


def iter_blocks(
    shape: tuple[int, ...], block: tuple[int, ...], origin: tuple[int, ...] = (0, 0, 0)
) -> Iterator[tuple[tuple[int, int, int], Box]]:
    """(block index, box) over ``shape`` (offset by ``origin``), z-major order."""
    counts = [-(-s // b) for s, b in zip(shape, block, strict=True)]
    for index in np.ndindex(*counts):
        box = tuple(
            slice(o + i * b, o + min((i + 1) * b, s))
            for o, i, b, s in zip(origin, index, block, shape, strict=True)
        )
        yield tuple(int(i) for i in index), box


def block_count(shape: tuple[int, ...], block: tuple[int, ...]) -> int:
    return int(np.prod([-(-s // b) for s, b in zip(shape, block, strict=True)]))


@dataclass
class Components:
    """Per component (index c = id - 1): voxel count, bounding box [lo, hi) and first voxel.

    ``raw_to_id`` maps the provisional per-block ids (as written to ``raw`` when given) to
    component ids.
    """

    count: np.ndarray  # (n,) int64
    lo: np.ndarray  # (n, 3) int64, global coordinates
    hi: np.ndarray  # (n, 3) int64, exclusive
    first: np.ndarray  # (n, 3) int64
    raw_to_id: np.ndarray  # (n_raw + 1,) int64, 0 -> 0

    def __len__(self) -> int:
        return len(self.count)

    def box(self, index: int) -> Box:
        return tuple(
            slice(int(a), int(b)) for a, b in zip(self.lo[index], self.hi[index], strict=True)
        )

    def voxels(self, index: int) -> int:
        return int(np.prod(self.hi[index] - self.lo[index]))


@dataclass
class BlockLabels:
    """One block's components (block-local ids 1..n): statistics in global coordinates, the
    labels on the block's first and last plane along each axis, and the labels if asked."""

    n: int
    count: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    first: np.ndarray
    low_faces: list[np.ndarray]
    high_faces: list[np.ndarray]
    labels: np.ndarray | None


@dataclass(frozen=True)
class Above:
    """The mask ``source[box] > threshold`` (picklable; a worker can read a sendable source)."""

    source: Any
    threshold: float

    def __call__(self, box: Box) -> np.ndarray:
        return np.asarray(self.source[box]) > self.threshold


def component_stats(labels: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """(voxel count, bounding box lo and exclusive hi, first voxel in raster order) of each of
    the components 1..n of ``labels``, as int64 arrays, from one stable sort of the labelled
    voxels. Components fill a small share of a block, so this is 1.9x faster than
    ``find_objects``, ``bincount`` and a unique pass over a 64 x 512 x 512 block of
    mitochondria (117 against 225 ms; labelling the block took 170 instead of 275 ms).
    Coordinates are worked out one axis at a time: on a block 60 % foreground this peaks at
    14 instead of 42 bytes a voxel (all three at once), and takes 0.67 instead of 1.6 s.
    ``mask``: ``labels > 0``, when at hand: its voxels are found 10x faster than the labels'
    (1 byte a voxel, not 4: 0.8 instead of 9 ms for a 32 x 256 x 512 block)."""
    flat = labels.ravel()
    where = np.flatnonzero(flat if mask is None else mask.ravel())
    where = where[np.argsort(flat[where], kind="stable")]  # by id; raster order within an id
    ids = flat[where]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else where[:0]
    count = np.diff(np.r_[starts, len(ids)]).astype(np.int64)
    del ids
    lo, hi, first = (np.empty((len(starts), 3), np.int64) for _ in range(3))
    if not len(starts):
        return count, lo, hi, first
    steps = (labels.shape[1] * labels.shape[2], labels.shape[2], 1)  # C order
    for axis, (step, size) in enumerate(zip(steps, labels.shape, strict=True)):
        index = where // step
        index %= size
        lo[:, axis] = np.minimum.reduceat(index, starts)
        hi[:, axis] = np.maximum.reduceat(index, starts) + 1
        first[:, axis] = index[starts]
    return count, lo, hi, first


def label_block(mask: np.ndarray | ReadMask, box: Box, keep_labels: bool) -> BlockLabels:
    """Components of one block, given its mask or a reader of it (pure: runs in a worker)."""
    if callable(mask):
        mask = mask(box)
    start = np.array([s.start for s in box], np.int64)
    labels, n = label(mask)
    count, lo, hi, first = component_stats(labels, mask)
    lo, hi, first = lo + start, hi + start, first + start
    low = [np.take(labels, 0, axis=axis) for axis in range(3)]
    high = [np.take(labels, -1, axis=axis) for axis in range(3)]
    return BlockLabels(n, count, lo, hi, first, low, high, labels if keep_labels else None)


def label_components(
    read_mask: ReadMask,
    shape: tuple[int, int, int],
    block: tuple[int, int, int],
    origin: tuple[int, int, int] = (0, 0, 0),
    raw: ScratchArray | None = None,
    progress: Progress = no_progress,
    pool: WorkerPool = IN_PROCESS,
) -> Components:
    """Components of the mask inside ``origin + [0, shape)``; memory: a block per worker.

    ``raw``, if given, receives the provisional per-block ids for a later pass (widened when
    they outgrow its type). A ``pool`` of several workers labels blocks in parallel (reading
    their blocks themselves when ``read_mask`` is an ``Above`` of a sendable source).
    """
    faces: dict[tuple[int, tuple[int, int, int]], np.ndarray] = {}
    pairs: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    los: list[np.ndarray] = []
    his: list[np.ndarray] = []
    firsts: list[np.ndarray] = []
    offset = 0
    blocks = list(iter_blocks(shape, block, origin))
    remote = pool.workers > 1 and sendable(getattr(read_mask, "source", None))
    tasks = ((read_mask if remote else read_mask(box), box, raw is not None) for _, box in blocks)
    results = pool.map(label_block, tasks)
    for done, ((index, box), found) in enumerate(zip(blocks, results, strict=True)):
        if found.n:
            counts.append(found.count)
            los.append(found.lo)
            his.append(found.hi)
            firsts.append(found.first)
        for axis in range(3):
            if index[axis] > 0:
                before = list(index)
                before[axis] -= 1
                low = _global(found.low_faces[axis], offset)
                high = faces.pop((axis, tuple(before)))
                touching = (low > 0) & (high > 0)
                if touching.any():
                    pairs.append(np.unique(np.stack([low[touching], high[touching]], 1), axis=0))
            faces[(axis, index)] = _global(found.high_faces[axis], offset)
        if raw is not None:
            raw.ensure_holds(offset + found.n)
            raw[box] = _global(found.labels, offset).astype(raw.dtype, copy=False)
        offset += found.n
        progress(done + 1, len(blocks), f"labelling block {done + 1}/{len(blocks)}")
    return _join(offset, pairs, counts, los, his, firsts, shape, origin)


def _global(labels: np.ndarray, offset: int) -> np.ndarray:
    """Block-local labels as provisional volume-wide ids (0 stays 0)."""
    ids = labels.astype(np.uint64)
    ids[labels > 0] += np.uint64(offset)
    return ids


def _join(n_raw, pairs, counts, los, his, firsts, shape, origin) -> Components:
    if n_raw == 0:
        empty = np.zeros((0, 3), np.int64)
        return Components(np.zeros(0, np.int64), empty, empty, empty, np.zeros(1, np.int64))
    edges = np.concatenate(pairs) if pairs else np.zeros((0, 2), np.uint64)
    edges = edges.astype(np.int64) - 1
    graph = sparse.coo_matrix(
        (np.ones(len(edges), np.int8), (edges[:, 0], edges[:, 1])), shape=(n_raw, n_raw)
    )
    n, group = connected_components(graph, directed=False)
    count = np.bincount(group, weights=np.concatenate(counts), minlength=n).astype(np.int64)
    lo = np.full((n, 3), np.iinfo(np.int64).max, np.int64)
    hi = np.zeros((n, 3), np.int64)
    np.minimum.at(lo, group, np.concatenate(los))
    np.maximum.at(hi, group, np.concatenate(his))
    rel = np.concatenate(firsts) - np.asarray(origin)
    raster = np.ravel_multi_index(tuple(rel.T), shape)
    first_raster = np.full(n, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_raster, group, raster)
    order = np.argsort(first_raster, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    first = np.stack(np.unravel_index(first_raster[order], shape), 1) + np.asarray(origin)
    raw_to_id = np.concatenate([[0], rank[group] + 1]).astype(np.int64)
    return Components(count[order], lo[order], hi[order], first.astype(np.int64), raw_to_id)
