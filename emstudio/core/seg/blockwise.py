"""Instance segmentation of volumes larger than memory, equal to the in-memory result.

1. Foreground components over the whole volume, blockwise (``components.py``): only
   per-component statistics are kept (bounding box, first voxel).
2. Each component is flooded in its bounding box with ``instances.segment_component`` -- the
   very function the in-memory path uses, on the very same crop -- so the labels are identical.
   Components are read in groups (those whose box starts in one block) to keep reads few; the
   worker that floods a group stores its objects, and they are put in place only when a box of
   labels is read (``placed.py``).
3. A component whose box exceeds the memory budget (a foreground network spanning the volume)
   is flooded block by block with a halo, from seeds labelled over its whole box: ids agree
   across seams; voxels whose flooding path leaves the halo may differ from a global flood,
   and holes are not filled there. Its id is the seed's.
4. Objects are renumbered 1..N in raster order of their first voxel (as in memory) through a
   lookup table, applied box by box as the final volume is written (``labelwrite.py``).

Steps 1 and 2 run in worker processes (``workers.py``) when there are several blocks or
groups; this process hands out the tasks and numbers the objects in task order, so the labels
do not depend on the number of workers. Provisional labels live in the ``scratch`` folder
(``scratch.py``, the group files; removed by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

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
from emstudio.core.seg.objects import ObjectBoxes, group_boxes, merged_boxes
from emstudio.core.seg.params import InstanceParams
from emstudio.core.seg.placed import Placement, store_objects
from emstudio.core.seg.scratch import ScratchArray
from emstudio.core.seg.workers import WorkerPool, pool_or_own, sendable, worker_count

# blocks labelled at once, and the blocks whose components are flooded as one group: smaller
# than (64, 512, 512), they let a 16-core machine's memory budget hold 16 labelling processes
# instead of 8, which then flood and write without starting again (at 256 x 1024 x 2048, 512
# groups to share out instead of 128; processor time the same within 2 %)
DEFAULT_BLOCK = (32, 256, 512)
DEFAULT_CROP_VOXELS = 32 * 2**20  # largest box flooded at once
# flooding one component's box: float image, labels, masks, heap (a 100 x 300 x 300 component
# of six objects: 45 bytes a voxel)
BYTES_PER_CROP_VOXEL = 48
# a group's crops of the 2 maps: read and sent by this process (pickled and copied), or read
# by the worker itself (uint8 maps). A worker once read each component's box on its own: the
# boxes of a group overlap the same chunks, which were decoded 5x over (7,090 reads of 14,000
# chunks for 256 x 1024 x 2048 instead of 64 of 2,100 chunks; 2 s of 30 processor seconds)
BYTES_PER_REGION_VOXEL = 10
BYTES_PER_READ_REGION_VOXEL = 2
OBJECT_BYTES = 4  # a flooded component's objects (int32) in its box
# labelling a block: the map read, its mask, uint32 labels (6 bytes a voxel) and statistics of
# ~28 bytes a foreground voxel (``component_stats``): 16 holds up to about a third foreground
BYTES_PER_LABEL_VOXEL = 16
DEFAULT_HALO = (8, 64, 64)
SCRATCH_CHUNKS = (16, 256, 256)
SCRATCH_DTYPE = np.uint32  # provisional ids: widened only if their count outgrows it


@dataclass
class ObjectTable:
    """Provisional object ids -> voxel count, raster index of the first voxel and bounding box,
    gathered from parts (an object flooded block by block has one part per block)."""

    parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def add(
        self,
        ids: np.ndarray,
        counts: np.ndarray,
        firsts: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
    ) -> None:
        """Parts of objects ``ids``: their voxel counts, first voxels and boxes [lo, hi)."""
        self.parts.append((ids.astype(np.int64), counts, firsts, lo, hi))

    def merged(self) -> tuple[ObjectBoxes, np.ndarray]:
        """Each object's box and count (ids ascending), and its first voxel."""
        if not self.parts:
            none = np.zeros(0, np.int64)
            return ObjectBoxes(none, none.reshape(0, 3), none.reshape(0, 3), none), none
        ids, counts, firsts, lo, hi = (np.concatenate(c) for c in zip(*self.parts, strict=True))
        objects, inverse = merged_boxes(ids, lo, hi, counts)
        first = np.full(len(objects), np.iinfo(np.int64).max, np.int64)
        np.minimum.at(first, inverse, firsts)
        return objects, first


@dataclass
class Provisional:
    """Provisional ids: those written into ``labels`` (component labels, components flooded
    block by block) over the objects in ``placed`` (components flooded whole)."""

    labels: ScratchArray
    placed: Placement
    dtype: np.dtype

    def within(self, box: Box) -> Provisional:
        """The same ids, for reading ``box`` only (small to send to a worker)."""
        return Provisional(self.labels, self.placed.within(box), self.dtype)

    def read(self, box: Box, lut: np.ndarray | None = None) -> np.ndarray:
        """The provisional ids of ``box``, or with ``lut`` the final ids they map to (looked
        up object by object: a lookup over the whole box, mostly background, took a quarter
        of the time of writing a segmentation)."""
        written = self.labels[box]
        out = np.zeros(written.shape, self.dtype if lut is None else lut.dtype)
        self.placed.paint(out, box, lut)
        if written.any():  # flooded after the placed components
            where = written > 0
            out[where] = written[where] if lut is None else lut[written[where]]
        return out


@dataclass
class LabelResult:
    """Provisional labels on disk plus the lookup table to the final ids, the final objects'
    boxes and voxel counts (what a scan of the written volume would find), and how many pieces
    the size filter left out."""

    provisional: Provisional
    lut: np.ndarray
    boxes: ObjectBoxes
    left_out: int = 0

    @property
    def n_objects(self) -> int:
        return len(self.boxes)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.provisional.labels.shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint32 if self.n_objects < 2**32 - 1 else np.uint64)

    def read_all(self) -> np.ndarray:
        box = tuple(slice(0, n) for n in self.shape)
        return self.provisional.read(box, self.lut.astype(self.dtype))


def scratch_array(folder: Path, name: str, shape: tuple[int, ...]) -> ScratchArray:
    """A provisional-id array: ``SCRATCH_DTYPE`` (uint32), widened to uint64 by its writers
    before an id outgrows it (``ensure_holds``)."""
    return ScratchArray(Path(folder) / name, shape, SCRATCH_CHUNKS, SCRATCH_DTYPE)


@dataclass
class Flooded:
    """One component's objects (int32 1..k in its box; None once stored), their first voxels
    (flat index in the box), voxel counts and boxes [lo, hi) in the component's box, the
    pieces the size filter left out, and where the objects were stored: (start, stop, item
    size) in the group's file."""

    objects: np.ndarray | None
    ids: np.ndarray
    firsts: np.ndarray
    counts: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    left_out: int = 0
    stored: tuple[int, int, int] = (0, 0, 0)


def object_parts(labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """(ids, first voxels (raster index), voxel counts, box starts, box stops) of the nonzero
    labels of an array, ids ascending."""
    ids, firsts = instances.first_voxels(labels)
    counts = np.bincount(labels.ravel(), minlength=int(ids.max(initial=0)) + 1)[ids]
    found = ndimage.find_objects(labels, max_label=int(ids.max(initial=0)))
    boxes = np.array([[(s.start, s.stop) for s in found[i - 1]] for i in ids.tolist()], np.int64)
    boxes = boxes.reshape(len(ids), 3, 2)
    return ids, firsts, counts, boxes[:, :, 0], boxes[:, :, 1]


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

    ``area``, ``boundary``: the crops of ``region``, or sendable sources to read them from.
    Each component is taken from the foreground of its own box (where it is whole), as the
    in-memory path does.
    """
    if not isinstance(area, np.ndarray):  # one read of the region decodes each chunk once
        area, boundary = np.asarray(area[region]), np.asarray(boundary[region])
    found = []
    for box, first in zip(boxes, firsts, strict=True):
        area_box, boundary_box = area[box], boundary[box]
        labels, _ = instances.label(instances.foreground(area_box, params))
        mask = labels == labels[tuple(f - s.start for f, s in zip(first, box, strict=True))]
        objects, left_out = instances.segment_component(
            area_box, boundary_box, mask, params, voxel_size
        )
        found.append(Flooded(objects, *object_parts(objects), left_out=left_out))
    return found


def flood_and_store(path: Path, *args: Any) -> list[Flooded]:
    """``flood_crop(*args)``, the objects stored in the file ``path`` (runs in a worker): what
    comes back is their place, and the ids, first voxels, counts and boxes."""
    found = flood_crop(*args)
    spans = store_objects(path, [f.objects for f in found if len(f.ids)])
    stored = iter(spans)
    for flooded in found:
        flooded.objects = None  # stored: not sent back
        flooded.stored = next(stored) if len(flooded.ids) else (0, 0, 0)
    return found


def _relative(box: Box, origin: np.ndarray) -> Box:
    return tuple(slice(s.start - o, s.stop - o) for s, o in zip(box, origin, strict=True))


class _Segmenter:
    def __init__(self, area, boundary, params, voxel_size, scratch, block, crop_voxels, halo):
        self.area, self.boundary = area, boundary
        self.params, self.voxel_size = params, tuple(voxel_size)
        self.shape = tuple(area.shape)
        self.scratch = Path(scratch)
        self.block, self.crop_voxels, self.halo = block, crop_voxels, halo
        self.out = scratch_array(self.scratch, "objects", self.shape)  # giant components
        self.flooded = self.scratch / "flooded"
        self.flooded.mkdir()
        self.placed: list[Placement] = []
        self.table = ObjectTable()
        self.next_id = 1
        self.left_out = 0  # pieces of normal components under the size filter

    # -- normal components: one crop each, identical to the in-memory path --------------------
    def group_task(self, comps: Components, group: int, members: list[int]) -> tuple:
        """The arguments of ``flood_and_store`` for a group (its crops are read here unless
        the worker can read them)."""
        lo, hi = comps.lo[members].min(0), comps.hi[members].max(0)
        region = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        boxes = [_relative(comps.box(i), lo) for i in members]
        firsts = [tuple(int(v) for v in comps.first[i] - lo) for i in members]
        maps = [m if sendable(m) else np.asarray(m[region]) for m in (self.area, self.boundary)]
        path = self.flooded / f"{group}.bin"
        return path, *maps, region, boxes, firsts, self.params, self.voxel_size

    def add_group(
        self, comps: Components, group: int, members: list[int], found: list[Flooded]
    ) -> None:
        """Give the group's objects provisional ids, in member order, and note where the
        worker stored them."""
        self.left_out += sum(f.left_out for f in found)
        kept = [(index, f) for index, f in zip(members, found, strict=True) if len(f.ids)]
        offsets = []
        for index, flooded in kept:
            offsets.append(self.next_id - 1)
            shape = tuple(int(v) for v in comps.hi[index] - comps.lo[index])
            rel = np.stack(np.unravel_index(flooded.firsts, shape), 1)
            raster = np.ravel_multi_index(tuple((rel + comps.lo[index]).T), self.shape)
            self.table.add(
                flooded.ids + self.next_id - 1,
                flooded.counts,
                raster,
                flooded.lo + comps.lo[index],
                flooded.hi + comps.lo[index],
            )
            self.next_id += int(flooded.ids.max())
        indices = [index for index, _ in kept]
        spans = np.array([f.stored for _, f in kept], np.int64).reshape(-1, 3)
        self.placed.append(
            Placement(
                self.flooded,
                comps.lo[indices],
                comps.hi[indices],
                np.array(offsets, np.int64),
                np.full(len(kept), group, np.int64),
                spans[:, 0],
                spans[:, 1],
                spans[:, 2],
            )
        )

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
            ids, firsts, counts, part_lo, part_hi = object_parts(np.where(keep, core_labels, 0))
            start = np.array([c.start for c in core], np.int64)
            rel = np.stack(np.unravel_index(firsts, core_labels.shape), 1) + start
            raster = np.ravel_multi_index(tuple(rel.T), self.shape)
            self.table.add(ids + base - 1, counts, raster, part_lo + start, part_hi + start)

    def result(self, min_voxels: int) -> LabelResult:
        objects, firsts = self.table.merged()
        keep = objects.count >= max(min_voxels, 1)
        left_out = self.left_out + int(np.count_nonzero(objects.count[~keep]))
        order = np.argsort(firsts[keep], kind="stable")  # final ids: raster order of first voxels
        kept = objects.select_indices(np.flatnonzero(keep)[order])
        lut = np.zeros(self.next_id, np.uint64)
        final = ObjectBoxes(
            np.arange(1, len(kept) + 1, dtype=np.int64), kept.lo, kept.hi, kept.count
        )
        lut[kept.ids] = final.ids
        placed = Placement.join(self.flooded, self.placed)
        fits = self.next_id - 1 <= np.iinfo(SCRATCH_DTYPE).max
        dtype = np.promote_types(SCRATCH_DTYPE if fits else np.uint64, self.out.dtype)
        return LabelResult(Provisional(self.out, placed, dtype), lut, final, left_out)


def label_workers(
    shape: tuple[int, ...], block: tuple[int, int, int], workers: int | None = None
) -> int:
    """Worker processes for segmenting a volume of ``shape`` in ``block``s: as many as the cores
    and the memory for labelling a block allow (``workers``: that many)."""
    label_bytes = int(np.prod(block)) * BYTES_PER_LABEL_VOXEL
    voxels = int(np.prod(shape))
    return worker_count(label_bytes, block_count(shape, block), workers, voxels)


def _region_voxels(comps: Components, members: list[int]) -> int:
    return int(np.prod(comps.hi[members].max(0) - comps.lo[members].min(0)))


def _group_bytes(comps: Components, members: list[int], sent: bool) -> int:
    """What flooding a group holds at its peak: one component's flooding, the objects of all
    (int32, kept until they are stored), and the group's maps (``sent``: read here and sent,
    else read by the worker itself)."""
    boxes = np.prod(comps.hi[members] - comps.lo[members], axis=1)
    need = int(boxes.max()) * BYTES_PER_CROP_VOXEL + int(boxes.sum()) * OBJECT_BYTES
    region = BYTES_PER_REGION_VOXEL if sent else BYTES_PER_READ_REGION_VOXEL
    return need + _region_voxels(comps, members) * region


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
    pool: WorkerPool | None = None,
) -> LabelResult:
    """Instance labels of arrays indexable by boxes (zarr arrays, numpy arrays).

    Memory is bounded by ``block`` and ``crop_voxels`` (per worker), whatever the volume size;
    ``workers``: processes to use (None: as many as the cores and memory allow); ``pool``: the
    processes (of ``label_workers``), left running for the next pass (writing the labels),
    else started and ended here.
    """
    shape = tuple(area.shape)
    with pool_or_own(pool, lambda: label_workers(shape, block, workers)) as pool:
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
        sent = not (sendable(area) and sendable(boundary))
        need = max((_group_bytes(comps, g, sent) for g in groups), default=0)
        regions = sum(_region_voxels(comps, g) for g in groups)
        limit = pool.tasks_at_once(need, len(groups), workers, regions)
        tasks = (seg.group_task(comps, g, members) for g, members in enumerate(groups))
        found = pool.map(flood_and_store, tasks, limit)
        for done, (members, flooded) in enumerate(zip(groups, found, strict=True)):
            seg.add_group(comps, done, members, flooded)
            step(done + 1, total, f"flooding component group {done + 1}/{len(groups)}")
        if giants:
            pool.close()  # flooded here: idle processes would keep memory they need
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
    pool: WorkerPool | None = None,
) -> LabelResult:
    """Semantic-only classes: connected components with the size filter, blockwise
    (``workers``, ``pool``: as for ``segment_blockwise``)."""
    shape = tuple(probability.shape)
    raw = scratch_array(scratch, "components", shape)
    with pool_or_own(pool, lambda: label_workers(shape, block, workers)) as pool:
        comps = label_components(
            Above(probability, instances.to_uint8_threshold(threshold)),
            shape,
            block,
            raw=raw,
            progress=progress,
            pool=pool,
        )
    keep = comps.count >= max(min_voxels, 1)
    kept = int(keep.sum())
    final = np.zeros(len(comps) + 1, np.uint64)
    final[1:][keep] = np.arange(1, kept + 1, dtype=np.uint64)
    provisional = Provisional(raw, Placement.empty(scratch), raw.dtype)
    boxes = ObjectBoxes(
        np.arange(1, kept + 1, dtype=np.int64), comps.lo[keep], comps.hi[keep], comps.count[keep]
    )
    left_out = int(np.count_nonzero(comps.count[~keep]))
    return LabelResult(provisional, final[comps.raw_to_id], boxes, left_out)
