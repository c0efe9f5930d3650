"""Overlap and surface-distance metrics of binary masks.

Hausdorff distances are between the masks' surfaces (object voxels with a background
6-neighbour; the array's edge counts as background), measured with exact Euclidean distance
transforms, in voxels ("px") and, with ``sampling`` = voxel size, in nm:

- average Hausdorff distance = (mean of d(P -> T) + mean of d(T -> P)) / 2 (the symmetric
  average surface distance),
- 95% Hausdorff distance = max(95th percentile of d(P -> T), 95th percentile of d(T -> P)),
  the percentile taken with numpy's linear interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

STRUCTURE = ndimage.generate_binary_structure(3, 1)


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


def surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, STRUCTURE, border_value=0)


def surface_distances(
    pred: np.ndarray, truth: np.ndarray, sampling: tuple[float, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(d(P -> T), d(T -> P)): for each surface voxel, distance to the other surface."""
    sp, st = surface(pred), surface(truth)
    to_truth = ndimage.distance_transform_edt(~st, sampling=sampling)
    to_pred = ndimage.distance_transform_edt(~sp, sampling=sampling)
    return to_truth[sp], to_pred[st]


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
