"""Out-of-core tri-axis prediction of a volume.

On a GPU the axes are predicted together, column by column (``columns``: the image is read
once and the maps written once, as whole chunks of the final volumes). Elsewhere, or where
columns do not fit the device, XZ and YZ planes are predicted first, in blocks of planes
(``planes.PlanePredictor``): a reader thread fetches the next block's voxels from the store
while the model runs, and a writer thread stores finished blocks in the job's scratch
(``scratch.Scratch``); a restarted job skips the blocks already there. The final pass goes
through z in slabs, as a pipeline of three stages working on consecutive slabs at once: a reader
thread gathers a slab's image planes and its XZ/YZ maps from the scratch; a compute thread
predicts the slab's XY planes and combines the three maps (``combine``) on the prediction's
device, where the XZ/YZ maps are also transposed into (z, y, x); the caller writes the result.
XY maps never touch the scratch. Memory is bounded by the block budget (a few planes with their
neighbours, ``memory_mb``), whatever the volume's size; disk needs one byte per voxel, output
and XZ/YZ axis for the scratch.

Reads go through ``Volume.boxes()`` where the store allows (our chunk reader): boxes are taken
as stored, (z, y, x), and put plane-major on the device, not by a strided copy on the CPU.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from emstudio.core.ml.card import output_names
from emstudio.core.ml.columns import (
    Column,
    ColumnPass,
    Maps,
    column_halo,
    memory_budgets,
    most_chunks,
    plan_columns,
)
from emstudio.core.ml.combine import RULES, combine
from emstudio.core.ml.device import free_memory, synchronize
from emstudio.core.ml.errors import ModelMismatchError, PredictionSetupError
from emstudio.core.ml.geometry import AXES, FROM_PLANE_MAJOR, TTA_FLIPS, View, box_key
from emstudio.core.ml.inference import TileRunner
from emstudio.core.ml.normalise import Normaliser, volume_stats
from emstudio.core.ml.planes import PlanePredictor
from emstudio.core.ml.prefetch import Prefetcher
from emstudio.core.ml.scratch import Scratch
from emstudio.core.ml.unet import UNet2p5D, UNetConfig
from emstudio.core.text import counted
from emstudio.core.volume.store import DEFAULT_CHUNKS, chunks_for

MAX_SCALE = 8.0  # refuse resampling by more than this (the model does not fit the data)
# default largest tile per device type; on a GPU a column's box fits one tile across, and 1280
# holds 1024 voxels and their halo (a 2048-wide volume in two columns a side)
TILE = {"cuda": 1280, "cpu": 512}
# a GPU job predicts in columns when they can be at least this wide (or the whole volume): the
# halos of narrower ones would cost more model time than the scratch's reads and writes
MIN_COLUMN = 512
CPU_BLOCK_MB = 512
MAX_DEFAULT_OVERLAP = 64  # model pixels; blending needs no more, and overlaps cost model time
# Model pixels from which a CUDA job compiles its model by default. On an H200 compiling took
# about 17 s of a 517 x 2048 x 2048 tri-axis job (20 Gpx at 40 x 10 x 10 nm) and then ran the
# axes 20-25 % faster: that job took 78 s compiled, 71 s not; at 50 Gpx compiling pays back.
AUTO_COMPILE_PIXELS = 50e9


@dataclass
class PredictConfig:
    axes: list[str] = field(default_factory=lambda: list(AXES))
    combine: str = "mean"
    tta: bool = False
    keep_axes: bool = False
    batch: int | None = None  # tiles per model call; None: from free GPU memory (CPU: 4)
    tile: int | None = None  # largest tile, model pixels (planes are cut into even tiles up to
    # this); None: 1280 on CUDA (less of the model's work is spent on overlaps), else 512
    overlap: int | None = None  # None: tile // 8, at most 64
    compile: bool | None = None  # None: on CUDA for jobs of AUTO_COMPILE_PIXELS or more
    columns: bool | None = None  # fused tri-axis pass (``columns``); None: on CUDA if they fit
    memory_mb: int | None = None  # working memory of a block; None: see ``block_memory_mb``

    def check(self) -> None:
        bad = [a for a in self.axes if a not in AXES]
        if bad or not self.axes:
            raise ModelMismatchError(f"axes must be some of xy, xz, yz (got {self.axes}).")
        if self.combine not in RULES:
            raise ModelMismatchError(f"combine must be one of {', '.join(RULES)}.")
        low = [
            f"{option} must be at least {least} (got {value})"
            for option, value, least in (
                ("--batch", self.batch, 1),
                ("--tile", self.tile, 1),
                ("--memory", self.memory_mb, 1),
                ("overlap", self.overlap, 0),
            )
            if value is not None and value < least
        ]
        if low:
            raise PredictionSetupError("prediction settings: " + "; ".join(low) + ".")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Reporter:
    progress: Callable[[int, int, str], None] = lambda d, t, m: None
    log: Callable[[str], None] = lambda m: None


def fit_geometry(
    card: dict[str, Any], voxel_nm: tuple[float, float, float], voxel_known: bool, log
) -> tuple[float, float, float]:
    """The voxel size to predict with; refuses a model made for a very different resolution."""
    inputs = card["input"]
    trained = tuple(inputs.get("voxel_size_nm") or ())
    if (not voxel_known or not inputs.get("voxel_known", True)) and len(trained) == 3:
        log(
            "voxel size unknown (image or model): assuming the model's training voxel size "
            f"{' x '.join(f'{v:g}' for v in trained)} nm"
        )
        voxel_nm = tuple(float(v) for v in trained)
    pixel, step = float(inputs["pixel_size_nm"]), float(inputs["slice_step_nm"])
    in_plane, thickness = min(voxel_nm[1:]), voxel_nm[0]
    for what, value, model_value in (
        ("in-plane pixels", in_plane, pixel),
        ("sections", thickness, step),
    ):
        if not 1 / MAX_SCALE <= value / model_value <= MAX_SCALE:
            raise ModelMismatchError(
                f"the model works with {model_value:g} nm {what}, this image has {value:g} nm "
                f"{what}: more than {MAX_SCALE:g}x apart. Check the image's voxel size, or "
                "train a model at this resolution."
            )
    return voxel_nm


def block_memory_mb(device: torch.device) -> int:
    """Default working memory of a block: a fifth of the free GPU memory, 1 to 8 GiB; 512 MiB
    on a CPU. (On an H200, 16 GiB blocks were no faster than 8 GiB ones and took 10 GiB of
    RAM instead of 6.5.)"""
    free = free_memory(device)
    if not free:
        return CPU_BLOCK_MB
    return int(min(max(free // 5, 2**30), 8 * 2**30) // 2**20)


def compile_by_default(device: torch.device, views: Iterable[View], tta: bool) -> bool:
    """Whether a job compiles its model when not told: on CUDA, from ``AUTO_COMPILE_PIXELS`` of
    model work (each test-time flip counts)."""
    work = sum(v.model_pixels for v in views)
    return device.type == "cuda" and work * (len(TTA_FLIPS) if tta else 1) >= AUTO_COMPILE_PIXELS


def views_for(card: dict[str, Any], shape, voxel_nm, axes) -> dict[str, View]:
    inputs = card["input"]
    return {
        a: View(
            a,
            tuple(shape),
            tuple(voxel_nm),
            float(inputs["pixel_size_nm"]),
            float(inputs["slice_step_nm"]),
            int(inputs["slices"]),
        )
        for a in axes
    }


def normaliser_for_image(card: dict[str, Any], image) -> Normaliser:
    mode = card["input"]["normalisation"]["mode"]
    if mode == "patch":
        return Normaliser("patch")
    mean, std = volume_stats(image)
    return Normaliser("volume", mean, std)


def plan(
    card: dict[str, Any], shape, config: PredictConfig, blocks: dict[str, int], columns: int
) -> dict:
    """What identifies the scratch work (a resumed job must match it to reuse it). Columns
    (``columns``: the widest, 0 for the pass through the scratch) hold combined maps, so their
    combine rule and kept axes count too."""
    work = {
        "shape": list(shape),
        "weights": card["weights"]["sha256"],
        "axes": list(config.axes),
        "tta": config.tta,
        "tile": config.tile,
        "overlap": config.overlap,
        "blocks": blocks,
    }
    if columns:
        work.update(columns=columns, combine=config.combine, keep_axes=config.keep_axes)
    return work


class VolumePredictor:
    """Predicts the requested axes of an image into a scratch, then combines them."""

    def __init__(
        self,
        model: UNet2p5D,
        card: dict[str, Any],
        image,
        voxel_nm: tuple[float, float, float],
        config: PredictConfig,
        device: torch.device,
        reporter: Reporter | None = None,
    ) -> None:
        config.check()
        self.card = card
        self.image = image
        self.shape = tuple(int(s) for s in image.shape)
        self.config = config
        self.device = device
        self.reporter = reporter or Reporter()
        self.outputs = output_names(card)
        arch = UNetConfig.from_json(card["architecture"])
        tile = config.tile or TILE.get(device.type, TILE["cpu"])
        config.tile = max(arch.multiple, tile // arch.multiple * arch.multiple)
        if config.overlap is None:
            config.overlap = min(MAX_DEFAULT_OVERLAP, config.tile // 8)
        config.memory_mb = config.memory_mb or block_memory_mb(device)
        self.views = views_for(card, self.shape, voxel_nm, config.axes)
        if config.compile is None:
            config.compile = compile_by_default(device, self.views.values(), config.tta)
            if config.compile:
                self.reporter.log("compiling the model first (a large job on a GPU): about 20 s")
        self.runner = TileRunner(
            model,
            len(card["classes"]),
            card["loss"],
            device,
            batch=config.batch,
            tta=config.tta,
            compile=config.compile,
            log=self.reporter.log,
        )
        self.normaliser = normaliser_for_image(card, image)
        self.multiple = arch.multiple
        self.predictors = {a: self.plane_predictor(v) for a, v in self.views.items()}
        self.seconds: dict[str, float] = {}  # per axis, filled as the axes are predicted
        self.column_seconds: list[float] = []  # of the fused pass: each column's turn
        # of the fused pass: where each column's turn went (seconds per axis, combining, and
        # waiting for the writer to finish the column before), to find what limits a job
        self.column_parts: list[dict[str, float]] = []
        # seconds each pipeline stage was busy (its thread's own time): the largest one is
        # what limits the job
        self.busy: dict[str, float] = defaultdict(float)
        self._total = self._done = 0
        budget = config.memory_mb * 2**20
        self.blocks = {
            a: min(self.views[a].planes, p.planes_per_group(budget))
            for a, p in self.predictors.items()
        }
        self.columns = self._plan_columns()

    def plane_predictor(self, view: View) -> PlanePredictor:
        """A predictor of ``view``'s planes with this job's model, tiles and normalisation."""
        config = self.config
        return PlanePredictor(
            view,
            self.runner,
            self.normaliser,
            config.tile,
            config.overlap,
            self.multiple,
            len(self.outputs),
        )

    def _plan_columns(self) -> list[Column]:
        """The columns of the fused pass; [] for the pass through the scratch (see
        ``PredictConfig.columns``)."""
        config = self.config
        if config.columns is False or not self.scratch_axes:
            return []
        xz = self.views.get("xz") or self.views["yz"]
        ratios = (xz.voxel_nm[1] / xz.pixel_nm, xz.voxel_nm[2] / xz.pixel_nm)
        reach = max(max(self.views[a].reach) for a in self.scratch_axes)
        halo = column_halo(config.overlap, ratios, reach)
        chunks = chunks_for(self.shape, DEFAULT_CHUNKS)[1:]
        budgets = memory_budgets(
            free_memory(self.device) or 4 * config.memory_mb * 2**20,
            len(self.outputs),
            len(config.axes),
            config.keep_axes,
        )
        most = most_chunks(config.tile, halo, min(chunks), ratios, self.shape[0], budgets)
        widest = most * min(chunks)
        if config.columns is None and (
            self.device.type != "cuda" or widest < min(MIN_COLUMN, *self.shape[1:])
        ):
            return []
        if not most:
            raise PredictionSetupError(
                f"columns of the fused pass do not fit: a tile of {config.tile} px holds no "
                f"{min(chunks)}-voxel chunk with a halo of {halo} voxels on each side, or the "
                "memory holds no such column. Use a larger --tile or no --columns."
            )
        return plan_columns(self.shape, chunks, most, halo)

    @property
    def column_width(self) -> int:
        """Rows of the widest column of the fused pass; 0 for the pass through the scratch."""
        return max((c.y[1] - c.y[0] for c in self.columns), default=0)

    def plan(self) -> dict[str, Any]:
        return plan(self.card, self.shape, self.config, self.blocks, self.column_width)

    def run_columns(
        self,
        scratch: Scratch,
        sink: Callable[[Column, Maps], None],
        flush: Callable[[], None] = lambda: None,
    ) -> None:
        """The fused pass (``columns``): every column predicted along all the axes, combined
        and handed to ``sink``, skipping those ``scratch`` records as done (a column written
        by ``sink`` is durable once the next ``sink`` call or ``flush`` has returned)."""
        ColumnPass(self, self.columns).run(scratch, sink, flush)

    @property
    def scratch_axes(self) -> list[str]:
        """Axes predicted ahead into the scratch; XY is predicted in the final z-order pass."""
        return [a for a in self.config.axes if a != "xy"]

    def _block_list(self, axis: str) -> list[tuple[int, int]]:
        n, step = self.views[axis].planes, self.blocks[axis]
        return [(s, min(s + step, n)) for s in range(0, n, step)]

    def _cost(self, axis: str) -> int:
        """Model pixels of one plane of ``axis`` (progress is counted in these)."""
        mu, mv = self.views[axis].model_plane
        return mu * mv

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.busy[stage] += time.perf_counter() - start

    def run(self, scratch: Scratch) -> None:
        """Predict the XZ/YZ axes into ``scratch``, skipping blocks it already holds."""
        self.runner.expect_tiles(p.grid.tile for p in self.predictors.values())
        todo = {
            a: [b for b in self._block_list(a) if b not in scratch.done_blocks(a)]
            for a in self.scratch_axes
        }
        self._total = sum(self.views[a].model_pixels for a in self.config.axes)
        self._done = sum(
            (self.views[a].planes - sum(s - f for f, s in todo[a])) * self._cost(a) for a in todo
        )
        skipped = sum(len(self._block_list(a)) - len(todo[a]) for a in todo)
        if skipped:
            self.reporter.log(f"resuming: {counted(skipped, 'block')} already predicted, skipped")
        for axis in self.scratch_axes:
            start = time.perf_counter()
            self._run_axis(axis, todo[axis], scratch)
            self.seconds[axis] = time.perf_counter() - start

    def _advance(self, axis: str, planes: int, stop: int) -> None:
        self._done += planes * self._cost(axis)
        self.reporter.progress(
            self._done, self._total, f"{axis.upper()} planes {stop}/{self.views[axis].planes}"
        )

    def _read(self, axis: str, block: tuple[int, int]):
        """(block, first plane read, the (z, y, x) box of the planes the block needs)."""
        view = self.views[axis]
        lo, hi = view.native_span(*block)
        nu, nv = view.native_plane
        with self.timed("read image"):
            box = np.asarray(self.image[box_key(axis, (lo, hi), (0, nu), (0, nv))])
        return block, lo, box

    def _run_axis(self, axis: str, blocks: list[tuple[int, int]], scratch: Scratch) -> None:
        predictor = self.predictors[axis]
        pending: Future | None = None
        read = functools.partial(self._read, axis)
        with (
            ThreadPoolExecutor(1, thread_name_prefix="scratch-writer") as writer,
            Prefetcher(read, blocks, depth=2) as reads,
        ):
            for (first, stop), lo, native in reads:
                probs = predictor.predict(native, lo, first, stop)
                if pending is not None:
                    pending.result()
                pending = writer.submit(self._write_scratch, scratch, axis, first, probs)
                self._advance(axis, stop - first, stop)
            if pending is not None:
                pending.result()

    def _write_scratch(self, scratch: Scratch, axis: str, first: int, probs: np.ndarray) -> None:
        with self.timed("write scratch"):
            scratch.write(axis, first, probs)

    def combined_slabs(self, scratch: Scratch) -> Iterator[tuple[int, dict, dict]]:
        """(z0, {output: combined (z, y, x) uint8}, {output: {axis: map}}) in z order; the
        per-axis maps are given only when ``config.keep_axes`` (else the dicts are empty). XY
        planes are predicted here, slab by slab, and combined with the scratch's XZ/YZ maps;
        the next slabs are read and computed while the caller writes this one."""
        if "xy" in self.config.axes:
            step = self.blocks["xy"]
        else:
            y, x = self.shape[1:]
            per_plane = y * x * len(self.outputs) * (len(self.config.axes) + 2)
            step = int(max(1, min(32, self.config.memory_mb * 2**20 // per_plane)))
        z = self.shape[0]
        slabs = [(z0, min(z0 + step, z)) for z0 in range(0, z, step)]
        with (
            Prefetcher(functools.partial(self._gather, scratch), slabs, depth=1) as gathered,
            Prefetcher(self._combine, gathered, depth=1) as ready,
        ):
            for slab in ready:
                with self.timed("write outputs"):
                    yield slab  # the caller writes it

    def _gather(self, scratch: Scratch, block: tuple[int, int]):
        """A slab's inputs from disk: (image box, its first plane) for its XY planes (None
        without XY) and its plane-major XZ/YZ maps, {output: {axis: array}}."""
        z0, z1 = block
        xy_input = None
        if "xy" in self.config.axes:
            _, first_read, box = self._read("xy", block)
            xy_input = (box, first_read)
        with self.timed("read scratch"):
            maps = {
                name: {axis: scratch.read_planes(axis, name, z0, z1) for axis in self.scratch_axes}
                for name in self.outputs
            }
        return block, xy_input, maps

    def _combine(self, gathered):
        """(z0, combined, kept): the slab's XY planes predicted, its XZ/YZ maps moved to the
        device as (z, y, x) and combined with them there; the combined maps (and the per-axis
        ones if kept) brought back as numpy arrays."""
        (z0, z1), xy_input, maps = gathered
        per_axis: dict[str, dict[str, torch.Tensor]] = {name: {} for name in self.outputs}
        if xy_input is not None:
            start = time.perf_counter()
            probs = self.predictors["xy"].predict_tensor(*xy_input, z0, z1)
            synchronize(self.device)  # the XY time includes the GPU's work
            for k, name in enumerate(self.outputs):
                per_axis[name]["xy"] = probs[:, k].contiguous()
            self.seconds["xy"] = self.seconds.get("xy", 0.0) + time.perf_counter() - start
            self._advance("xy", z1 - z0, z1)
        with self.timed("combine"):
            for name, by_axis in maps.items():  # (z, y, x) on the device, contiguous once
                for axis, planes in by_axis.items():
                    moved = torch.from_numpy(planes).to(self.device)
                    per_axis[name][axis] = moved.permute(FROM_PLANE_MAJOR[axis]).contiguous()
            combined = {
                name: combine(list(tensors.values()), self.config.combine).cpu().numpy()
                for name, tensors in per_axis.items()
            }
            kept = {
                name: {axis: t.cpu().numpy() for axis, t in tensors.items()}
                if self.config.keep_axes
                else {}
                for name, tensors in per_axis.items()
            }
        return z0, combined, kept
