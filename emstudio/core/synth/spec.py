"""The phantom's data model: classes of the ground truth, the spec of all objects, a slab."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.synth.build import build_arrays


@dataclass(frozen=True, eq=False)
class PhantomSlab:
    """Planes z0..z1-1 of a phantom: the image and its ground truth, all of shape (z1-z0, Y, X).
    Compare arrays with np.array_equal (slabs compare by identity)."""

    z0: int
    z1: int
    image: np.ndarray  # uint8
    semantic: np.ndarray  # uint8, CLASS_NAMES
    mito_instances: np.ndarray  # uint32, 0 = none
    nuclei: np.ndarray  # uint32, 0 = none (nucleus including its envelope)
    cells: np.ndarray  # uint32, the owning cell (1 + seed index)


@dataclass(frozen=True)
class PhantomSpec:
    """All objects of a phantom, fixed from (shape, seed, voxel_size_nm). Build with create().

    Equality and hash use (shape, voxel_size_nm, seed) only, which determine everything else.
    Positions are in nm, voxel (k, j, i) has its centre at (k*vz, j*vy, i*vx).
    """

    shape: tuple[int, int, int]
    voxel_size_nm: tuple[float, float, float]
    seed: int
    # cells (N): seed positions (N, 3), power weights (nm^2), brightness offsets
    cell_pos: np.ndarray = field(repr=False, compare=False)
    cell_weight: np.ndarray = field(repr=False, compare=False)
    cell_tone: np.ndarray = field(repr=False, compare=False)
    # nuclei (M): centre, semi-axes along the columns of the rotation (M, 3, 3), nucleolus
    # (centre, radius), owning cell
    nuc_center: np.ndarray = field(repr=False, compare=False)
    nuc_axes: np.ndarray = field(repr=False, compare=False)
    nuc_rot: np.ndarray = field(repr=False, compare=False)
    nuc_nucleolus: np.ndarray = field(repr=False, compare=False)
    nuc_cell: np.ndarray = field(repr=False, compare=False)
    # mitochondria (n): capsule = axis segment p0-p1 dilated by radius; cristae lamellae normal,
    # undulation direction, period (nm) and phase; matrix grey level; owning cell
    mito_p0: np.ndarray = field(repr=False, compare=False)
    mito_p1: np.ndarray = field(repr=False, compare=False)
    mito_radius: np.ndarray = field(repr=False, compare=False)
    mito_cristae: np.ndarray = field(repr=False, compare=False)
    mito_wobble: np.ndarray = field(repr=False, compare=False)
    mito_period: np.ndarray = field(repr=False, compare=False)
    mito_phase: np.ndarray = field(repr=False, compare=False)
    mito_tone: np.ndarray = field(repr=False, compare=False)
    mito_cell: np.ndarray = field(repr=False, compare=False)
    # vesicles (v): centre, radius
    ves_center: np.ndarray = field(repr=False, compare=False)
    ves_radius: np.ndarray = field(repr=False, compare=False)
    # plane waves (wave vector in rad/nm, phase) of the shading and of the chromatin field
    tex_k: np.ndarray = field(repr=False, compare=False)
    tex_phase: np.ndarray = field(repr=False, compare=False)
    chrom_k: np.ndarray = field(repr=False, compare=False)
    chrom_phase: np.ndarray = field(repr=False, compare=False)
    # membrane waviness: 6 functions (x' = x + f(z) + f(y), y' = y + g(z) + g(x),
    # z' = z + h(y) + h(x)), each 2 sine waves: wavenumber (rad/nm), phase, amplitude (nm)
    warp: np.ndarray = field(repr=False, compare=False)
    # render boxes (objects, 6): planes [zlo, zhi] (inclusive), rows [y0, y1), columns [x0, x1)
    nuc_box: np.ndarray = field(repr=False, compare=False)
    mito_box: np.ndarray = field(repr=False, compare=False)
    ves_box: np.ndarray = field(repr=False, compare=False)

    @classmethod
    def create(
        cls,
        shape: tuple[int, int, int] = (32, 256, 256),
        seed: int = 0,
        voxel_size_nm: tuple[float, float, float] = (40.0, 10.0, 10.0),
    ) -> PhantomSpec:
        shape = tuple(int(s) for s in shape)
        voxel = tuple(float(v) for v in voxel_size_nm)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"shape must be three positive sizes (z, y, x), got {shape}")
        if len(voxel) != 3 or not all(math.isfinite(v) and v > 0 for v in voxel):
            raise ValueError(f"voxel_size_nm must be three positive sizes, got {voxel_size_nm}")
        if int(seed) < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        seed = int(seed)
        return cls(shape=shape, voxel_size_nm=voxel, seed=seed, **build_arrays(shape, seed, voxel))

    @property
    def n_mitochondria(self) -> int:
        return len(self.mito_radius)

    @property
    def n_nuclei(self) -> int:
        return len(self.nuc_axes)

    @property
    def n_cells(self) -> int:
        return len(self.cell_weight)
