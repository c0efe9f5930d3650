"""Plain helpers shared by the deep-learning tests (importable: conftest.py is not)."""

from __future__ import annotations

import numpy as np
import torch

from emstudio.core.ml.card import build_card
from emstudio.core.ml.prediction import PredictConfig, VolumePredictor
from emstudio.core.ml.scratch import Scratch
from emstudio.core.ml.unet import UNetConfig

VOXEL = (40.0, 10.0, 10.0)
CPU = torch.device("cpu")


def tiny_card(config: UNetConfig, classes=("membrane", "mitochondria"), **inputs) -> dict:
    return build_card(
        name="tiny",
        size="custom",
        architecture=config.to_json(),
        inputs={
            "slices": config.in_channels,
            "pixel_size_nm": 10.0,
            "slice_step_nm": 40.0,
            "normalisation": {"mode": "volume", "mean": 0.0, "std": 1.0},
            "voxel_size_nm": list(VOXEL),
            "voxel_known": True,
            **inputs,
        },
        classes=list(classes),
        boundary=None,
        loss="bce_dice",
        training={},
        validation={},
        parent=None,
        created_at="2026-01-01T00:00:00+00:00",
        emstudio_version="test",
    )


def ramp_volume(shape=(8, 40, 48)) -> np.ndarray:
    z, y, x = np.indices(shape)
    return (z * 7 + y * 2 + x).astype(np.uint8)


def run_volume(model, image, tmp_path, name="s", tile=32, **config) -> tuple[VolumePredictor, dict]:
    net, card = model
    predictor = VolumePredictor(
        net, card, image, VOXEL, PredictConfig(tile=tile, keep_axes=True, **config), CPU
    )
    scratch, _ = Scratch.open(tmp_path / name, image.shape, predictor.outputs, predictor.plan())
    predictor.run(scratch)
    slabs = list(predictor.combined_slabs(scratch))
    combined = {n: np.concatenate([c[n] for _, c, _ in slabs]) for n in predictor.outputs}
    axes = {
        n: {a: np.concatenate([p[n][a] for *_, p in slabs]) for a in predictor.config.axes}
        for n in predictor.outputs
    }
    return predictor, {"combined": combined, "axes": axes}
