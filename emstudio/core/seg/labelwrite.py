"""Write a blockwise segmentation's final labels into a store, box by box in worker processes.

Each task is a box whose footprint is whole chunks at every level up to ``levels - 1`` of the
store's pyramid: a worker reads the box's provisional ids, looks up the final ids and writes
those levels' chunks itself (label pyramids subsample, so a box's coarser levels depend on the
box alone). The next level's part of the box comes back; this process gathers those parts into
slabs and writes that level and the coarser ones (a few percent of the data) with the
``VolumeWriter``, which makes all the files durable at ``finalize``. Boxes are cut in z order,
so this process holds one slab of the coarse level, and each worker one box.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emstudio.core.progress import Progress, no_progress
from emstudio.core.seg.blockwise import LabelResult, Provisional
from emstudio.core.seg.components import iter_blocks
from emstudio.core.seg.instances import Box
from emstudio.core.seg.workers import WorkerPool, pool_or_own, worker_count
from emstudio.core.volume import pyramid
from emstudio.core.volume.chunkio import ChunkWriter, start_writeback
from emstudio.core.volume.store import VolumeWriter

TASK_VOXELS = 8 * 2**20  # the largest box a worker writes at once
# final ids (painted object by object, no provisional copy), their coarser levels, codes: a task
# on boxes of 32 x 512 x 512 peaked at 6.4 bytes a voxel when the ids were read and then looked
# up (128 x 1024 x 1024 of mitochondria); with 16 cores' workers on 256 x 2048 x 2048, no worker
# (90 MiB between tasks) peaked above 130 MiB. 12 held a 16-core machine's budget to 13 tasks
# at once, and the pool started again for writing; 24 had held it to 7
BYTES_PER_TASK_VOXEL = 8


@dataclass(frozen=True)
class WritePlan:
    """The workers write levels ``0 .. levels - 1`` in boxes of ``box`` (level-0 voxels);
    ``factors``: the store's per-level downsampling factors."""

    levels: int
    box: tuple[int, int, int]
    factors: tuple[tuple[int, int, int], ...]

    @property
    def part_factor(self) -> tuple[int, int, int] | None:
        """The factor from the workers' last level to the next one (None: no next level)."""
        return self.factors[self.levels - 1] if self.levels <= len(self.factors) else None


def plan_writes(writer: VolumeWriter, task_voxels: int = TASK_VOXELS) -> WritePlan:
    """The most levels whose chunks' level-0 footprint fits ``task_voxels`` (at least level 0),
    with that footprint as the box."""
    factors = tuple(tuple(f) for f in writer.factors)
    scale = np.ones(3, np.int64)
    best = WritePlan(1, _footprint(writer, 0, scale), factors)
    for level in range(1, len(writer.level_writers)):
        scale = scale * np.asarray(factors[level - 1])
        box = _footprint(writer, level, scale)
        if np.prod(box) > task_voxels:
            break
        best = WritePlan(level + 1, box, factors)
    return best


def _footprint(writer: VolumeWriter, level: int, scale: np.ndarray) -> tuple[int, int, int]:
    """The level-0 box one chunk of ``level`` covers (clipped to the volume)."""
    chunks = np.asarray(writer.level_writers[level].chunks)
    return tuple(int(v) for v in np.minimum(chunks * scale, writer.shape))


def write_box(
    provisional: Provisional,
    lut: Path,
    writers: list[ChunkWriter],
    plan: WritePlan,
    box: Box,
) -> tuple[np.ndarray | None, list[Path]]:
    """Write the final labels of ``box`` into the chunks of the plan's levels (runs in a
    worker); the box's part of the next level, and the files written."""
    block = provisional.read(box, np.load(lut, mmap_mode="r"))
    origin = np.array([s.start for s in box])
    files: list[Path] = []
    for level, writer in enumerate(writers):
        if level:
            block = pyramid.downsample(block, plan.factors[level - 1], labels=True)
            origin //= plan.factors[level - 1]
        files += writer.write_now(int(origin[0]), block, int(origin[1]), int(origin[2]))
    for path in files:
        start_writeback(path)
    part = plan.part_factor
    return (None if part is None else pyramid.downsample(block, part, True)), files


def write_labels(
    result: LabelResult,
    writer: VolumeWriter,
    progress: Progress = no_progress,
    workers: int | None = None,
    pool: WorkerPool | None = None,
) -> None:
    """Fill ``writer``'s store (all its levels) with the final labels; ``finalize`` is left to
    the caller. ``workers``: processes to use (None: as many as cores and memory allow);
    ``pool``: processes already running (the segmentation's), else started here."""
    plan = plan_writes(writer)
    lut = result.provisional.labels.folder.with_suffix(".lut.npy")
    np.save(lut, result.lut.astype(writer.dtype))
    writers = writer.level_writers[: plan.levels]
    boxes = list(iter_blocks(writer.shape, plan.box))
    tasks = ((result.provisional.within(b), lut, writers, plan, b) for _, b in boxes)
    task_bytes = int(np.prod(plan.box)) * BYTES_PER_TASK_VOXEL
    voxels = int(np.prod(writer.shape))
    counts = [-(-s // b) for s, b in zip(writer.shape, plan.box, strict=True)]
    slab = _CoarseSlab(writer, plan)
    with pool_or_own(pool, lambda: worker_count(task_bytes, len(boxes), workers, voxels)) as pool:
        limit = pool.tasks_at_once(task_bytes, len(boxes), workers, voxels)
        results = pool.map(write_box, tasks, limit)
        for done, ((index, box), (part, files)) in enumerate(zip(boxes, results, strict=True)):
            writer.adopt(plan.levels, files)
            slab.add(box, part, last=index[1:] == (counts[1] - 1, counts[2] - 1))
            progress(done + 1, len(boxes), "writing the segmentation")


class _CoarseSlab:
    """Gathers the workers' parts of the first level they do not write into z slabs, and
    writes each once its row of boxes is complete."""

    def __init__(self, writer: VolumeWriter, plan: WritePlan) -> None:
        self.writer, self.plan = writer, plan
        self.scale = np.prod(plan.factors[: plan.levels], axis=0)  # level 0 to the slab's
        self.data: np.ndarray | None = None

    def add(self, box: Box, part: np.ndarray | None, last: bool) -> None:
        if part is None:
            return
        origin = [s.start // f for s, f in zip(box, self.scale, strict=True)]
        if self.data is None:
            level_shape = self.writer.level_writers[self.plan.levels].shape
            self.data = np.zeros((part.shape[0], *level_shape[1:]), self.writer.dtype)
        y, x = origin[1:]
        self.data[:, y : y + part.shape[1], x : x + part.shape[2]] = part
        if last:
            self.writer.write_slab(origin[0], self.data, level=self.plan.levels)
            self.data = None
