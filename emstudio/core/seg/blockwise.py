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

Steps 1 and 2 run in worker processes (``workers.py``) when there are several blocks or
groups; this process reads the crops and writes the results in order, so the labels do not
depend on the number of workers. Provisional labels live in a scratch array (``scratch.py``,
in the ``scratch`` folder, removed by the caller).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.seg import instances
from emstudio.core.seg.components import (
    Above,
    Components,
    block_count,
    iter_blocks,
    label_components,
)
from emstudio.core.seg.instances import Box
from emstudio.core.seg.objects import group_boxes
from emstudio.core.seg.params import InstanceParams
from emstudio.core.seg.scratch import ScratchArray
from emstudio.core.seg.workers import WorkerPool, cpu_count, sendable, worker_count

DEFAULT_BLOCK = (64, 512, 512)
DEFAULT_CROP_VOXELS = 32 * 2**20  # largest box flooded at once
BYTES_PER_CROP_VOXEL = 40  # flooding one component's box: float image, labels, masks, heap
BYTES_PER_REGION_VOXEL = 10  # a group's crops (2 maps), foreground, its labels, in transit
BYTES_PER_LABEL_VOXEL = 16  # labelling a block: mask, int32 labels, statistics, in transit
DEFAULT_HALO = (8, 64, 64)
SCRATCH_CHUNKS = (16, 256, 256)
SCRATCH_DTYPE = np.uint32  # provisional ids: widened only if their count outgrows it


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

    labels: ScratchArray
    lut: np.ndarray
    n_objects: int

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint32 if self.n_objects < 2**32 - 1 else np.uint64)

    def iter_slabs(self, planes: int) -> Iterator[tuple[int, np.ndarray]]:
        """(z0, final labels) in z order, ``planes`` at a time (looked up plane by plane in
        threads: ``np.take`` releases the GIL; "clip" changes nothing, as the table covers
        every provisional id, but spares the bounds check and a buffered copy of the output)."""
        depth = self.labels.shape[0]
        lut = self.lut.astype(self.dtype)
        with ThreadPoolExecutor(cpu_count(), thread_name_prefix="relabel") as threads:
            for z0 in range(0, depth, planes):
                raw = np.asarray(self.labels[z0 : min(z0 + planes, depth)])
                out = np.empty(raw.shape, lut.dtype)
                list(threads.map(np.take, repeat(lut), raw, repeat(None), out, repeat("clip")))
                yield z0, out

    def read_all(self) -> np.ndarray:
        return np.concatenate([s for _, s in self.iter_slabs(self.labels.shape[0])])


def scratch_array(folder: Path, name: str, shape: tuple[int, ...]) -> ScratchArray:
    """A provisional-id array: ``SCRATCH_DTYPE`` (uint32), widened to uint64 by its writers
    before an id outgrows it (``ensure_holds``)."""
    return ScratchArray(Path(folder) / name, shape, SCRATCH_CHUNKS, SCRATCH_DTYPE)


@dataclass
class Flooded:
    """One component's objects (int32 1..k in its box), their first voxels (flat index in the
    box) and voxel counts."""

    objects: np.ndarray
    ids: np.ndarray
    firsts: np.ndarray
    counts: np.ndarray


def flood_crop(
    area: Any,
    boundary: Any,
    region: Box,
    boxes: list[Box],
    firsts: list[tuple[int, int, int]],
    params: InstanceParams,
    voxel_size: tuple[float, float, float],
) -> list[Flooded]:
    """Objects of the components (box and first voxel in the crop) of one crop (pure).

    ``area``, ``boundary``: the crops of ``region``, or sendable sources to read each box
    from. Each component is taken from the foreground of its own box (where it is whole), as
    the in-memory path does.
    """

    def crop(source: Any, box: Box) -> np.ndarray:
        if isinstance(source, np.ndarray):
            return source[box]
        return source[_relative(box, [-r.start for r in region])]

    found = []
    for box, first in zip(boxes, firsts, strict=True):
        area_box, boundary_box = crop(area, box), crop(boundary, box)
        labels, _ = instances.label(instances.foreground(area_box, params))
        mask = labels == labels[tuple(f - s.start for f, s in zip(first, box, strict=True))]
        objects = instances.segment_component(area_box, boundary_box, mask, params, voxel_size)
        ids, flat = instances.first_voxels(objects)
        counts = np.bincount(objects.ravel(), minlength=int(ids.max(initial=0)) + 1)[ids]
        found.append(Flooded(objects, ids, flat, counts))
    return found


def _relative(box: Box, origin: np.ndarray) -> Box:
    return tuple(slice(s.start - o, s.stop - o) for s, o in zip(box, origin, strict=True))


def _meet(a: Box, b: Box) -> Box | None:
    """Where two boxes overlap, or None."""
    box = tuple(
        slice(max(p.start, q.start), min(p.stop, q.stop)) for p, q in zip(a, b, strict=True)
    )
    return box if all(s.stop > s.start for s in box) else None


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
    def group_task(self, comps: Components, members: list[int]) -> tuple:
        """The arguments of ``flood_crop`` for a group (its crops are read here)."""
        lo, hi = comps.lo[members].min(0), comps.hi[members].max(0)
        region = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        boxes = [_relative(comps.box(i), lo) for i in members]
        firsts = [tuple(int(v) for v in comps.first[i] - lo) for i in members]
        maps = [m if sendable(m) else np.asarray(m[region]) for m in (self.area, self.boundary)]
        return *maps, region, boxes, firsts, self.params, self.voxel_size

    def write_group(self, comps: Components, members: list[int], found: list[Flooded]) -> None:
        """Give the group's objects provisional ids, in member order, into the scratch array
        (only the chunks their boxes meet are read and written, each once)."""
        placed: list[tuple[Box, np.ndarray, int]] = []
        for index, flooded in zip(members, found, strict=True):
            if not len(flooded.ids):
                continue
            placed.append((comps.box(index), flooded.objects, self.next_id - 1))
            rel = np.stack(np.unravel_index(flooded.firsts, flooded.objects.shape), 1)
            raster = np.ravel_multi_index(tuple((rel + comps.lo[index]).T), self.shape)
            self.table.add(flooded.ids.astype(np.int64) + self.next_id - 1, flooded.counts, raster)
            self.next_id += int(flooded.ids.max())
        self.out.ensure_holds(self.next_id - 1)

        def place(chunk: Box, data: np.ndarray) -> None:
            # in member order; a component's own voxels are still 0 (others write their
            # voxels or holes only)
            for box, objects, offset in placed:
                meet = _meet(box, chunk)
                if meet is None:
                    continue
                source = objects[_relative(meet, [s.start for s in box])]
                target = data[_relative(meet, [s.start for s in chunk])]
                writable = (source > 0) & (target == 0)
                target[writable] = source[writable].astype(data.dtype) + data.dtype.type(offset)

        self.out.update([box for box, _, _ in placed], place)

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
        self.out.ensure_holds(self.next_id - 1)
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
    workers: int | None = None,
) -> LabelResult:
    """Instance labels of arrays indexable by boxes (zarr arrays, numpy arrays).

    Memory is bounded by ``block`` and ``crop_voxels`` (per worker), whatever the volume size;
    ``workers``: processes to use (None: as many as the cores and memory allow).
    """
    shape = tuple(area.shape)
    blocks = block_count(shape, block)
    label_bytes = int(np.prod(block)) * BYTES_PER_LABEL_VOXEL
    with WorkerPool(worker_count(label_bytes, blocks, workers, int(np.prod(shape)))) as pool:
        comps = label_components(
            Above(area, instances.to_uint8_threshold(params.foreground_threshold)),
            shape,
            block,
            progress=scaled(progress, 0, 40, 100),
            pool=pool,
        )
        seg = _Segmenter(area, boundary, params, voxel_size, scratch, block, crop_voxels, halo)
        sizes = np.prod(comps.hi - comps.lo, axis=1) if len(comps) else np.zeros(0, np.int64)
        normal = sizes <= crop_voxels
        members = np.flatnonzero(normal)
        groups = [
            members[g].tolist()
            for g in group_boxes(comps.lo[members], comps.hi[members], block, crop_voxels)
        ]
        giants = np.flatnonzero(~normal).tolist()
        total = len(groups) + len(giants)
        step = scaled(progress, 40, 60, 100)
        regions = [np.prod(comps.hi[g].max(0) - comps.lo[g].min(0)) for g in groups]
        need = max(regions, default=0) * BYTES_PER_REGION_VOXEL
        need += int(sizes[normal].max(initial=0)) * BYTES_PER_CROP_VOXEL
        limit = pool.tasks_at_once(need, len(groups), workers, int(sum(regions)))
        tasks = (seg.group_task(comps, g) for g in groups)
        found = pool.map(flood_crop, tasks, limit)
        for done, (members, flooded) in enumerate(zip(groups, found, strict=True)):
            seg.write_group(comps, members, flooded)
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
    workers: int | None = None,
) -> LabelResult:
    """Semantic-only classes: connected components with the size filter, blockwise."""
    shape = tuple(probability.shape)
    raw = scratch_array(scratch, "components", shape)
    label_bytes = int(np.prod(block)) * BYTES_PER_LABEL_VOXEL
    count = worker_count(label_bytes, block_count(shape, block), workers, int(np.prod(shape)))
    with WorkerPool(count) as pool:
        comps = label_components(
            Above(probability, instances.to_uint8_threshold(threshold)),
            shape,
            block,
            raw=raw,
            progress=progress,
            pool=pool,
        )
    keep = comps.count >= max(min_voxels, 1)
    final = np.zeros(len(comps) + 1, np.uint64)
    final[1:][keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.uint64)
    return LabelResult(raw, final[comps.raw_to_id], int(keep.sum()))
