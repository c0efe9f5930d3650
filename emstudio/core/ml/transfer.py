"""Transfer learning: a training started from a model trained before keeps its architecture
and takes its weights (all of them whose shapes fit; the output layer only where the starting
model gave the same maps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emstudio.core.ml.card import output_names as card_outputs
from emstudio.core.ml.errors import ModelMismatchError
from emstudio.core.ml.train_config import TrainConfig
from emstudio.core.ml.unet import UNet2p5D, UNetConfig


def follow_parent(config: TrainConfig, card: dict[str, Any], log: Callable[[str], None]) -> None:
    """Transfer learning keeps the starting model's architecture (size, depth, base channels,
    residual blocks, normalisation layers, stem): only tensors of its own shapes can take its
    weights. ``config`` is changed in place; a size that differs from the one asked for is
    reported."""
    arch = card.get("architecture")
    if not arch:
        return
    parent = UNetConfig.from_json(arch)
    asked = config.architecture(parent.out_channels)
    same = (asked.depth, asked.base_channels, asked.residual, asked.norm, asked.stem) == (
        parent.depth, parent.base_channels, parent.residual, parent.norm, parent.stem,
    )  # fmt: skip
    size = str(card.get("size") or "custom")
    if not same:
        log(
            f"the starting model is a {size} model (depth {parent.depth}, "
            f"{parent.base_channels} base channels): this training keeps its architecture "
            f"(the size setting, {config.size}, does not apply)"
        )
    config.size = size
    config.depth, config.base_channels = parent.depth, parent.base_channels
    config.residual, config.norm, config.stem = parent.residual, parent.norm, parent.stem


def init_from(model: UNet2p5D, parent: UNet2p5D, new_outputs: str = "") -> str:
    """Copy every parent tensor whose name and shape match; returns what was loaded. The whole
    encoder must fit (what transfer learning, and freezing it, are about). ``new_outputs``:
    why the parent's output layer (``head``) is not taken though it fits ("" to take it)."""
    own = model.state_dict()
    loaded = {
        k: v
        for k, v in parent.state_dict().items()
        if k in own and own[k].shape == v.shape and not (new_outputs and k.startswith("head."))
    }
    if any(k.startswith("encoder.") and k not in loaded for k in own):
        raise ModelMismatchError(
            "the starting model's encoder does not fit this training (different input slices or "
            "architecture)."
        )
    own.update(loaded)
    model.load_state_dict(own)
    skipped = sorted({k.split(".")[0] for k in model.state_dict() if k not in loaded})
    return (
        f"{len(loaded)} of {len(own)} tensors from the starting model"
        + (f" (new: {', '.join(skipped)})" if skipped else "")
        + (f"; {new_outputs}" if new_outputs else "")
    )


def outputs_changed(parent_card: dict[str, Any], names: list[str]) -> str:
    """Why a starting model's output layer is not reused: it gave other maps than this
    training's ``names`` ("" when the same, or when its card does not say)."""
    if "classes" not in parent_card:
        return ""
    before = card_outputs(parent_card)
    if before == names:
        return ""
    return (
        f"its output layer starts afresh: the starting model gave {', '.join(before)}, this "
        f"training learns {', '.join(names)}"
    )
