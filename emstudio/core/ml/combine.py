"""Combining the per-axis probability maps of a voxel (uint8 0..255).

``mean`` (default): the average. ``max``: the largest (favours thin structures seen well along
one axis only). ``vote``: the majority's probability: the k-th largest of n maps with
k = n // 2 + 1, i.e. the median of three (>= 128 exactly when at least 2 of 3 axes say >= 0.5),
the smaller of two.
"""

from __future__ import annotations

import numpy as np

RULES = ("mean", "max", "vote")


def combine(maps: list[np.ndarray], rule: str) -> np.ndarray:
    """One uint8 map from several of the same shape."""
    if rule not in RULES:
        raise ValueError(f"combine rule must be one of {RULES}, not {rule!r}")
    if len(maps) == 1:
        return maps[0]
    if rule == "max":
        out = maps[0].copy()
        for m in maps[1:]:
            np.maximum(out, m, out=out)
        return out
    if rule == "mean":
        total = maps[0].astype(np.uint16)
        for m in maps[1:]:
            total += m
        return ((total + len(maps) // 2) // len(maps)).astype(np.uint8)
    stacked = np.stack(maps)
    k = len(maps) // 2 + 1  # votes needed for a majority
    return np.partition(stacked, len(maps) - k, axis=0)[len(maps) - k]
