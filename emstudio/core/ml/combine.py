"""Combining the per-axis probability maps of a voxel (uint8 0..255), as torch tensors on the
prediction's device (the maps are on the GPU already when one is used).

``mean`` (default): the average, rounded half up. ``max``: the largest (favours thin structures
seen well along one axis only). ``vote``: the majority's probability: the k-th largest of n maps
with k = n // 2 + 1, i.e. the median of three (>= 128 exactly when at least 2 of 3 axes say
>= 0.5), the smaller of two.
"""

from __future__ import annotations

import torch

RULES = ("mean", "max", "vote")


def combine(maps: list[torch.Tensor], rule: str) -> torch.Tensor:
    """One uint8 map from several of the same shape."""
    if rule not in RULES:
        raise ValueError(f"combine rule must be one of {RULES}, not {rule!r}")
    n = len(maps)
    if n == 1:
        return maps[0]
    if rule == "max":
        out = maps[0].clone()
        for m in maps[1:]:
            torch.maximum(out, m, out=out)
        return out
    if rule == "mean":
        total = maps[0].to(torch.int16)
        for m in maps[1:]:
            total += m
        total += n // 2
        return total.div_(n, rounding_mode="floor").to(torch.uint8)
    k = n // 2 + 1  # votes needed for a majority
    return torch.stack(maps).sort(dim=0).values[n - k]
