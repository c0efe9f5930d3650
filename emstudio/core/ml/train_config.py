"""Training settings: everything that shapes a run (stored in the job spec and the card)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from emstudio.core.ml import presets
from emstudio.core.ml.augment import AugmentConfig
from emstudio.core.ml.errors import TrainingSetupError
from emstudio.core.ml.geometry import PATCH_MULTIPLE
from emstudio.core.ml.losses import LOSSES
from emstudio.core.ml.unet import NORMS, STEMS, UNetConfig

# the `emstudio train` options of settings not named as their option
OPTIONS = {"freeze_encoder_epochs": "--freeze-encoder", "pixel_size_nm": "--pixel-size"}
NO_OPTION = ("norm", "stem", "weight_decay", "slice_step_nm")  # settings of spec files only


def option(name: str) -> str:
    """How messages name a setting: its command-line option, or for a setting that has none,
    its name in words."""
    if name in NO_OPTION:
        return f"the {name.replace('_', ' ')} setting"
    return OPTIONS.get(name, f"--{name.replace('_', '-')}")


@dataclass
class TrainConfig:
    """Model size and architecture, sampling, optimisation, validation and augmentation."""

    size: str = "default"
    depth: int | None = None  # None: from the size preset
    base_channels: int | None = None
    stem: int | None = None  # None: from the size preset (1 for a custom size)
    residual: bool = True
    norm: str = "batch"
    input_slices: int = 5
    loss: str = "bce_dice"
    epochs: int = 30
    iterations: int = 100
    batch: int = 8
    patch: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    val_patches: int = 16
    patience: int = 8
    seed: int = 0
    normalisation: str = "volume"
    axes: list[str] | None = None  # None: every axis the labels allow
    freeze_encoder_epochs: int = 0
    focus: float = 0.5
    pixel_size_nm: float | None = None  # None: the image's in-plane voxel size
    slice_step_nm: float | None = None  # None: the image's largest voxel size
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    amp: bool = True
    compile: bool = False

    def architecture(self, outputs: int) -> UNetConfig:
        preset = presets.SIZES.get(self.size)
        if preset is None and (self.depth is None or self.base_channels is None):
            raise TrainingSetupError(
                f"unknown model size {self.size!r}: use {', '.join(presets.SIZES)}."
            )
        return UNetConfig(
            in_channels=self.input_slices,
            out_channels=outputs,
            depth=self.depth or preset.depth,
            base_channels=self.base_channels or preset.base_channels,
            residual=self.residual,
            norm=self.norm,
            stem=self.stem or (preset.stem if preset else 1),
        )

    def check(self) -> None:
        problems = []
        if self.loss not in LOSSES:
            problems.append(f"--loss must be one of {', '.join(LOSSES)}")
        if self.norm not in NORMS:
            problems.append(f"{option('norm')} must be one of {', '.join(NORMS)}")
        if self.stem is not None and self.stem not in STEMS:
            problems.append(f"{option('stem')} must be one of {', '.join(map(str, STEMS))}")
        for name in ("input_slices", "epochs", "iterations", "batch"):
            if getattr(self, name) < 1:
                problems.append(f"{option(name)} must be at least 1")
        if self.patch < PATCH_MULTIPLE:
            problems.append(f"--patch must be at least {PATCH_MULTIPLE} pixels")
        for name in ("patience", "freeze_encoder_epochs"):
            if getattr(self, name) < 0:
                problems.append(f"{option(name)} must be 0 or more")
        if not 0 <= self.seed < 2**32:
            problems.append("--seed must be a whole number from 0 to 4294967295")
        if self.input_slices >= 1 and self.input_slices % 2 == 0:
            problems.append(
                "--input-slices must be odd (the plane predicted and as many neighbours on each "
                "side)"
            )
        if not 0 <= self.val_fraction < 1:
            problems.append("--val-fraction must be in [0, 1)")
        if not (math.isfinite(self.lr) and self.lr > 0):
            problems.append("--lr must be a positive number")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            problems.append(f"{option('weight_decay')} must be 0 or a positive number")
        for name in ("pixel_size_nm", "slice_step_nm"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                problems.append(f"{option(name)} must be a positive number of nm")
        if problems:
            raise TrainingSetupError("training settings: " + "; ".join(problems) + ".")

    def check_start(self, from_a_model: bool) -> None:
        """Refuse settings that need a starting model, where there is none."""
        if self.freeze_encoder_epochs and not from_a_model:
            raise TrainingSetupError(
                "freezing the encoder keeps a starting model's features: give a starting "
                "model (--init MODEL), or do not freeze (a random encoder would stay random)."
            )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["augment"] = self.augment.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known and v is not None}
        if isinstance(values.get("augment"), dict):
            values["augment"] = AugmentConfig(**values["augment"])
        try:
            config = cls(**values)
        except TypeError as exc:
            raise TrainingSetupError(f"training settings: {exc}.") from None
        config.check()
        return config
