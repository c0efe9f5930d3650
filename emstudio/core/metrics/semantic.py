"""Overlap and surface-distance metrics of binary masks (3D volumes, 2D slices: any dimension).

Hausdorff distances are between the masks' surfaces (object voxels with a background face
neighbour, 6 in 3D; the array's edge counts as background), measured with exact Euclidean
distance transforms, in voxels ("px") and, with ``sampling`` = voxel size, in nm:

- average Hausdorff distance = (mean of d(P -> T) + mean of d(T -> P)) / 2 (the symmetric
  average surface distance),
- 95% Hausdorff distance = max(95th percentile of d(P -> T), 95th percentile of d(T -> P)),
  the percentile taken with numpy's linear interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass
class OverlapCounts:
    """Running counts of true positives, false positives and false negatives (voxels)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, pred: np.ndarray, truth: np.ndarray) -> None:
        self.tp += int(np.count_nonzero(pred & truth))
        self.fp += int(np.count_nonzero(pred & ~truth))
        self.fn += int(np.count_nonzero(~pred & truth))

    @property
    def dice(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 1.0

    @property
    def iou(self) -> float:
        denominator = self.tp + self.fp + self.fn
        return self.tp / denominator if denominator else 1.0


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """2|A∩B| / (|A|+|B|) of two masks; 1.0 when both are empty."""
    counts = OverlapCounts()
    counts.add(np.asarray(a, bool), np.asarray(b, bool))
    return counts.dice


def surface(mask: np.ndarray) -> np.ndarray:
    """The mask's pixels or voxels with a background face neighbour (or on the array's edge)."""
    mask = np.asarray(mask, bool)
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure, border_value=0)


def surface_distances(
    pred: np.ndarray, truth: np.ndarray, sampling: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(d(P -> T), d(T -> P)): for each surface voxel, distance to the other surface."""
    sp, st = surface(pred), surface(truth)
    to_truth = ndimage.distance_transform_edt(~st, sampling=sampling)
    to_pred = ndimage.distance_transform_edt(~sp, sampling=sampling)
    return to_truth[sp], to_pred[st]


def average_hausdorff(
    a: np.ndarray, b: np.ndarray, sampling: Sequence[float] | None = None
) -> float:
    """(mean distance from a's surface to b's + mean from b's to a's) / 2, in pixels or in the
    unit of ``sampling``; 0.0 when both masks are empty, inf when only one is."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float("inf")
    d_ab, d_ba = surface_distances(a, b, sampling)
    return float((d_ab.mean() + d_ba.mean()) / 2)


def hausdorff(
    pred: np.ndarray, truth: np.ndarray, sampling: tuple[float, ...] | None = None
) -> dict[str, float | None]:
    """Average and 95% Hausdorff distances (None when a mask is empty)."""
    if not pred.any() or not truth.any():
        return {"average_hausdorff": None, "hausdorff95": None}
    d_pt, d_tp = surface_distances(pred, truth, sampling)
    return {
        "average_hausdorff": float((d_pt.mean() + d_tp.mean()) / 2),
        "hausdorff95": float(max(np.percentile(d_pt, 95), np.percentile(d_tp, 95))),
    }
