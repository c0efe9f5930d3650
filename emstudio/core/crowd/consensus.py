"""One mask from many volunteers' masks: mean (default), majority vote or STAPLE."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.crowd.staple import staple

METHODS = ("mean", "majority", "staple")
SIDES = ("centre", "inside")  # a traced outline is its band's middle, or its outer edge
STAPLE_MIN_RATERS = 3  # two raters who disagree cannot be told apart: EM has no unique answer


@dataclass
class Consensus:
    mask: np.ndarray  # bool, the shape of one input mask
    sensitivity: np.ndarray | None = None  # STAPLE only: per volunteer
    specificity: np.ndarray | None = None


def consensus(masks: np.ndarray, method: str = "mean") -> Consensus:
    """``masks``: (R, ...) bool, one per volunteer.

    mean: the fraction of volunteers marking a pixel is at least 0.5; majority: more than half of
    the volunteers mark it (ties are background); staple: STAPLE probability at least 0.5 (with
    fewer than three volunteers, the mean: STAPLE could drift to an empty mask).
    """
    masks = np.asarray(masks, dtype=bool)
    if method == "mean" or (method == "staple" and len(masks) < STAPLE_MIN_RATERS):
        return Consensus(masks.mean(axis=0) >= 0.5)
    if method == "majority":
        return Consensus(2 * masks.sum(axis=0) > len(masks))
    if method == "staple":
        result = staple(masks.reshape(len(masks), -1))
        mask = (result.probability >= 0.5).reshape(masks.shape[1:])
        return Consensus(mask, result.sensitivity, result.specificity)
    raise ValueError(f"consensus method must be one of {', '.join(METHODS)}, not {method!r}")
