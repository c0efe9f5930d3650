"""Instance segmentation of volumes larger than memory, equal to the in-memory result.

1. Foreground components over the whole volume, blockwise (``components.py``): only
   per-component statistics are kept (bounding box, first voxel).
2. Each component is flooded in its bounding box with ``instances.segment_component`` -- the
   very function the in-memory path uses, on the very same crop -- so the labels are identical.
   Components are read in groups (those whose box starts in one block) to keep reads few.
3. A component whose box exceeds the memory budget (a foreground network spanning the volume)
   is flooded block by block with a halo, from seeds labelled over its whole box: ids agree
   across seams; voxels whose flooding path leaves the halo may differ from a global flood,
   and holes are not filled there. Its id is the seed's.
4. Objects are renumbered 1..N in raster order of their first voxel (as in memory) while the
   final volume is streamed out slab by slab.

Provisional labels live in a scratch zarr array (``scratch`` folder, removed by the caller).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numcodecs
import numpy as np
import zarr

from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.seg import instances
from emstudio.core.seg.components import Components, iter_blocks, label_components
from emstudio.core.seg.instances import Box
from emstudio.core.seg.objects import group_boxes
from emstudio.core.seg.params import InstanceParams

DEFAULT_BLOCK = (64, 512, 512)
DEFAULT_CROP_VOXELS = 32 * 2**20  # largest box flooded at once (~40 bytes per voxel at peak)
DEFAULT_HALO = (8, 64, 64)
SCRATCH_CHUNKS = (16, 256, 256)


@dataclass
class ObjectTable:
    """Provisional object ids -> voxel count and raster index of the first voxel."""

    count: dict[int, int] = field(default_factory=dict)
    first: dict[int, int] = field(default_factory=dict)

    def add(self, ids: np.ndarray, counts: np.ndarray, firsts: np.ndarray) -> None:
        for i, c, f in zip(ids.tolist(), counts.tolist(), firsts.tolist(), strict=True):
            self.count[i] = self.count.get(i, 0) + c
            self.first[i] = min(self.first.get(i, f), f)


@dataclass
class LabelResult:
    """Provisional labels on disk plus the lookup table to the final ids."""

    labels: zarr.Array
    lut: np.ndarray
    n_objects: int

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint32 if self.n_objects < 2**32 - 1 else np.uint64)

    def iter_slabs(self, planes: int) -> Iterator[tuple[int, np.ndarray]]:
        """(z0, final labels) in z order, ``planes`` at a time."""
        depth = self.labels.shape[0]
        lut = self.lut.astype(self.dtype)
        for z0 in range(0, depth, planes):
            yield z0, lut[np.asarray(self.labels[z0 : min(z0 + planes, depth)])]

    def read_all(self) -> np.ndarray:
        return np.concatenate([s for _, s in self.iter_slabs(self.labels.shape[0])])


def scratch_array(folder: Path, name: str, shape: tuple[int, ...]) -> zarr.Array:
    """A compressed provisional-id array: uint32 while ids cannot exceed it, else uint64."""
    chunks = tuple(min(c, s) for c, s in zip(SCRATCH_CHUNKS, shape, strict=True))
    dtype = np.uint32 if 2 * int(np.prod(shape)) < 2**32 else np.uint64
    return zarr.create_array(
        store=str(Path(folder) / f"{name}.zarr"),
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        fill_value=0,
        compressors=numcodecs.Blosc("zstd", 1, numcodecs.Blosc.BITSHUFFLE),
        zarr_format=2,
    )


def _relative(box: Box, origin: np.ndarray) -> Box:
    return tuple(slice(s.start - o, s.stop - o) for s, o in zip(box, origin, strict=True))


class _Segmenter:
    def __init__(self, area, boundary, params, voxel_size, scratch, block, crop_voxels, halo):
        self.area, self.boundary = area, boundary
        self.params, self.voxel_size = params, tuple(voxel_size)
        self.shape = tuple(area.shape)
        self.scratch = Path(scratch)
        self.block, self.crop_voxels, self.halo = block, crop_voxels, halo
        self.out = scratch_array(self.scratch, "objects", self.shape)
        self.table = ObjectTable()
        self.next_id = 1

    # -- normal components: one crop each, identical to the in-memory path --------------------
    def flood_group(self, comps: Components, members: list[int]) -> None:
        lo, hi = comps.lo[members].min(0), comps.hi[members].max(0)
        region = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        area = np.asarray(self.area[region])
        boundary = np.asarray(self.boundary[region])
        out = np.asarray(self.out[region])
        fg = instances.foreground(area, self.params)
        for index in members:
            box = _relative(comps.box(index), lo)
            first = tuple(
                int(f - o) for f, o in zip(comps.first[index], comps.lo[index], strict=True)
            )
            labels, _ = instances.ndimage.label(fg[box], instances.STRUCTURE)
            mask = labels == labels[first]
            objects = instances.segment_component(
                area[box], boundary[box], mask, self.params, self.voxel_size
            )
            n = int(objects.max(initial=0))
            if not n:
                continue
            target = out[box]
            writable = (objects > 0) & (mask | (target == 0))
            target[writable] = objects[writable] + (self.next_id - 1)
            ids, firsts = instances.first_voxels(objects)
            counts = np.bincount(objects.ravel(), minlength=n + 1)[ids]
            rel = np.stack(np.unravel_index(firsts, objects.shape), 1) + comps.lo[index]
            raster = np.ravel_multi_index(tuple(rel.T), self.shape)
            self.table.add(ids.astype(np.int64) + self.next_id - 1, counts, raster)
            self.next_id += n
        self.out[region] = out

    # -- components larger than the budget: halo blocks over their box ---------------------------
    def flood_giant(self, comps: Components, index: int) -> None:
        lo, hi = comps.lo[index], comps.hi[index]
        box_shape = tuple(int(v) for v in hi - lo)
        origin = tuple(int(v) for v in lo)
        params = self.params
        fg_raw = scratch_array(self.scratch, f"fg-{index}", self.shape)
        seed_raw = scratch_array(self.scratch, f"seeds-{index}", self.shape)
        fg = label_components(
            lambda b: instances.foreground(np.asarray(self.area[b]), params),
            box_shape,
            self.block,
            origin,
            raw=fg_raw,
        )
        sd = label_components(
            lambda b: instances.seeds(
                np.asarray(self.area[b]), np.asarray(self.boundary[b]), params
            ),
            box_shape,
            self.block,
            origin,
            raw=seed_raw,
        )
        first = tuple(int(v) for v in comps.first[index])
        own = fg.raw_to_id[int(fg_raw[first])]
        base = self.next_id
        self.next_id += len(sd)
        for _, core in iter_blocks(box_shape, self.block, origin):
            region = tuple(
                slice(max(c.start - h, int(a)), min(c.stop + h, int(b)))
                for c, h, a, b in zip(core, self.halo, lo, hi, strict=True)
            )
            mask = fg.raw_to_id[np.asarray(fg_raw[region]).astype(np.int64)] == own
            if not mask.any():
                continue
            markers = sd.raw_to_id[np.asarray(seed_raw[region]).astype(np.int64)] * mask
            image = instances.flood_image(
                np.asarray(self.boundary[region]), mask, params, self.voxel_size
            )
            labels = instances.watershed(image, markers, mask=mask, connectivity=1)
            inner = tuple(
                slice(c.start - r.start, c.stop - r.start)
                for c, r in zip(core, region, strict=True)
            )
            core_labels = labels[inner]
            target = np.asarray(self.out[core])
            keep = mask[inner] & (core_labels > 0)
            target[keep] = core_labels[keep] + (base - 1)
            self.out[core] = target
            ids, firsts = instances.first_voxels(np.where(keep, core_labels, 0))
            counts = np.bincount(core_labels[keep].ravel(), minlength=int(ids.max(initial=0)) + 1)
            rel = np.stack(np.unravel_index(firsts, core_labels.shape), 1)
            rel += np.array([c.start for c in core])
            raster = np.ravel_multi_index(tuple(rel.T), self.shape)
            self.table.add(ids.astype(np.int64) + base - 1, counts[ids], raster)

    def result(self, min_voxels: int) -> LabelResult:
        ids = np.array(sorted(self.table.count), np.int64)
        counts = np.array([self.table.count[i] for i in ids], np.int64)
        firsts = np.array([self.table.first[i] for i in ids], np.int64)
        keep = counts >= max(min_voxels, 1)
        ids, firsts = ids[keep], firsts[keep]
        lut = np.zeros(self.next_id, np.uint64)
        lut[ids[np.argsort(firsts, kind="stable")]] = np.arange(1, len(ids) + 1, dtype=np.uint64)
        return LabelResult(self.out, lut, len(ids))


def segment_blockwise(
    area,
    boundary,
    params: InstanceParams,
    voxel_size: tuple[float, float, float],
    scratch: Path,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    crop_voxels: int = DEFAULT_CROP_VOXELS,
    halo: tuple[int, int, int] = DEFAULT_HALO,
    progress: Progress = no_progress,
) -> LabelResult:
    """Instance labels of arrays indexable by boxes (zarr arrays, numpy arrays).

    Memory is bounded by ``block`` and ``crop_voxels``, whatever the volume size.
    """
    shape = tuple(area.shape)
    comps = label_components(
        lambda b: instances.foreground(np.asarray(area[b]), params),
        shape,
        block,
        progress=scaled(progress, 0, 40, 100),
    )
    seg = _Segmenter(area, boundary, params, voxel_size, scratch, block, crop_voxels, halo)
    sizes = np.prod(comps.hi - comps.lo, axis=1) if len(comps) else np.zeros(0)
    normal = sizes <= crop_voxels
    members = np.flatnonzero(normal)
    groups = [
        members[g].tolist()
        for g in group_boxes(comps.lo[members], comps.hi[members], block, crop_voxels)
    ]
    giants = np.flatnonzero(~normal).tolist()
    total = len(groups) + len(giants)
    step = scaled(progress, 40, 60, 100)
    for done, members in enumerate(groups):
        seg.flood_group(comps, members)
        step(done + 1, total, f"flooding component group {done + 1}/{len(groups)}")
    for done, index in enumerate(giants):
        seg.flood_giant(comps, index)
        step(len(groups) + done + 1, total, f"flooding large component {done + 1}")
    return seg.result(params.min_voxels(tuple(voxel_size)))


def components_blockwise(
    probability,
    threshold: float,
    min_voxels: int,
    scratch: Path,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    progress: Progress = no_progress,
) -> LabelResult:
    """Semantic-only classes: connected components with the size filter, blockwise."""
    shape = tuple(probability.shape)
    raw = scratch_array(scratch, "components", shape)
    comps = label_components(
        lambda b: np.asarray(probability[b]) > instances.to_uint8_threshold(threshold),
        shape,
        block,
        raw=raw,
        progress=progress,
    )
    keep = comps.count >= max(min_voxels, 1)
    final = np.zeros(len(comps) + 1, np.uint64)
    final[1:][keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.uint64)
    return LabelResult(raw, final[comps.raw_to_id], int(keep.sum()))
