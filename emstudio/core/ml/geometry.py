"""How a volume is seen along one axis at a model's resolution (torch-free arithmetic).

A *view* of a (z, y, x) volume along an axis is a stack of planes: ``xy`` planes (y, x) across
z, ``xz`` planes (z, x) across y, ``yz`` planes (z, y) across x. The model sees every plane on its
own square grid of ``pixel_nm`` ("model grid"), so anisotropic voxels are resampled (linear
interpolation) in-plane, and its input channels are neighbouring planes ``slice_step_nm`` apart
along the normal (interpolated when that is not a whole number of voxels). Position ``r`` of the
model grid along an in-plane axis of native spacing ``s`` sits at native coordinate
``r * pixel_nm / s``; native voxel ``k`` sits at model-grid coordinate ``k * s / pixel_nm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

AXES = ("xy", "xz", "yz")
# test-time augmentation: the group of flips of a plane's (u, v) dims (identity, both mirrors,
# 180 degree rotation); each is its own inverse, and the average is exactly mirror-symmetric
TTA_FLIPS = ((), (-1,), (-2,), (-2, -1))
NORMAL = {"xy": 0, "xz": 1, "yz": 2}
PLANE_DIMS = {"xy": (1, 2), "xz": (0, 2), "yz": (0, 1)}


def parse_axes(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"xy,xz"`` -> ["xy", "xz"] (order kept, duplicates dropped); raises ValueError."""
    items = text.split(",") if isinstance(text, str) else list(text)
    axes: list[str] = []
    for item in (i.strip().lower() for i in items):
        if item not in AXES:
            raise ValueError(f"unknown axis {item!r}: use xy, xz and/or yz")
        if item not in axes:
            axes.append(item)
    if not axes:
        raise ValueError("no axis given: use xy, xz and/or yz")
    return axes


def context_offsets(slices: int, step_nm: float, spacing_nm: float) -> np.ndarray:
    """Native offsets (in voxels, float) of the ``slices`` input planes around a plane."""
    half = (slices - 1) / 2
    return (np.arange(slices) - half) * (step_nm / spacing_nm)


def model_size(native: int, ratio: float) -> int:
    """Model-grid samples covering ``native`` voxels of ``ratio`` model pixels each."""
    return math.floor((native - 1) * ratio + 1e-6) + 1


PATCH_MULTIPLE = 16  # training patches are whole multiples of this many model pixels


def fitting_patch(plane: tuple[int, int]) -> int:
    """The largest training patch (model pixels) that a plane of ``plane`` model pixels holds;
    ``PATCH_MULTIPLE`` at the least, even where the plane is smaller."""
    return max(PATCH_MULTIPLE, min(plane) // PATCH_MULTIPLE * PATCH_MULTIPLE)


def xy_model_plane(
    shape: tuple[int, int, int], voxel_nm: tuple[float, float, float], pixel_nm: float
) -> tuple[int, int]:
    """The (y, x) size of a volume's XY planes on a model grid of ``pixel_nm``."""
    (_, ny, nx), (_, sy, sx) = shape, voxel_nm
    return model_size(ny, sy / pixel_nm), model_size(nx, sx / pixel_nm)


@dataclass(frozen=True)
class View:
    """One axis of one volume at a model's resolution."""

    axis: str
    shape: tuple[int, int, int]  # the volume's (z, y, x)
    voxel_nm: tuple[float, float, float]  # the volume's (z, y, x)
    pixel_nm: float  # the model grid's pixel
    slice_step_nm: float  # spacing of the input planes
    slices: int  # number of input planes

    @property
    def normal(self) -> int:
        return NORMAL[self.axis]

    @property
    def planes(self) -> int:
        return self.shape[self.normal]

    @property
    def native_plane(self) -> tuple[int, int]:
        u, v = PLANE_DIMS[self.axis]
        return self.shape[u], self.shape[v]

    @property
    def ratios(self) -> tuple[float, float]:
        """Model pixels per native voxel along the plane's two axes."""
        u, v = PLANE_DIMS[self.axis]
        return self.voxel_nm[u] / self.pixel_nm, self.voxel_nm[v] / self.pixel_nm

    @property
    def model_plane(self) -> tuple[int, int]:
        (nu, nv), (fu, fv) = self.native_plane, self.ratios
        return model_size(nu, fu), model_size(nv, fv)

    @property
    def model_pixels(self) -> int:
        """Model-grid pixels of all the view's planes (the model's work, before overlaps)."""
        mu, mv = self.model_plane
        return self.planes * mu * mv

    @property
    def offsets(self) -> np.ndarray:
        return context_offsets(self.slices, self.slice_step_nm, self.voxel_nm[self.normal])

    @property
    def reach(self) -> tuple[int, int]:
        """Planes needed before and after a plane for its context (whole voxels)."""
        offsets = self.offsets
        return math.ceil(-offsets.min() - 1e-9), math.ceil(offsets.max() - 1e-9)

    def native_span(self, first: int, stop: int) -> tuple[int, int]:
        """Planes to read (clamped to the volume) to predict planes ``first..stop-1``."""
        before, after = self.reach
        return max(0, first - before), min(self.planes, stop + after)

    def to_model(self, dim: int, start: int, count: int) -> np.ndarray:
        """Native coordinates (float) of model-grid samples ``start..start+count-1`` along the
        plane's ``dim`` (0 or 1)."""
        return (start + np.arange(count)) / self.ratios[dim]

    def to_native(self, dim: int) -> np.ndarray:
        """Model-grid coordinates (float) of every native voxel along the plane's ``dim``."""
        return np.arange(self.native_plane[dim]) * self.ratios[dim]


# axis orders between a (z, y, x) block and its plane-major (normal, u, v) form, for numpy's
# ``transpose`` and torch's ``permute`` alike
TO_PLANE_MAJOR = {"xy": (0, 1, 2), "xz": (1, 0, 2), "yz": (2, 0, 1)}
FROM_PLANE_MAJOR = {"xy": (0, 1, 2), "xz": (1, 0, 2), "yz": (1, 2, 0)}


def to_plane_major(block: np.ndarray, axis: str) -> np.ndarray:
    """A (z, y, x) block as (normal, u, v): planes of ``axis`` first (a view, no copy)."""
    return block.transpose(TO_PLANE_MAJOR[axis])


def box_key(axis: str, normal: tuple[int, int], u: tuple[int, int], v: tuple[int, int]):
    """The (z, y, x) index of a box given as ranges along (normal, u, v) of ``axis``."""
    n_, u_, v_ = slice(*normal), slice(*u), slice(*v)
    if axis == "xy":
        return n_, u_, v_
    return (u_, n_, v_) if axis == "xz" else (u_, v_, n_)


def read_box(array, axis: str, normal, u, v) -> np.ndarray:
    """A box of a (z, y, x) array-like as a (normal, u, v) array."""
    block = np.asarray(array[box_key(axis, normal, u, v)])
    return np.ascontiguousarray(to_plane_major(block, axis))


def lerp(array: np.ndarray, dim: int, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``array`` along ``dim`` at float positions (clamped to it)."""
    size = array.shape[dim]
    pos = np.clip(np.asarray(pos, dtype=np.float64), 0, size - 1)
    i0 = np.floor(pos).astype(np.intp)
    w = pos - i0
    if not w.any():
        return np.take(array, i0, axis=dim)
    i1 = np.minimum(i0 + 1, size - 1)
    shape = [1] * array.ndim
    shape[dim] = len(pos)
    w = w.astype(np.float32).reshape(shape)
    a0 = np.take(array, i0, axis=dim).astype(np.float32)
    return a0 + (np.take(array, i1, axis=dim) - a0) * w
