"""Intensity normalisation of model inputs, recorded in the model card.

``volume``: standardise with the mean and standard deviation of the whole volume (estimated
from evenly spread planes), so a patch keeps its brightness relative to the rest (a nucleus
stays darker than cytoplasm). ``patch``: standardise each model input on its own (robust to
slow brightness drifts, at the price of a little context).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("volume", "patch")
SAMPLE_PLANES = 16
SAMPLE_PIXELS = 2**18  # per plane


@dataclass(frozen=True)
class Normaliser:
    mode: str
    mean: float = 0.0
    std: float = 1.0

    def apply(self, x: np.ndarray) -> np.ndarray:
        """float32 standardised copy of ``x`` (any leading dims; patch mode over all of it)."""
        x = x.astype(np.float32)
        if self.mode == "patch":
            return (x - x.mean()) / max(float(x.std()), 1e-3)
        return (x - np.float32(self.mean)) / np.float32(self.std)

    def to_json(self) -> dict:
        return {"mode": self.mode, "mean": self.mean, "std": self.std}


def volume_stats(array) -> tuple[float, float]:
    """Mean and standard deviation of a (z, y, x) array-like from evenly spread planes."""
    z, y, x = array.shape
    stride = max(1, int(np.sqrt(y * x / SAMPLE_PIXELS)))
    picks = np.unique(np.linspace(0, z - 1, min(z, SAMPLE_PLANES)).round().astype(int))
    values = np.concatenate(
        [np.asarray(array[int(k), ::stride, ::stride], dtype=np.float64).ravel() for k in picks]
    )
    return float(values.mean()), max(float(values.std()), 1e-3)


def normaliser_for(mode: str, array) -> Normaliser:
    if mode not in MODES:
        raise ValueError(f"normalisation must be one of {MODES}, not {mode!r}")
    if mode == "patch":
        return Normaliser("patch")
    mean, std = volume_stats(array)
    return Normaliser("volume", mean, std)
