"""The training loop: sparse-label patches, augmentation, Dice + BCE/CE, validation per epoch,
best weights kept, early stopping, warm-up + cosine LR, mixed precision on CUDA, seeded
determinism, a resumable checkpoint every epoch, transfer learning (start from a model, encoder
frozen for the first epochs)."""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psutil
import torch

from emstudio.core.ml import presets
from emstudio.core.ml.augment import augment
from emstudio.core.ml.checkpoint import checkpoint_state, restore, save_checkpoint
from emstudio.core.ml.device import autocast, free_memory, uses_fp16
from emstudio.core.ml.errors import ModelMismatchError, TrainingDivergedError, TrainingSetupError
from emstudio.core.ml.geometry import AXES, View, fitting_patch
from emstudio.core.ml.labels import LabelledSlices, Target
from emstudio.core.ml.losses import (
    SegmentationLoss,
    class_weights,
    output_channels,
)
from emstudio.core.ml.normalise import Normaliser
from emstudio.core.ml.prefetch import Prefetcher
from emstudio.core.ml.sampling import Batch, PatchSampler
from emstudio.core.ml.train_config import TrainConfig
from emstudio.core.ml.transfer import follow_parent, init_from, outputs_changed
from emstudio.core.ml.unet import UNet2p5D, UNetConfig
from emstudio.core.ml.validation import batch_on_device, evaluate
from emstudio.core.text import counted

MIN_PLANE_FRACTION = 0.5  # an XZ/YZ view smaller than half a patch is not used for training
AUTO_MAX_ANISOTROPY = 6.0  # "auto" axes: XZ/YZ views only up to this z : x voxel ratio
CLASS_CHECK_PATCHES = 32  # random patches whose labels say how often each class occurs


class Reporter(Protocol):
    def progress(self, done: int, total: int, message: str = "") -> None: ...
    def log(self, message: str) -> None: ...
    def metric(self, name: str, step: int, value: float) -> None: ...


class SilentReporter:
    def progress(self, done: int, total: int, message: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass

    def metric(self, name: str, step: int, value: float) -> None:
        pass


@dataclass
class TrainData:
    """The arrays to learn from ((z, y, x) array-likes: zarr or numpy) and what they mean."""

    image: Any
    labels: Any
    voxel_nm: tuple[float, float, float]
    slices: LabelledSlices
    target: Target
    instances: Any = None


@dataclass
class TrainResult:
    model: UNet2p5D
    config: UNetConfig
    geometry: dict[str, Any]
    normaliser: Normaliser
    axes: list[str]
    history: list[dict[str, Any]]
    best_epoch: int
    dice: dict[str, float]
    iou: dict[str, float]
    seconds: float
    stopped_early: bool
    init_report: str | None = None
    val_slices: dict[str, list[int]] | None = None  # the slices validation scored
    held_out: bool = True  # False: validation scored the training slices
    start_dice: dict[str, float] | None = None  # the starting model's, where it is the same model


def output_names(target: Target) -> list[str]:
    return list(target.classes) + (["boundary"] if target.boundary_of else [])


def build_views(
    data: TrainData, config: TrainConfig, geometry: dict[str, float], reporter: Reporter
) -> dict[str, View]:
    """The views to sample from; refuses a patch larger than the XY planes."""
    shape = tuple(data.image.shape)
    axes = config.axes or AXES
    anisotropy = max(data.voxel_nm) / min(data.voxel_nm)
    if config.axes is None and anisotropy > AUTO_MAX_ANISOTROPY:
        reporter.log(
            f"voxels are {anisotropy:.1f}x anisotropic: XZ/YZ views (mostly interpolation at "
            f"this ratio) are left out of training; ask for them with --axes xy,xz,yz"
        )
        axes = ("xy",)
    views = {
        a: View(a, shape, data.voxel_nm, geometry["pixel_size_nm"], geometry["slice_step_nm"],
                config.input_slices)
        for a in axes
    }  # fmt: skip
    if "xy" in views:
        mu, mv = views["xy"].model_plane
        if min(mu, mv) < config.patch:
            raise TrainingSetupError(
                f"the image planes are {mu} x {mv} pixels at the model's resolution, smaller "
                f"than the patch size {config.patch}: choose --patch {fitting_patch((mu, mv))} "
                "or less."
            )
    for axis in [a for a in views if a != "xy"]:
        mu, mv = views[axis].model_plane
        if min(mu, mv) < config.patch * MIN_PLANE_FRACTION:
            reporter.log(
                f"{axis.upper()} planes are only {mu} x {mv} model pixels (patch "
                f"{config.patch}): not used for training."
            )
            del views[axis]
    if not views:
        raise TrainingSetupError(
            f"the image is too small for the patch size {config.patch} along every axis."
        )
    return views


MEMORY_SHARE = 0.8  # of the free memory, the most a training step may be expected to take


def check_step_memory(config: TrainConfig, device: torch.device) -> None:
    """Refuse a batch and patch whose training step would not fit the free memory (the
    machine's, or the GPU's), before anything is loaded."""
    needed = presets.train_step_bytes(config.size, config.batch, config.patch)
    free = free_memory(device)
    where = "GPU memory" if free is not None else "memory"
    free = psutil.virtual_memory().available if free is None else free
    if needed > free * MEMORY_SHARE:
        raise TrainingSetupError(
            f"a batch of {config.batch} patches of {config.patch} px needs about "
            f"{needed / 2**30:.1f} GiB of {where} to train, {free / 2**30:.1f} GiB are free: "
            "choose a smaller batch size (--batch) or patch size (--patch)."
        )


def model_geometry(
    data: TrainData, config: TrainConfig, parent_card: dict[str, Any] | None
) -> dict[str, float]:
    """The model grid: a parent's (transfer learning), else the settings', else the image's."""
    inputs = parent_card["input"] if parent_card is not None else {}
    pixel = config.pixel_size_nm or inputs.get("pixel_size_nm") or min(data.voxel_nm[1:])
    step = config.slice_step_nm or inputs.get("slice_step_nm") or max(data.voxel_nm)
    if parent_card is not None and int(inputs["slices"]) != config.input_slices:
        raise ModelMismatchError(
            f"the starting model takes {inputs['slices']} slices as input; this training "
            f"asks for {config.input_slices}: leave --input-slices at {inputs['slices']}."
        )
    if not (math.isfinite(pixel) and pixel > 0 and math.isfinite(step) and step > 0):
        raise TrainingSetupError("pixel size and slice step must be positive numbers of nm.")
    return {"pixel_size_nm": float(pixel), "slice_step_nm": float(step)}


def warmup_cosine(total: int, warmup: float = 0.05) -> Callable[[int], float]:
    """LR factor per step: linear warm-up over the first 5 % of steps, then cosine to 2 %."""
    ramp = max(1, int(total * warmup))

    def factor(step: int) -> float:
        if step < ramp:
            return (step + 1) / ramp
        t = min(1.0, (step - ramp) / max(1, total - ramp))
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t))

    return factor


def _draw(sampler: PatchSampler, rng: np.random.Generator, size: int, _item: int) -> Batch:
    return sampler.batch(rng, size)


class Trainer:
    """One training run: samplers, model, optimiser, schedule and progress, epoch by epoch."""

    def __init__(
        self,
        data: TrainData,
        config: TrainConfig,
        device: torch.device,
        normaliser: Normaliser,
        parent: tuple[UNet2p5D, dict[str, Any]] | None,
        reporter: Reporter,
    ) -> None:
        config.check()
        config.check_start(parent is not None)
        self.data, self.config, self.device, self.reporter = data, config, device, reporter
        if config.freeze_encoder_epochs >= config.epochs:
            reporter.log(
                f"the encoder stays as the starting model made it for all {config.epochs} "
                "epochs: only the decoder learns."
            )
        elif config.freeze_encoder_epochs:
            frozen = counted(config.freeze_encoder_epochs, "epoch")
            reporter.log(f"the encoder stays fixed for the first {frozen}.")
        check_step_memory(config, device)
        self.normaliser = normaliser
        self.names = output_names(data.target)
        if parent is not None:
            follow_parent(config, parent[1], reporter.log)
        self.geometry = model_geometry(data, config, parent[1] if parent else None)
        self.views = build_views(data, config, self.geometry, reporter)
        self._samplers()
        target = data.target
        outputs = output_channels(len(target.classes), bool(target.boundary_of), config.loss)
        self.arch = config.architecture(outputs)
        if config.patch % self.arch.multiple:
            fitting = max(
                self.arch.multiple, config.patch // self.arch.multiple * self.arch.multiple
            )
            raise TrainingSetupError(
                f"the patch size must be a multiple of {self.arch.multiple} for this model "
                f"(depth {self.arch.depth}): use --patch {fitting}."
            )
        self._model(parent)
        self.progress: dict[str, Any] = {
            "epoch": 0, "history": [], "best": -1.0, "best_epoch": -1, "best_model": None,
        }  # fmt: skip

    def _samplers(self) -> None:
        data, config = self.data, self.config
        train_slices, val_slices = data.slices.split(config.val_fraction)
        self.held_out = bool(val_slices.count)
        if not self.held_out:
            reason = (
                "--val-fraction is 0" if config.val_fraction <= 0
                else "only one labelled slice per axis"
            )  # fmt: skip
            self.reporter.log(
                f"{reason}: validation uses the training slices, so its scores are not those "
                "of unseen data."
            )
            val_slices = train_slices
        else:
            self.reporter.log(
                f"validation on held-out slices {val_slices.describe()}; training on "
                f"{train_slices.describe()}."
            )
        self.val_slices = val_slices

        def sampler_for(slices: LabelledSlices) -> PatchSampler:
            return PatchSampler(
                data.image, data.labels, slices, self.views, data.target, config.patch,
                self.normaliser, instances=data.instances, focus=config.focus,
            )  # fmt: skip

        self.sampler = sampler_for(train_slices)
        if not self.sampler.axes:
            raise TrainingSetupError("no labelled voxels can be sampled with these settings.")
        val_rng = np.random.default_rng([config.seed, 999_999])
        # patches placed anywhere, not half on labelled objects as in training: there a
        # sparse class's false positives in empty areas went uncounted (mitochondria scored
        # 0.81 on the card, 0.66 on the whole validation slices)
        self.val_batch = sampler_for(val_slices).batch(val_rng, config.val_patches, focus=0.0)
        fractions = self.sampler.class_fractions(
            np.random.default_rng([config.seed, 999_998]), CLASS_CHECK_PATCHES
        )
        self.loss = SegmentationLoss(
            len(data.target.classes), bool(data.target.boundary_of), config.loss,
            class_weights(fractions),
        )  # fmt: skip
        self.reporter.log(
            f"sampling {', '.join(self.sampler.axes)} views; labelled fractions "
            + ", ".join(f"{n} {f:.3f}" for n, f in zip(self.names, fractions, strict=True))
        )
        for name in (n for n, f in zip(self.names, fractions, strict=True) if f == 0):
            self.reporter.log(
                f"warning: no {name!r} voxel in {CLASS_CHECK_PATCHES} patches of the labelled "
                f"slices: is {name!r} painted? The model cannot learn a class it never sees."
            )

    def _model(self, parent: tuple[UNet2p5D, dict[str, Any]] | None) -> None:
        config = self.config
        torch.manual_seed(config.seed)
        model = UNet2p5D(self.arch)
        changed = outputs_changed(parent[1], self.names) if parent is not None else ""
        self.init_report = init_from(model, parent[0], changed) if parent is not None else None
        self.starts_as_parent = parent is not None and not changed  # its maps, all its layers
        if self.init_report:
            self.reporter.log(f"transfer learning: {self.init_report}")
        self.model = model.to(self.device).to(memory_format=torch.channels_last)
        self.net = torch.compile(self.model) if config.compile else self.model
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.total_steps = config.epochs * config.iterations
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(self.total_steps)
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.amp and uses_fp16(self.device))
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True

    def resume(self, state: dict[str, Any]) -> None:
        self.progress = restore(state, self.model, self.optimizer, self.scheduler, self.scaler,
                                self.arch.to_json())  # fmt: skip
        self.reporter.log(f"resumed after epoch {self.progress['epoch']}")

    def checkpoint(self) -> dict[str, Any]:
        return checkpoint_state(self.model, self.optimizer, self.scheduler, self.scaler,
                                self.progress, self.arch.to_json())  # fmt: skip

    def run_epoch(self, epoch: int) -> float:
        """One epoch of ``iterations`` batches; returns the mean training loss."""
        config = self.config
        frozen = epoch < config.freeze_encoder_epochs
        for p in self.model.encoder_parameters():
            p.requires_grad_(not frozen)
        self.model.train()
        if frozen:
            self.model.encoder.eval()  # keep the parent's normalisation statistics too
        rng = np.random.default_rng([config.seed, epoch])
        gen = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        draw = functools.partial(_draw, self.sampler, rng, config.batch)
        losses = []
        with Prefetcher(draw, range(config.iterations)) as batches:
            for it, batch in enumerate(batches):
                image, index, boundary, mask = augment(
                    batch_on_device(batch, self.device), config.augment, gen, batch.turnable
                )
                with autocast(self.device, config.amp):
                    logits = self.net(image.contiguous(memory_format=torch.channels_last))
                loss = self.loss(logits, index, boundary, mask)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.scheduler.step()
                losses.append(float(loss.detach()))
                done = epoch * config.iterations + it + 1
                self.reporter.progress(done, self.total_steps, f"epoch {epoch + 1}/{config.epochs}")
        return float(np.mean(losses))

    def check_finite(self, epoch: int) -> None:
        """Refuse to go on once a weight is NaN or infinite (a learning rate too high): the
        model could only predict nonsense, so none is saved."""
        if all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            return
        raise TrainingDivergedError(
            f"training failed in epoch {epoch + 1}: the model's weights are no longer numbers "
            f"(learning rate {self.config.lr:g} is probably too high). No model was saved: "
            "train again with a lower learning rate."
        )

    def record(self, epoch: int, loss: float) -> None:
        """Validate, report the epoch's figures and keep the best weights."""
        scores = evaluate(self.model, self.val_batch, self.loss, self.device)
        dice, iou = scores.dice(), scores.iou()
        entry = {
            "epoch": epoch + 1,
            "loss": loss,
            "val_dice": float(np.mean(dice)),
            "dice": {n: float(d) for n, d in zip(self.names, dice, strict=True)},
            "iou": {n: float(v) for n, v in zip(self.names, iou, strict=True)},
            "lr": float(self.scheduler.get_last_lr()[0]),
        }
        self.progress["history"].append(entry)
        step = epoch + 1
        self.reporter.metric("train_loss", step, loss)
        self.reporter.metric("val_dice", step, entry["val_dice"])
        self.reporter.metric("val_iou", step, float(np.mean(iou)))
        for n in self.names:
            self.reporter.metric(f"val_dice_{n}", step, entry["dice"][n])
        self.reporter.log(
            f"epoch {step}: loss {loss:.4f}, validation Dice "
            + ", ".join(f"{n} {entry['dice'][n]:.3f}" for n in self.names)
        )
        if entry["val_dice"] > self.progress["best"]:
            self.progress["best"], self.progress["best_epoch"] = entry["val_dice"], step
            weights = {k: v.cpu() for k, v in self.model.state_dict().items()}
            self.progress["best_model"] = copy.deepcopy(weights)
        self.progress["epoch"] = step

    def score_start(self) -> dict[str, float]:
        """The starting model's validation Dice per output, logged (to compare the epochs
        with: a short fine-tuning can make a model worse than the one it started from)."""
        dice = evaluate(self.model, self.val_batch, self.loss, self.device).dice()
        start = {n: float(d) for n, d in zip(self.names, dice, strict=True)}
        self.reporter.log(
            "the starting model, before training: validation Dice "
            + ", ".join(f"{n} {d:.3f}" for n, d in start.items())
        )
        return start

    def stale(self) -> bool:
        """Early stop: no better validation Dice for ``patience`` epochs."""
        patience = self.config.patience
        return bool(patience) and self.progress["epoch"] - self.progress["best_epoch"] >= patience

    def result(
        self, seconds: float, stopped_early: bool, start: dict[str, float] | None = None
    ) -> TrainResult:
        self.model.load_state_dict(self.progress["best_model"])
        model = self.model.cpu().eval().to(memory_format=torch.contiguous_format)
        best = self.progress["history"][self.progress["best_epoch"] - 1]
        return TrainResult(
            model=model, config=self.arch, geometry=self.geometry, normaliser=self.normaliser,
            axes=self.sampler.axes, history=self.progress["history"],
            best_epoch=self.progress["best_epoch"], dice=best["dice"], iou=best["iou"],
            seconds=seconds, stopped_early=stopped_early, init_report=self.init_report,
            val_slices=self.val_slices.to_json(), held_out=self.held_out, start_dice=start,
        )  # fmt: skip


def train(
    data: TrainData,
    config: TrainConfig,
    device: torch.device,
    normaliser: Normaliser,
    *,
    parent: tuple[UNet2p5D, dict[str, Any]] | None = None,
    checkpoint: Path | None = None,
    resume: dict[str, Any] | None = None,
    reporter: Reporter | None = None,
    on_epoch: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train a model on ``data``; saves ``checkpoint`` after each epoch, continues ``resume``."""
    begun = time.monotonic()
    reporter = reporter or SilentReporter()
    trainer = Trainer(data, config, device, normaliser, parent, reporter)
    if resume is not None:
        trainer.resume(resume)
    start = trainer.score_start() if trainer.starts_as_parent and resume is None else None
    stopped_early = False
    for epoch in range(trainer.progress["epoch"], config.epochs):
        loss = trainer.run_epoch(epoch)
        trainer.check_finite(epoch)
        trainer.record(epoch, loss)
        if checkpoint is not None:
            save_checkpoint(checkpoint, trainer.checkpoint())
        if on_epoch is not None:
            on_epoch(epoch + 1)
        if trainer.stale():
            reporter.log(f"early stop: no better validation Dice for {config.patience} epochs")
            stopped_early = True
            break
    result = trainer.result(time.monotonic() - begun, stopped_early, start)
    if start is not None:
        after, before = np.mean(list(result.dice.values())), np.mean(list(start.values()))
        if after < before:
            reporter.log(
                f"the trained model scores lower than the model it started from (validation "
                f"Dice {after:.3f} against {before:.3f}): train longer, or go on using the "
                "starting model"
            )
    return result
