"""Agreement between 2D masks: Dice and average Hausdorff distance.

Same definitions as ``emstudio.core.metrics.semantic`` (surface = mask pixels with a background
face-neighbour, the array edge counting as background; average Hausdorff = the mean of the two
directed mean surface distances), which only handles 3D arrays for now; merge when it takes
any dimension.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """2|A∩B| / (|A|+|B|); 1.0 when both are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def surface(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask, bool)
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure, border_value=0)


def average_hausdorff(
    a: np.ndarray, b: np.ndarray, spacing: Sequence[float] | None = None
) -> float:
    """(mean distance from a's surface to b's + mean from b's to a's) / 2, in pixels or in the
    unit of ``spacing``; 0.0 when both masks are empty, inf when only one is."""
    sa, sb = surface(a), surface(b)
    if not sa.any() and not sb.any():
        return 0.0
    if not sa.any() or not sb.any():
        return float("inf")
    to_b = ndimage.distance_transform_edt(~sb, sampling=spacing)
    to_a = ndimage.distance_transform_edt(~sa, sampling=spacing)
    return float((to_b[sa].mean() + to_a[sb].mean()) / 2)
