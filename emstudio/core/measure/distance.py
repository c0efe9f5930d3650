"""Distance from objects to the nearest object of another segmentation, within a search radius.

Distances are the gaps between the objects' voxels, each voxel a box (nm): 0 where the
objects overlap or touch (by a face, an edge or a corner), one voxel side where one voxel of
background lies between them. (Between voxel centres, two mitochondria touching across a 50 nm
section read 50 nm, like a gap.) The gap between voxels n_k voxels apart along each axis k is
sqrt(sum(((|n_k| - 1)+ * v_k)^2)): the centre distance to the other objects grown by one voxel
in all 26 directions. Only voxels inside the volume count. Beyond ``max_distance_nm`` nothing
is searched and the distance is reported as missing (NaN).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def margin_voxels(max_distance_nm: float, voxel_size: tuple[float, float, float]) -> np.ndarray:
    """How far (voxels, per axis) around an object the search must look."""
    return np.array([math.ceil(max_distance_nm / v) + 1 for v in voxel_size], np.int64)


class NearestOther:
    """Distance map (nm) to the other segmentation's objects over one region."""

    def __init__(self, other: np.ndarray, voxel_size: tuple[float, float, float]) -> None:
        self.other = other
        self.voxel_size = np.asarray(voxel_size, np.float64)
        self.present = bool(other.any())
        if self.present:
            grown = ndimage.binary_dilation(other != 0, np.ones((3, 3, 3), bool))
            self.distance = ndimage.distance_transform_edt(~grown, sampling=voxel_size)

    def measure(self, mask: np.ndarray, box: tuple[slice, ...], max_nm: float) -> tuple[float, int]:
        """(distance nm, nearest other id) for an object's mask placed at ``box``."""
        if not self.present:
            return float("nan"), 0
        distance = np.where(mask, self.distance[box], np.inf)
        flat = int(np.argmin(distance))
        best = float(distance.flat[flat])
        if best > max_nm:
            return float("nan"), 0
        voxel = np.array(np.unravel_index(flat, mask.shape)) + [s.start for s in box]
        return best, self._nearest_id(voxel, best)

    def _nearest_id(self, voxel: np.ndarray, distance: float) -> int:
        """The other object at ``distance`` from ``voxel`` (a small local search)."""
        reach = np.ceil(distance / self.voxel_size).astype(int) + 1
        lo = np.maximum(voxel - reach, 0)
        hi = np.minimum(voxel + reach + 1, self.other.shape)
        window = self.other[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
        where = np.argwhere(window > 0)
        steps = np.maximum(np.abs(where + lo - voxel) - 1, 0)
        gaps = (steps * self.voxel_size) ** 2
        return int(window[tuple(where[int(np.argmin(gaps.sum(1)))])])
