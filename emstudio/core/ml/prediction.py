"""Out-of-core tri-axis prediction of a volume.

XZ and YZ planes are predicted first, in blocks of planes (``planes.PlanePredictor``): a reader
thread fetches the next block's voxels from the store while the model runs, and a writer thread
stores finished blocks in the job's scratch (``scratch.Scratch``); a restarted job skips the
blocks already there. The final pass goes through z in slabs: it predicts the slab's XY planes,
reads the slab's XZ/YZ maps back from the scratch and combines them (``combine``) for the
caller to write, while the next slab is computed. XY maps never touch the scratch. Memory is
bounded by the block budget (a few planes with their neighbours, ``memory_mb``), whatever the
volume's size; disk needs one byte per voxel, output and XZ/YZ axis for the scratch.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from emstudio.core.ml.card import output_names
from emstudio.core.ml.combine import RULES, combine
from emstudio.core.ml.errors import ModelMismatchError
from emstudio.core.ml.geometry import AXES, View, read_box
from emstudio.core.ml.inference import TileRunner
from emstudio.core.ml.normalise import Normaliser, volume_stats
from emstudio.core.ml.planes import PlanePredictor
from emstudio.core.ml.prefetch import Prefetcher
from emstudio.core.ml.scratch import Scratch
from emstudio.core.ml.unet import UNet2p5D, UNetConfig

MAX_SCALE = 8.0  # refuse resampling by more than this (the model does not fit the data)


@dataclass
class PredictConfig:
    axes: list[str] = field(default_factory=lambda: list(AXES))
    combine: str = "mean"
    tta: bool = False
    keep_axes: bool = False
    batch: int | None = None  # tiles per model call; None: from free GPU memory (CPU: 4)
    tile: int = 512  # largest tile, model pixels (planes are cut into even tiles up to this)
    overlap: int | None = None  # None: tile // 8
    compile: bool = False
    memory_mb: int | None = None  # working memory of a block; None: 8 GiB on CUDA, else 512 MiB

    def check(self) -> None:
        bad = [a for a in self.axes if a not in AXES]
        if bad or not self.axes:
            raise ModelMismatchError(f"axes must be some of xy, xz, yz (got {self.axes}).")
        if self.combine not in RULES:
            raise ModelMismatchError(f"combine must be one of {', '.join(RULES)}.")

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


def plan(card: dict[str, Any], shape, config: PredictConfig, blocks: dict[str, int]) -> dict:
    """What identifies the scratch work (a resumed job must match it to reuse it)."""
    return {
        "shape": list(shape),
        "weights": card["weights"]["sha256"],
        "axes": list(config.axes),
        "tta": config.tta,
        "tile": config.tile,
        "overlap": config.overlap,
        "blocks": blocks,
    }


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
        config.tile = max(arch.multiple, config.tile // arch.multiple * arch.multiple)
        config.overlap = config.overlap if config.overlap is not None else config.tile // 8
        config.memory_mb = config.memory_mb or (8192 if device.type == "cuda" else 512)
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
        self.views = views_for(card, self.shape, voxel_nm, config.axes)
        self.predictors = {
            a: PlanePredictor(
                v,
                self.runner,
                self.normaliser,
                config.tile,
                config.overlap,
                arch.multiple,
                len(self.outputs),
            )
            for a, v in self.views.items()
        }
        self.seconds: dict[str, float] = {}  # per axis, filled as the axes are predicted
        self._total = self._done = 0
        budget = config.memory_mb * 2**20
        self.blocks = {
            a: min(self.views[a].planes, p.planes_per_group(budget))
            for a, p in self.predictors.items()
        }

    def plan(self) -> dict[str, Any]:
        return plan(self.card, self.shape, self.config, self.blocks)

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

    def run(self, scratch: Scratch) -> None:
        """Predict the XZ/YZ axes into ``scratch``, skipping blocks it already holds."""
        todo = {
            a: [b for b in self._block_list(a) if b not in scratch.done_blocks(a)]
            for a in self.scratch_axes
        }
        self._total = sum(self.views[a].planes * self._cost(a) for a in self.config.axes)
        self._done = sum(
            (self.views[a].planes - sum(s - f for f, s in todo[a])) * self._cost(a) for a in todo
        )
        skipped = sum(len(self._block_list(a)) - len(todo[a]) for a in todo)
        if skipped:
            self.reporter.log(f"resuming: {skipped} blocks already predicted are skipped")
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
        view = self.views[axis]
        lo, hi = view.native_span(*block)
        nu, nv = view.native_plane
        return block, lo, read_box(self.image, axis, (lo, hi), (0, nu), (0, nv))

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
                pending = writer.submit(scratch.write, axis, first, probs)
                self._advance(axis, stop - first, stop)
            if pending is not None:
                pending.result()

    def combined_slabs(self, scratch: Scratch) -> Iterator[tuple[int, dict, dict]]:
        """(z0, {output: combined (z, y, x) uint8}, {output: {axis: map}}) in z order: XY
        planes are predicted here, slab by slab, and combined with the scratch's XZ/YZ maps;
        the next slab is computed while the caller writes this one."""
        if "xy" in self.config.axes:
            step = self.blocks["xy"]
        else:
            y, x = self.shape[1:]
            per_plane = y * x * len(self.outputs) * (len(self.config.axes) + 2)
            step = int(max(1, min(32, self.config.memory_mb * 2**20 // per_plane)))
        z = self.shape[0]
        slabs = [(z0, min(z0 + step, z)) for z0 in range(0, z, step)]
        with Prefetcher(functools.partial(self._slab, scratch), slabs, depth=1) as ready:
            yield from ready

    def _slab(self, scratch: Scratch, block: tuple[int, int]):
        z0, z1 = block
        per_axis: dict[str, dict[str, np.ndarray]] = {name: {} for name in self.outputs}
        if "xy" in self.config.axes:
            start = time.perf_counter()
            _, lo, native = self._read("xy", block)
            probs = self.predictors["xy"].predict(native, lo, z0, z1)
            for k, name in enumerate(self.outputs):
                per_axis[name]["xy"] = np.ascontiguousarray(probs[:, k])
            self.seconds["xy"] = self.seconds.get("xy", 0.0) + time.perf_counter() - start
            self._advance("xy", z1 - z0, z1)
        for axis in self.scratch_axes:
            for name in self.outputs:
                per_axis[name][axis] = scratch.read_z(axis, name, z0, z1)
        combined = {
            name: combine(list(maps.values()), self.config.combine)
            for name, maps in per_axis.items()
        }
        return z0, combined, per_axis
