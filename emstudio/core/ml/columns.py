"""Fused tri-axis prediction, column by column (the default on a GPU).

The volume is cut into columns: all of its z, and runs of whole output chunks in y and x. A
column is read once, with a halo around it where the volume goes on, and put on the device;
its XY, XZ and YZ planes are predicted there like the planes of a small volume
(``PlanePredictor`` over the column's own ``View``), cropped to the column, combined, and
written once, as whole chunks of the final maps. Nothing goes through a per-axis scratch, and
the image is read once instead of three times. Reading the next column and writing the last
one run in threads while the device computes.

The halo is at least the tiles' overlap, so a column's edge is predicted with as much context
as a tile's blended edge. All columns read boxes of one size (moved inward at the volume's
edges), so the tiles, and a compiled model, keep one shape. Written columns are recorded in the
job's scratch folder, next to the maps being built: a restarted job skips them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import psutil
import torch

from emstudio.core.ml.combine import combine
from emstudio.core.ml.device import host_tensor, is_out_of_memory, synchronize, to_host
from emstudio.core.ml.errors import DeviceError
from emstudio.core.ml.geometry import FROM_PLANE_MAJOR, NORMAL, box_key
from emstudio.core.ml.planes import PlanePredictor
from emstudio.core.ml.prefetch import Prefetcher
from emstudio.core.ml.scratch import Scratch
from emstudio.core.text import counted
from emstudio.core.volume.fastslice import RawChunkSlicer

if TYPE_CHECKING:
    from emstudio.core.ml.prediction import VolumePredictor

DONE_LOG = "columns"
MAPS_FOLDER = "maps"
# the share of the free device memory a column's maps and image box may take; the model's batch
# (``inference.MEMORY_SHARE`` of what is left) and a block's working tensors come on top
COLUMN_MEMORY_SHARE = 0.25
# device bytes per voxel of a column besides its maps: the image box (about twice the column
# with its halo) and the mean's int16 sum
COLUMN_EXTRA_BYTES = 4
# the share of the host's available memory the columns in flight may take, and their image
# boxes' bytes per voxel (three boxes with halos). A GPU job of 517 x 1024 x 1024 columns with 3
# outputs peaked at 10.8 GiB resident on an H100 machine, its CUDA libraries included.
COLUMN_HOST_SHARE = 0.2
COLUMN_HOST_IMAGE_BYTES = 4

# {output: combined (z, y, x) uint8 map}, {output: {axis: map}} (per-axis maps only if kept)
Maps = tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]
# the same, each map given by a function that waits for its copy from the device
PendingMaps = tuple[
    dict[str, Callable[[], np.ndarray]], dict[str, dict[str, Callable[[], np.ndarray]]]
]


def chunk_runs(size: int, chunk: int, most: int) -> list[tuple[int, int]]:
    """``size`` voxels cut into the fewest runs of at most ``most`` whole chunks, as even as
    possible (only the run at the end may stop inside a chunk: at the volume's edge)."""
    chunks = -(-size // chunk)
    parts = -(-chunks // max(1, most))
    edges = [round(k * chunks / parts) * chunk for k in range(parts + 1)]
    return [(a, min(b, size)) for a, b in itertools.pairwise(edges)]


def box_span(run: tuple[int, int], side: int, size: int) -> tuple[int, int]:
    """``side`` voxels around ``run``, centred on it and moved inward at the volume's edges."""
    if side >= size:
        return 0, size
    start = run[0] - (side - (run[1] - run[0])) // 2
    start = min(max(0, start), size - side)
    return start, start + side


@dataclass(frozen=True)
class Column:
    """The rows and columns of voxels a column writes, and the box it reads (with its halo)."""

    y: tuple[int, int]
    x: tuple[int, int]
    box_y: tuple[int, int]
    box_x: tuple[int, int]

    @property
    def area(self) -> int:
        """Voxels the column writes in each plane."""
        return (self.y[1] - self.y[0]) * (self.x[1] - self.x[0])

    @property
    def box_size(self) -> tuple[int, int]:
        """Rows and columns of voxels in each plane of the box."""
        return self.box_y[1] - self.box_y[0], self.box_x[1] - self.box_x[0]

    @property
    def crop(self) -> tuple[slice, slice]:
        """Where the written voxels lie in the box, along y and x."""
        return (
            slice(self.y[0] - self.box_y[0], self.y[1] - self.box_y[0]),
            slice(self.x[0] - self.box_x[0], self.x[1] - self.box_x[0]),
        )


def plan_columns(
    shape: tuple[int, int, int], chunks: tuple[int, int], most: int, halo: int
) -> list[Column]:
    """Columns of at most ``most`` chunks a side covering a (z, y, x) volume, in row order; each
    reads a box of the same size: the largest column and ``halo`` voxels on each side."""
    runs = [chunk_runs(shape[d], chunks[d - 1], most) for d in (1, 2)]
    sides = [max(b - a for a, b in r) + 2 * halo for r in runs]
    return [
        Column(y, x, box_span(y, sides[0], shape[1]), box_span(x, sides[1], shape[2]))
        for y in runs[0]
        for x in runs[1]
    ]


def column_halo(overlap: int, ratios: tuple[float, float], reach: int) -> int:
    """Voxels of context around a column: the tiles' ``overlap`` (model pixels) at the
    in-plane ``ratios`` (model pixels per voxel), and at least the input planes' ``reach``."""
    return max(math.ceil(overlap / min(ratios)), reach)


def most_chunks(
    tile: int,
    halo: int,
    chunk: int,
    ratios: tuple[float, float],
    depth: int,
    budgets: list[tuple[int, int]],
) -> int:
    """The most chunks a side of a column may have: its box fits one ``tile`` (model pixels)
    across, and for each (bytes, bytes per voxel) of ``budgets`` its ``depth`` planes fit the
    bytes. 0 when not even one chunk does."""
    side = math.floor(tile / max(ratios)) - 2 * halo
    for memory, per_voxel in budgets:
        side = min(side, math.isqrt(max(0, memory // max(1, depth * per_voxel))))
    return max(0, side // chunk)


def memory_budgets(
    device_free: int, outputs: int, axes: int, keep_axes: bool
) -> list[tuple[int, int]]:
    """(bytes, bytes per voxel) a column must fit: a share of the device's free memory for its
    maps (every axis' and the combined one) and its image, and a share of the host's available
    memory for its maps on their way to the disk (three columns' worth: one being predicted, one
    being written, and its copy in the writing process's shared memory) and the image boxes read
    ahead."""
    on_host = 3 * outputs * (1 + (axes if keep_axes else 0)) + COLUMN_HOST_IMAGE_BYTES
    return [
        (int(device_free * COLUMN_MEMORY_SHARE), outputs * (axes + 1) + COLUMN_EXTRA_BYTES),
        (int(psutil.virtual_memory().available * COLUMN_HOST_SHARE), on_host),
    ]


def column_maps(scratch: Scratch, names: list[str]) -> Path:
    """The folder in ``scratch`` of the maps being filled (``<name>.zarr`` each): kept to go on
    with when columns are done and every map is there, else emptied for a fresh start."""
    folder = scratch.folder / MAPS_FOLDER
    if not all((folder / f"{name}.zarr").is_dir() for name in names):
        scratch.forget(DONE_LOG)
    if not scratch.done(DONE_LOG):
        shutil.rmtree(folder, ignore_errors=True)
    return folder


class ColumnPass:
    """Predicts the columns of a ``VolumePredictor``'s image and hands their maps to a sink."""

    def __init__(self, owner: VolumePredictor, columns: list[Column]) -> None:
        self.owner = owner
        self.columns = columns
        # the next column is read while the model runs, by the reading thread alone
        # (``serial``): beside a read by 2 copier threads of a 517 x 1152 x 1152 box, a thread
        # making small torch calls made 34-79k calls/s on 2 cores, beside a serial one 69-134k
        # (the read took 0.7-0.9 s, serially 0.7-1.1 s)
        self.image = (
            owner.image.serial() if isinstance(owner.image, RawChunkSlicer) else owner.image
        )
        self._predictors: dict[tuple[str, tuple[int, int, int]], PlanePredictor] = {}
        boxes = {(owner.shape[0], *c.box_size) for c in columns}
        if boxes:
            owner.runner.expect_tiles(
                self._predictor(axis, box).grid.tile for axis in owner.config.axes for box in boxes
            )

    def run(
        self,
        scratch: Scratch,
        sink: Callable[[Column, Maps], None],
        flush: Callable[[], None] = lambda: None,
    ) -> None:
        """Predict the columns ``scratch`` does not list as done; ``sink`` writes each one's
        maps, durably once the next ``sink`` call or ``flush`` has returned (so that a column
        is made durable while the next one is written): only then is it recorded as done."""
        done = scratch.done(DONE_LOG)
        todo = [c for c in self.columns if (str(c.y[0]), str(c.x[0])) not in done]
        if len(todo) < len(self.columns):
            skipped = counted(len(self.columns) - len(todo), "column")
            self.owner.reporter.log(f"resuming: {skipped} already predicted, skipped")
        _, height, width = self.owner.shape
        finished = height * width - sum(c.area for c in todo)

        undurable: list[Column] = []  # written, durable once the next write has returned

        def write_then_record(write: Callable[[], None]) -> None:
            with self.owner.timed("write outputs"):
                write()
            for column in undurable:
                scratch.record(DONE_LOG, column.y[0], column.x[0])
            undurable.clear()

        def store(column: Column, pending: PendingMaps) -> None:
            combined, kept = pending
            maps = (
                {name: get() for name, get in combined.items()},
                {name: {a: get() for a, get in by_axis.items()} for name, by_axis in kept.items()},
            )
            write_then_record(lambda: sink(column, maps))
            undurable.append(column)

        pending: Future | None = None
        with (
            ThreadPoolExecutor(1, thread_name_prefix="column-writer") as writer,
            Prefetcher(self._read, todo, depth=1) as reads,
        ):
            last = time.perf_counter()
            for number, (column, box) in enumerate(reads, start=len(self.columns) - len(todo) + 1):
                maps = self.predict(column, box)
                waited = time.perf_counter()
                if pending is not None:
                    pending.result()
                self.owner.column_parts[-1]["writer"] = time.perf_counter() - waited
                pending = writer.submit(store, column, maps)
                now = time.perf_counter()
                self.owner.column_seconds.append(now - last)  # from one column to the next
                last = now
                finished += column.area
                self.owner.reporter.progress(
                    finished, height * width, f"column {number}/{len(self.columns)}"
                )
            if pending is not None:
                pending.result()
        write_then_record(flush)

    def _read(self, column: Column) -> tuple[Column, torch.Tensor]:
        """The column's (z, y, x) image box, ready to go to the device."""
        with self.owner.timed("read image"):
            box = np.asarray(self.image[:, slice(*column.box_y), slice(*column.box_x)])
            return column, host_tensor(box, self.owner.device)

    def predict(self, column: Column, box: torch.Tensor) -> PendingMaps:
        """The column's maps from its image ``box`` (the maps on their way to the host)."""
        owner = self.owner
        per_axis, parts = {}, {}
        try:
            image = box.to(owner.device, non_blocking=True)
            for axis in owner.config.axes:
                start = time.perf_counter()
                per_axis[axis] = self._predict_axis(axis, column, image)
                synchronize(owner.device)
                parts[axis] = time.perf_counter() - start
                owner.seconds[axis] = owner.seconds.get(axis, 0.0) + parts[axis]
        except (torch.OutOfMemoryError, RuntimeError) as exc:
            if not is_out_of_memory(exc):
                raise
            z, y, x = box.shape
            raise DeviceError(
                f"{owner.device}: out of memory for a column of {z} x {y} x {x} voxels (another "
                "program may be using the GPU): free the GPU, or predict axis by axis with "
                "--no-columns, which needs less of its memory."
            ) from None
        start = time.perf_counter()
        with owner.timed("combine"):
            combined, kept = {}, {}
            for k, name in enumerate(owner.outputs):
                maps = {axis: per_axis[axis][k] for axis in owner.config.axes}
                combined[name] = to_host(combine(list(maps.values()), owner.config.combine))
                if owner.config.keep_axes:
                    kept[name] = {axis: to_host(m) for axis, m in maps.items()}
        parts["combine"] = time.perf_counter() - start
        owner.column_parts.append(parts)
        return combined, kept

    def _predict_axis(self, axis: str, column: Column, image: torch.Tensor) -> torch.Tensor:
        """(outputs, z, y, x) uint8 maps of the column's voxels along ``axis``."""
        owner = self.owner
        predictor = self._predictor(axis, tuple(image.shape))
        view = predictor.view
        crop = (slice(0, image.shape[0]), *column.crop)  # (z, y, x) within the box
        normal = NORMAL[axis]
        sizes = [s.stop - s.start for s in crop]
        out = torch.empty((len(owner.outputs), *sizes), dtype=torch.uint8, device=owner.device)
        # (outputs, planes, u, v) -> (outputs, z, y, x)
        order = (0, *(d + 1 for d in FROM_PLANE_MAJOR[axis]))
        nu, nv = view.native_plane
        step = predictor.planes_per_group(owner.config.memory_mb * 2**20)
        first_plane, last_plane = crop[normal].start, crop[normal].stop
        for first in range(first_plane, last_plane, step):
            stop = min(first + step, last_plane)
            lo, hi = view.native_span(first, stop)
            probs = predictor.predict_tensor(
                image[box_key(axis, (lo, hi), (0, nu), (0, nv))], lo, first, stop
            )
            probs = probs.transpose(0, 1).permute(order)
            source = [slice(None)] + [slice(None) if d == normal else crop[d] for d in range(3)]
            target = [slice(None)] + [
                slice(first - first_plane, stop - first_plane) if d == normal else slice(None)
                for d in range(3)
            ]
            out[tuple(target)] = probs[tuple(source)]
        return out

    def _predictor(self, axis: str, shape: tuple[int, int, int]) -> PlanePredictor:
        """The plane predictor of ``axis`` for boxes of ``shape`` (one per shape, kept)."""
        key = (axis, shape)
        if key not in self._predictors:
            view = dataclasses.replace(self.owner.views[axis], shape=shape)
            self._predictors[key] = self.owner.plane_predictor(view)
        return self._predictors[key]
