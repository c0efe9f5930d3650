"""Connected components of a volume larger than memory: label each block on its own, join the
labels that touch across block faces (union-find as graph components), keep per-component
statistics. Components come out numbered in raster order of their first voxel, as
``scipy.ndimage.label`` numbers them in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components

from emstudio.core.progress import Progress, no_progress
from emstudio.core.seg.instances import STRUCTURE, Box, first_voxels

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


def label_components(
    read_mask: ReadMask,
    shape: tuple[int, int, int],
    block: tuple[int, int, int],
    origin: tuple[int, int, int] = (0, 0, 0),
    raw: object | None = None,
    progress: Progress = no_progress,
) -> Components:
    """Components of the mask inside ``origin + [0, shape)``; memory: one block + faces.

    ``raw``, if given, is an array indexable like the volume (e.g. a scratch zarr array)
    that receives the provisional per-block ids for a later pass.
    """
    faces: dict[tuple[int, tuple[int, int, int]], np.ndarray] = {}
    pairs: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    los: list[np.ndarray] = []
    his: list[np.ndarray] = []
    firsts: list[np.ndarray] = []
    offset = 0
    total = block_count(shape, block)
    for done, (index, box) in enumerate(iter_blocks(shape, block, origin)):
        labels, n = ndimage.label(read_mask(box), STRUCTURE)
        start = np.array([s.start for s in box], np.int64)
        if n:
            found = ndimage.find_objects(labels)
            los.append(np.array([[s.start for s in f] for f in found], np.int64) + start)
            his.append(np.array([[s.stop for s in f] for f in found], np.int64) + start)
            counts.append(np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(np.int64))
            _, flat = first_voxels(labels)
            firsts.append(np.stack(np.unravel_index(flat, labels.shape), 1) + start)
        for axis in range(3):
            if index[axis] > 0:
                before = list(index)
                before[axis] -= 1
                low = _global(np.take(labels, 0, axis=axis), offset)
                high = faces.pop((axis, tuple(before)))
                touching = (low > 0) & (high > 0)
                if touching.any():
                    pairs.append(np.unique(np.stack([low[touching], high[touching]], 1), axis=0))
            faces[(axis, index)] = _global(np.take(labels, -1, axis=axis), offset)
        if raw is not None:
            raw[box] = _global(labels, offset).astype(raw.dtype, copy=False)
        offset += n
        progress(done + 1, total, f"labelling block {done + 1}/{total}")
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
