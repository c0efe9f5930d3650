"""Measurements of one object from its mask (a crop whose [0, 0, 0] is voxel ``origin``).

Conventions: voxel (k, j, i) has its centre at (k*vz, j*vy, i*vx) nm, so the object's bounding
box spans from the lower face of its first voxel to the upper face of its last. Principal axis
lengths are the full axes of the solid ellipsoid with the same second moments (each voxel
counted as a small box): 2 * sqrt(5 * eigenvalue of the covariance). Sphericity is
pi^(1/3) * (6 V)^(2/3) / A with A the area of the object's smoothed mesh and V the volume that
mesh encloses (so at most 1, a sphere, for any closed surface; the voxel volume over a small
object's smoothed mesh gave values up to 2,000). An object too small for that mesh (one voxel
or a few) gets the area and volume of its plain marching-cubes mesh.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from emstudio.core.mesh.surface import MeshOptions

# the mesh that gives surface areas: smoothed so that voxel terraces do not inflate the area
AREA_MESH = MeshOptions(smooth=20, presmooth=0.5, sections=True)
SMALL_AREA_MESH = MeshOptions(smooth=0)  # for an object the smoothing leaves no closed surface
AXES = ("z", "y", "x")


class Moments:
    """Running sums of an object's voxel positions (nm), so large objects add up by blocks."""

    def __init__(self, voxel_size: tuple[float, float, float]) -> None:
        self.vs = np.asarray(voxel_size, np.float64)
        self.count = 0
        self.total = np.zeros(3)
        self.outer = np.zeros((3, 3))
        self.lo = np.full(3, np.inf)
        self.hi = np.full(3, -np.inf)

    def add(self, mask: np.ndarray, origin: tuple[int, ...]) -> None:
        points = (np.argwhere(mask) + np.asarray(origin)) * self.vs
        if not len(points):
            return
        self.count += len(points)
        self.total += points.sum(0)
        self.outer += points.T @ points
        self.lo = np.minimum(self.lo, points.min(0))
        self.hi = np.maximum(self.hi, points.max(0))

    def row(self) -> dict[str, Any]:
        """Volume, centroid, bounding box and principal axis lengths (nm)."""
        vs, count = self.vs, self.count
        centroid = self.total / count
        covariance = self.outer / count - np.outer(centroid, centroid) + np.diag(vs**2 / 12.0)
        eigen = np.sort(np.clip(np.linalg.eigvalsh(covariance), 0, None))[::-1]
        lo, hi = self.lo - vs / 2, self.hi + vs / 2
        row: dict[str, Any] = {
            "volume_voxels": count,
            "volume_nm3": count * float(np.prod(vs)),
            "volume_um3": count * float(np.prod(vs)) / 1e9,
        }
        for prefix, values in (("centroid", centroid), ("bbox_min", lo), ("bbox_max", hi)):
            for axis, name in enumerate(AXES):
                row[f"{prefix}_{name}_nm"] = float(values[axis])
        for value, name in zip(eigen, ("major", "middle", "minor"), strict=True):
            row[f"axis_{name}_nm"] = 2.0 * math.sqrt(5.0 * float(value))
        return row


def centroid_voxel(
    row: Mapping[str, Any], voxel_size: tuple[float, float, float]
) -> tuple[int, int, int] | None:
    """The voxel (z, y, x) nearest an object's centroid, from its row of measurements (values
    or their text); None where the row has no centroid."""
    try:
        z, y, x = (
            round(float(row[f"centroid_{name}_nm"]) / size)
            for name, size in zip(AXES, voxel_size, strict=True)
        )
    except (KeyError, ValueError, OverflowError):  # no such column, or not a finite number
        return None
    return z, y, x


def moments(
    mask: np.ndarray, origin: tuple[int, ...], voxel_size: tuple[float, float, float]
) -> dict[str, Any]:
    """``Moments`` of one mask held in memory."""
    sums = Moments(voxel_size)
    sums.add(mask, origin)
    return sums.row()


class Intensity:
    """Running sums of image values inside an object."""

    def __init__(self) -> None:
        self.count, self.total, self.squares = 0, 0.0, 0.0

    def add(self, mask: np.ndarray, image: np.ndarray) -> None:
        values = image[mask].astype(np.float64)
        self.count += len(values)
        self.total += float(values.sum())
        self.squares += float((values**2).sum())

    def row(self) -> dict[str, float]:
        mean = self.total / self.count
        variance = max(self.squares / self.count - mean**2, 0.0)
        return {"mean_intensity": mean, "std_intensity": math.sqrt(variance)}


def sphericity(volume_nm3: float | None, area_nm2: float) -> float:
    """1 for a sphere, less for any other closed surface of this volume and area."""
    if not volume_nm3 or area_nm2 <= 0:
        return float("nan")
    return math.pi ** (1 / 3) * (6 * volume_nm3) ** (2 / 3) / area_nm2
