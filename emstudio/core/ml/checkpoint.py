"""The resumable training checkpoint (``jobs/<id>/checkpoint.pt``), written after every epoch.

It holds tensors, numbers, strings, lists and dicts only, so it loads with
``torch.load(weights_only=True)``. Sampling and augmentation draw from generators seeded by
(seed, epoch), so a run resumed from epoch k continues exactly as if it had never stopped.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from emstudio.core.ml.errors import TrainingSetupError
from emstudio.core.project.atomic import atomic_write_bytes

CHECKPOINT_FILE = "checkpoint.pt"
PROGRESS_KEYS = ("epoch", "history", "best", "best_epoch", "best_model")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise TrainingSetupError(
            f"{path}: no checkpoint to resume from (the job saved none: it stopped before the "
            "end of its first epoch)."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file of any kind
        raise TrainingSetupError(f"{path}: the checkpoint cannot be read ({exc}).") from None
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        raise TrainingSetupError(f"{path}: not an emstudio training checkpoint.")
    return state


def checkpoint_state(model, optimizer, scheduler, scaler, progress: dict, arch_json: dict):
    """What a checkpoint holds: the run's objects' states plus its ``progress`` (epoch,
    history, best score, best epoch, best weights)."""
    return {
        "architecture": arch_json,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        **progress,
    }


def restore(state: dict, model, optimizer, scheduler, scaler, arch_json: dict) -> dict:
    """Load a checkpoint into the run's objects; returns its progress part."""
    if state.get("architecture") != arch_json:
        raise TrainingSetupError(
            "the checkpoint was made with another architecture or other outputs; it cannot be "
            "resumed with these settings."
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    return {key: state[key] for key in PROGRESS_KEYS}
