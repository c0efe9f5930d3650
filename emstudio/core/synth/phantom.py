"""A deterministic, SBF-SEM/FIB-SEM-looking synthetic volume ("phantom") with exact ground truth.

The phantom is the demo project and the test fixture of the whole pipeline. Every object is
analytic and fixed by ``PhantomSpec.create(shape, seed, voxel_size_nm)``; a voxel's value depends
only on the spec and its plane index, so any z-range rendered on its own (``render_slab``) is
bit-identical to the same planes of ``render``. Large phantoms are therefore made slab by slab
with memory proportional to one slab.

Content (axis order (z, y, x), physical units nm):

* cells: a power (Laguerre) tessellation of random seeds, distances in nm, so cells are
  space-filling convex polytopes of mixed sizes; their membranes are thin dark sheets. Cells are
  stacked in z, so some membranes lie nearly parallel to the XY plane; those look like faint grey
  smears in an XY plane (as in real serial-section images) and like thin lines in XZ/YZ.
* nuclei: in the large cells only: an ellipsoid with a double envelope (two dark lines with a
  light lumen), granular darker nucleoplasm, heterochromatin under the envelope, a nucleolus.
* mitochondria: capsules of random orientation with a dark outer membrane and lamellar cristae,
  inside cells, never crossing a membrane or touching a nucleus; each is its own instance.
* vesicles: small dark-rimmed spheres with a light lumen, alone or in clusters.
* image formation: cytoplasm with smooth low-frequency shading and fine granularity (ribosome-like
  dots), membrane profiles blurred analytically along z (section thickness), an in-plane PSF,
  signal-dependent Gaussian (Poisson-like) noise, slice-to-slice brightness drift; uint8.

Ground truth: ``semantic`` (see ``CLASS_NAMES``), ``mito_instances`` and ``nuclei`` (uint32,
0 = none, ids 1..N; every id present in ``render(spec)`` and 3D 6-connected) and ``cells`` (uint32,
id of the cell owning each voxel; 1 + the seed index, so not consecutive).

Thin-sheet truth is "tunnel free": a membrane band is widened by half the voxel extent along its
normal, so a sheet parallel to XY still covers at least one whole plane and cells never leak
into each other through a gap between planes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

__all__ = [
    "BACKGROUND",
    "CLASS_NAMES",
    "MEMBRANE",
    "MITOCHONDRIA",
    "NUCLEAR_ENVELOPE",
    "PhantomSlab",
    "PhantomSpec",
    "render",
    "render_slab",
]

BACKGROUND = 0
MEMBRANE = 1
NUCLEAR_ENVELOPE = 2
MITOCHONDRIA = 3
CLASS_NAMES: dict[int, str] = {
    BACKGROUND: "background",
    MEMBRANE: "membrane",
    NUCLEAR_ENVELOPE: "nuclear_envelope",
    MITOCHONDRIA: "mitochondria",
}

# --- geometry (nm) -----------------------------------------------------------------------------
_PAD = 1300.0  # seeds this far outside the volume, so border cells are whole
_GAMMA = 0.9  # RSA exclusion: |a - b| >= _GAMMA * (R_a + R_b)
_R_SMALL = (420.0, 600.0)  # nominal radius of a cell without a nucleus
_R_BIG = (760.0, 860.0)  # nominal radius of a cell with a nucleus
_BIG_DENSITY = 0.2  # nucleated cells per um^3 of volume (at least one)
_MEM_HALF = 15.0  # half thickness of the membrane truth band (+ half the voxel extent)
_REACH = 100.0  # cell-boundary distances are exact below this, clamped above
_TILE = 64  # in-plane tile of the cell assignment
_NE_OFFSET = 17.0  # the two envelope membranes lie at d = -17 and +17 nm of the ellipsoid
_NE_HALF = 27.0  # half thickness of the envelope truth band (+ half the voxel extent)
_NUC_AXES_XY = (360.0, 470.0)
_NUC_AXIS_Z = (300.0, 430.0)
_MITO_RADIUS = (80.0, 120.0)  # 16-24 px short axis at 10 nm; >= 4 planes at 40 nm
_MITO_LENGTH = (150.0, 750.0)  # axis segment; long axis = length + 2 * radius
_MITO_DENSITY = 3.0  # per um^3 of cytoplasm
_VES_RADIUS = (20.0, 45.0)
_VES_CLUSTER_DENSITY = 1.2  # clusters per um^3 of cytoplasm (each ~7 vesicles)
_VES_SINGLE_DENSITY = 6.0
# keep-out margins (nm) between an object surface and a cell's power plane / a nucleus ellipsoid
_MARGIN_MITO_CELL = 60.0
_MARGIN_VES_CELL = 50.0
_MARGIN_NUC_CELL = 130.0
_MARGIN_MITO_NUC = 110.0
_MARGIN_VES_NUC = 80.0

# --- image formation (intensity 0..1, later x255) ----------------------------------------------
_CYTO = 0.70
_CELL_TONE = 0.035  # +- per cell
_LOWFREQ_AMP = 0.035
_MEM_DARK = 0.55  # peak relative darkening of an in-plane membrane
_MEM_SIGMA = 7.0  # nm, intrinsic membrane profile
_Z_BLUR = 0.4  # z PSF sigma, in units of the z voxel size (section thickness)
_NUCLEOPLASM = 0.60
_HETEROCHROMATIN = 0.36
_NUCLEOLUS = 0.34
_NE_DARK = 0.42
_NE_SIGMA = 5.5
_MITO_MATRIX = (0.41, 0.47)
_CRISTAE = 0.17
_MITO_DARK = 0.32
_VES_LUMEN = 0.80
_VES_DARK = 0.38
_GRAIN = (0.035, 0.065, 0.04)  # cytoplasm, nucleus, mitochondrion (std after filtering)
_DOT_DENSITY = 5e-3  # ribosome-like dots per px of cytoplasm
_PSF_PX = 0.8
_PLANE_GAIN = 0.02
_NOISE_SHOT = 0.0035
_NOISE_READ = 0.0025


@dataclass(frozen=True)
class PhantomSlab:
    """Planes z0..z1-1 of a phantom: the image and its ground truth, all of shape (z1-z0, Y, X)."""

    z0: int
    z1: int
    image: np.ndarray  # uint8
    semantic: np.ndarray  # uint8, CLASS_NAMES
    mito_instances: np.ndarray  # uint32, 0 = none
    nuclei: np.ndarray  # uint32, 0 = none (nucleus including its envelope)
    cells: np.ndarray  # uint32, the owning cell (1 + seed index)


def _arr(default_shape: tuple[int, ...] = (0,)) -> np.ndarray:
    return field(default_factory=lambda: np.zeros(default_shape), repr=False, compare=False)


@dataclass(frozen=True)
class PhantomSpec:
    """All objects of a phantom, fixed from (shape, seed, voxel_size_nm). Build with create().

    Equality and hash use (shape, voxel_size_nm, seed) only, which determine everything else.
    Positions are in nm, voxel (k, j, i) has its centre at (k*vz, j*vy, i*vx).
    """

    shape: tuple[int, int, int]
    voxel_size_nm: tuple[float, float, float]
    seed: int
    cell_pos: np.ndarray = _arr()  # (N, 3) seeds
    cell_weight: np.ndarray = _arr()  # (N,) power weights (nm^2)
    cell_tone: np.ndarray = _arr()  # (N,) brightness offsets
    nuc_center: np.ndarray = _arr()  # (M, 3)
    nuc_axes: np.ndarray = _arr()  # (M, 3) semi-axes along the columns of nuc_rot
    nuc_rot: np.ndarray = _arr()  # (M, 3, 3)
    nuc_nucleolus: np.ndarray = _arr()  # (M, 4) centre, radius
    nuc_cell: np.ndarray = _arr()  # (M,) seed index
    mito_p0: np.ndarray = _arr()  # (n, 3) axis segment
    mito_p1: np.ndarray = _arr()
    mito_radius: np.ndarray = _arr()
    mito_cristae: np.ndarray = _arr()  # (n, 3) unit normal of the cristae lamellae
    mito_wobble: np.ndarray = _arr()  # (n, 3) direction of the lamellae undulation
    mito_period: np.ndarray = _arr()  # (n,) nm
    mito_phase: np.ndarray = _arr()
    mito_tone: np.ndarray = _arr()
    mito_cell: np.ndarray = _arr()
    ves_center: np.ndarray = _arr()  # (v, 3)
    ves_radius: np.ndarray = _arr()
    tex_k: np.ndarray = _arr()  # low-frequency shading: wave vectors (rad/nm), phases
    tex_phase: np.ndarray = _arr()
    chrom_k: np.ndarray = _arr()  # chromatin field
    chrom_phase: np.ndarray = _arr()
    # per-object render boxes: [zlo, zhi] planes (inclusive), [y0, y1) x [x0, x1) pixels
    nuc_box: np.ndarray = _arr()
    mito_box: np.ndarray = _arr()
    ves_box: np.ndarray = _arr()

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
        return _build(shape, int(seed), voxel)

    @property
    def n_mitochondria(self) -> int:
        return len(self.mito_radius)

    @property
    def n_nuclei(self) -> int:
        return len(self.nuc_axes)

    @property
    def n_cells(self) -> int:
        return len(self.cell_weight)


# ================================================================================================
# building the spec
# ================================================================================================


def _owners_possible(pos: np.ndarray, w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the seeds that may own some point of the box [lo, hi] (exact
    superset: a seed whose smallest power over the box exceeds some seed's largest is dropped)."""
    dlo = lo - pos
    dhi = pos - hi
    dmin = np.maximum(np.maximum(dlo, dhi), 0.0)
    dmax = np.maximum(np.abs(dlo), np.abs(dhi))
    minpow = (dmin * dmin).sum(1) - w
    maxpow = (dmax * dmax).sum(1) - w
    return np.flatnonzero(minpow <= maxpow.min())


def _rsa(
    rng: np.random.Generator,
    lo: np.ndarray,
    hi: np.ndarray,
    radius_range: tuple[float, float],
    attempts: int,
    pos: list[np.ndarray],
    rad: list[float],
) -> None:
    """Random sequential addition of seeds with exclusion |a-b| >= _GAMMA (R_a + R_b)."""
    rmax = max(max(rad, default=0.0), radius_range[1])
    h = 2.0 * _GAMMA * rmax
    grid: dict[tuple[int, int, int], list[int]] = {}
    for i, p in enumerate(pos):
        grid.setdefault(tuple((p // h).astype(int)), []).append(i)
    cand = rng.uniform(lo, hi, size=(attempts, 3))
    radii = rng.uniform(*radius_range, size=attempts)
    for p, r in zip(cand, radii, strict=True):
        key = tuple((p // h).astype(int))
        ok = True
        for dz in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    for j in grid.get((key[0] + dz, key[1] + dy, key[2] + dx), ()):
                        q = pos[j]
                        lim = _GAMMA * (r + rad[j])
                        d2 = (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 + (p[2] - q[2]) ** 2
                        if d2 < lim * lim:
                            ok = False
                            break
                    if not ok:
                        break
                if not ok:
                    break
            if not ok:
                break
        if ok:
            grid.setdefault(key, []).append(len(pos))
            pos.append(p)
            rad.append(float(r))


def _rotation(rng: np.random.Generator, max_tilt: float) -> np.ndarray:
    """A rotation (z, y, x coordinates): in-plane by a random angle, then tilted by <= max_tilt."""
    t = rng.uniform(0, 2 * np.pi)
    rz = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    f = rng.uniform(-max_tilt, max_tilt)
    rx = np.array([[np.cos(f), -np.sin(f), 0], [np.sin(f), np.cos(f), 0], [0, 0, 1]])
    return rx @ rz


def _unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _fourier_features(
    rng: np.random.Generator, n: int, wavelength: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    lam = rng.uniform(*wavelength, size=n)
    k = _unit_vectors(rng, n) * (2 * np.pi / lam)[:, None]
    return k, rng.uniform(0, 2 * np.pi, size=n)


class _Cell:
    """The power planes around one seed: x is in the cell iff n_b . x <= h_b for every b."""

    def __init__(self, a: int, pos: np.ndarray, w: np.ndarray, tree: cKDTree, reach: float):
        self.a = a
        lo = pos[a] - reach
        hi = pos[a] + reach
        dmax = np.maximum(np.abs(lo - pos[a]), np.abs(pos[a] - hi))
        bound = math.sqrt(float((dmax * dmax).sum() - w[a] + w.max())) + reach * math.sqrt(3)
        near = np.array(sorted(tree.query_ball_point(pos[a], bound)), dtype=np.int64)
        near = near[_owners_possible(pos[near], w[near], lo, hi)]
        near = near[near != a]
        diff = pos[near] - pos[a]
        dist = np.linalg.norm(diff, axis=1)
        self.n = diff / dist[:, None]
        self.h = self.n @ pos[a] + (dist * dist + w[a] - w[near]) / (2 * dist)

    def fits(self, support: np.ndarray, margin: float) -> bool:
        """support: the object's support function at each plane normal (self.n)."""
        return bool(np.all(support + margin <= self.h))


def _ellipsoid_outside(x: np.ndarray, c: np.ndarray, rot: np.ndarray, axes: np.ndarray,
                       grow: float) -> bool:
    """True if all points x (k, 3) lie outside the ellipsoid with semi-axes axes + grow (which
    contains the ellipsoid dilated by a ball of radius grow)."""
    q = (x - c) @ rot
    return bool(np.all(((q / (axes + grow)) ** 2).sum(1) > 1.0))


def _axis_points(p0: np.ndarray, p1: np.ndarray, step: float = 5.0) -> np.ndarray:
    n = max(2, int(np.ceil(np.linalg.norm(p1 - p0) / step)) + 1)
    return p0 + np.linspace(0.0, 1.0, n)[:, None] * (p1 - p0)


def _min_dist(a: np.ndarray, b: np.ndarray) -> float:
    d = a[:, None, :] - b[None, :, :]
    return float(np.sqrt((d * d).sum(-1).min()))


def _build(shape: tuple[int, int, int], seed: int, voxel: tuple[float, float, float]) -> PhantomSpec:
    vs = np.array(voxel)
    ext = (np.array(shape) - 1) * vs  # the hull of the voxel centres is [0, ext]
    vol_um3 = float(np.prod(np.maximum(ext, vs))) / 1e9
    rng = np.random.default_rng([seed, 0xE5, 1])

    # --- seeds: nucleated (big) cells inside the volume first, then small cells everywhere -----
    n_big = max(1, int(rng.poisson(_BIG_DENSITY * vol_um3)))
    margin = np.minimum(0.3 * ext, 450.0)
    pos: list[np.ndarray] = []
    rad: list[float] = []
    _rsa(rng, margin, ext - margin, _R_BIG, 60 * n_big, pos, rad)
    big = pos[:n_big]
    del pos[n_big:], rad[n_big:]
    n_big = len(big)
    lo, hi = -_PAD * np.ones(3), ext + _PAD
    v_excl = 4 / 3 * np.pi * (_GAMMA * np.mean(_R_SMALL)) ** 3
    attempts = int(10 * np.prod(hi - lo) / v_excl)
    _rsa(rng, lo, hi, _R_SMALL, attempts, pos, rad)
    cell_pos = np.array(pos)
    cell_w = np.array(rad) ** 2
    n_cells = len(cell_pos)
    cell_tone = rng.uniform(-_CELL_TONE, _CELL_TONE, n_cells)
    tex_k, tex_phase = _fourier_features(rng, 8, (800.0, 2500.0))
    chrom_k, chrom_phase = _fourier_features(rng, 16, (250.0, 600.0))

    tree = cKDTree(cell_pos)
    wmax = cell_w.max()
    lifted = cKDTree(np.column_stack([cell_pos, np.sqrt(wmax - cell_w)]))

    def owner(p: np.ndarray) -> np.ndarray:
        q = np.column_stack([p, np.zeros(len(p))])
        return lifted.query(q)[1]

    def in_box(p: np.ndarray, grow: float = 0.0) -> np.ndarray:
        return np.all((p >= -grow) & (p <= ext + grow), axis=-1)

    nuclei: list[tuple] = []
    mitos: list[tuple] = []
    vesicles: list[tuple] = []
    for a in range(n_cells):
        r_cell = 1.6 * math.sqrt(cell_w[a])
        if np.any(cell_pos[a] + r_cell < 0) or np.any(cell_pos[a] - r_cell > ext):
            continue
        crng = np.random.default_rng([seed, 0xE5, 2, a])
        cell = _Cell(a, cell_pos, cell_w, tree, r_cell + 650.0)

        def sample_in_cell(n: int, crng=crng, r_cell=r_cell, a=a) -> np.ndarray:
            d = _unit_vectors(crng, n) * (r_cell * crng.uniform(0, 1, n) ** (1 / 3))[:, None]
            p = cell_pos[a] + d
            return p[in_box(p) & (owner(p) == a)]

        nuc = None
        if a < n_big:  # a nucleated cell
            rot = _rotation(crng, 0.25)
            axes = np.array([crng.uniform(*_NUC_AXIS_Z), 0.0, 0.0])
            axes[1] = crng.uniform(*_NUC_AXES_XY)
            axes[2] = axes[1] * crng.uniform(0.75, 0.95)
            c = cell_pos[a] + crng.uniform(-60, 60, 3) * np.array([0.5, 1, 1])
            amat = rot @ np.diag(axes**2) @ rot.T
            supp = np.sqrt(np.einsum("ni,ij,nj->n", cell.n, amat, cell.n))
            scale = float(np.min((cell.h - cell.n @ c - _MARGIN_NUC_CELL) / supp))
            if scale >= 0.5:
                axes = axes * min(1.0, scale)
                # nucleolus: a dense sphere well inside
                nr = 0.28 * axes.min()
                off = rot @ (crng.uniform(-0.35, 0.35, 3) * axes)
                nuc = (c, axes, rot, np.r_[c + off, nr], a)
                nuclei.append(nuc)

        # Monte Carlo estimate of this cell's cytoplasm volume inside the box
        probe = cell_pos[a] + _unit_vectors(crng, 96) * (
            r_cell * crng.uniform(0, 1, 96) ** (1 / 3))[:, None]
        inside = in_box(probe) & (owner(probe) == a)
        if nuc is not None:
            q = (probe - nuc[0]) @ nuc[2]
            inside &= ((q / nuc[1]) ** 2).sum(1) > 1.0
        vol = inside.mean() * 4 / 3 * np.pi * r_cell**3 / 1e9
        if vol <= 0:
            continue

        cell_mitos: list[tuple] = []
        for _ in range(int(crng.poisson(_MITO_DENSITY * vol))):
            for attempt in range(30):
                p = sample_in_cell(8)
                if not len(p):
                    continue
                c = p[0]
                u = _unit_vectors(crng, 1)[0]
                r = crng.uniform(*_MITO_RADIUS)
                length = crng.uniform(*_MITO_LENGTH) * (1 - attempt / 40)
                p0, p1 = c - 0.5 * length * u, c + 0.5 * length * u
                if not (in_box(p0) and in_box(p1)):
                    continue
                if not cell.fits(np.maximum(cell.n @ p0, cell.n @ p1) + r, _MARGIN_MITO_CELL):
                    continue
                pts = _axis_points(p0, p1)
                if nuc is not None and not _ellipsoid_outside(
                    pts, nuc[0], nuc[2], nuc[1], r + _MARGIN_MITO_NUC
                ):
                    continue
                if any(_min_dist(pts, m[6]) < r + m[2] + 10.0 for m in cell_mitos):
                    continue
                # cristae: lamellae across the long axis, kept vertical enough to show in XY
                cu = np.array([0.2 * u[0], u[1], u[2]])
                if np.linalg.norm(cu[1:]) < 0.35:
                    t = crng.uniform(0, 2 * np.pi)
                    cu = np.array([0.0, np.cos(t), np.sin(t)])
                cu /= np.linalg.norm(cu)
                wob = np.cross(cu, _unit_vectors(crng, 1)[0])
                wob /= max(np.linalg.norm(wob), 1e-9)
                cell_mitos.append((p0, p1, r, cu, wob, crng.uniform(55.0, 80.0), pts,
                                   crng.uniform(0, 1), crng.uniform(*_MITO_MATRIX), a))
                break
        mitos.extend(cell_mitos)

        cell_ves: list[tuple[np.ndarray, float]] = []

        def try_vesicle(c: np.ndarray, r: float, cell=cell, nuc=nuc,
                        cell_mitos=cell_mitos, cell_ves=cell_ves, a=a) -> None:
            if not in_box(c) or owner(c[None])[0] != a:
                return
            if not cell.fits(cell.n @ c + r, _MARGIN_VES_CELL):
                return
            if nuc is not None and not _ellipsoid_outside(
                c[None], nuc[0], nuc[2], nuc[1], r + _MARGIN_VES_NUC
            ):
                return
            if any(_min_dist(c[None], m[6]) < r + m[2] + 25.0 for m in cell_mitos):
                return
            if any(np.linalg.norm(c - v) < r + rv + 8.0 for v, rv in cell_ves):
                return
            cell_ves.append((c, r))

        for _ in range(int(crng.poisson(_VES_CLUSTER_DENSITY * vol))):
            p = sample_in_cell(8)
            if len(p):
                for _ in range(int(crng.poisson(6)) + 1):
                    try_vesicle(p[0] + crng.normal(0, 110.0, 3), crng.uniform(*_VES_RADIUS))
        for _ in range(int(crng.poisson(_VES_SINGLE_DENSITY * vol))):
            p = sample_in_cell(8)
            if len(p):
                try_vesicle(p[0], crng.uniform(*_VES_RADIUS))
        vesicles.extend(cell_ves)

    # --- render boxes -------------------------------------------------------------------------
    shp = np.array(shape)

    def boxes(lo_nm: np.ndarray, hi_nm: np.ndarray) -> np.ndarray:
        b = np.zeros((len(lo_nm), 6), np.int64)
        if len(lo_nm):
            ilo = np.clip(np.ceil(lo_nm / vs), 0, shp - 1).astype(np.int64)
            ihi = np.clip(np.floor(hi_nm / vs), -1, shp - 1).astype(np.int64)
            b[:, 0], b[:, 1] = ilo[:, 0], ihi[:, 0]
            b[:, 2], b[:, 3] = ilo[:, 1], ihi[:, 1] + 1
            b[:, 4], b[:, 5] = ilo[:, 2], ihi[:, 2] + 1
        return b

    def stack(items: list[tuple], i: int, width: int | None = None) -> np.ndarray:
        if not items:
            return np.zeros((0,) if width is None else (0, width))
        return np.array([it[i] for it in items], dtype=np.float64)

    nuc_center = stack(nuclei, 0, 3)
    nuc_axes = stack(nuclei, 1, 3)
    nuc_rot = np.array([n[2] for n in nuclei]).reshape(-1, 3, 3)
    half = np.sqrt(np.einsum("mij,mj->mi", nuc_rot**2, nuc_axes**2)) + 100.0
    m_p0, m_p1, m_r = stack(mitos, 0, 3), stack(mitos, 1, 3), stack(mitos, 2)
    v_c, v_r = stack(vesicles, 0, 3), stack(vesicles, 1)
    return PhantomSpec(
        shape=shape, voxel_size_nm=voxel, seed=seed,
        cell_pos=cell_pos, cell_weight=cell_w, cell_tone=cell_tone,
        nuc_center=nuc_center, nuc_axes=nuc_axes, nuc_rot=nuc_rot,
        nuc_nucleolus=stack(nuclei, 3, 4), nuc_cell=stack(nuclei, 4).astype(np.int64),
        mito_p0=m_p0, mito_p1=m_p1, mito_radius=m_r,
        mito_cristae=stack(mitos, 3, 3), mito_wobble=stack(mitos, 4, 3),
        mito_period=stack(mitos, 5), mito_phase=stack(mitos, 7), mito_tone=stack(mitos, 8),
        mito_cell=stack(mitos, 9).astype(np.int64),
        ves_center=v_c, ves_radius=v_r,
        tex_k=tex_k, tex_phase=tex_phase, chrom_k=chrom_k, chrom_phase=chrom_phase,
        nuc_box=boxes(nuc_center - half, nuc_center + half),
        mito_box=boxes(np.minimum(m_p0, m_p1) - m_r[:, None] - 60.0,
                       np.maximum(m_p0, m_p1) + m_r[:, None] + 60.0),
        ves_box=boxes(v_c - v_r[:, None] - 40.0, v_c + v_r[:, None] + 40.0),
    )


# ================================================================================================
# rendering. Everything below works plane by plane on arrays whose shapes depend only on the spec
# and the plane index, so a plane is bit-identical whichever slab it is rendered in.
# ================================================================================================


def _fourier_plane(k: np.ndarray, phase: np.ndarray, zc: float, ys: np.ndarray,
                   xs: np.ndarray) -> np.ndarray:
    """sum_i sqrt(2/K) cos(k_i . p + phase_i) on the grid (zc, ys, xs): unit variance."""
    amp = math.sqrt(2.0 / len(phase))
    ez = amp * np.exp(1j * (k[:, 0] * zc + phase))
    ey = np.exp(1j * np.multiply.outer(k[:, 1], ys)) * ez[:, None]
    ex = np.exp(1j * np.multiply.outer(k[:, 2], xs))
    return (ey.T @ ex).real


def _sampling_term(nz: np.ndarray, ny: np.ndarray, nx: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """Half of (the voxel extent along the normal - the smallest voxel size), nm."""
    return 0.5 * (np.abs(nz) * vs[0] + np.abs(ny) * vs[1] + np.abs(nx) * vs[2] - vs.min())


def _cells_plane(spec: PhantomSpec, k: int, ys: np.ndarray, xs: np.ndarray):
    """Owner seed, distance to the cell boundary (nm, clamped at _REACH) and the boundary normal
    (nz, ny, nx; zero where the distance is clamped) for every pixel of plane k."""
    pos, w = spec.cell_pos, spec.cell_weight
    zc = k * spec.voxel_size_nm[0]
    ny_, nx_ = len(ys), len(xs)
    owner = np.empty((ny_, nx_), np.int64)
    dist = np.empty((ny_, nx_))
    normal = np.zeros((3, ny_, nx_))
    e = _REACH
    plane = _owners_possible(pos, w, np.array([zc - e, ys[0] - e, xs[0] - e]),
                             np.array([zc + e, ys[-1] + e, xs[-1] + e]))
    for y0 in range(0, ny_, _TILE):
        y1 = min(y0 + _TILE, ny_)
        strip = plane[_owners_possible(pos[plane], w[plane],
                                       np.array([zc - e, ys[y0] - e, xs[0] - e]),
                                       np.array([zc + e, ys[y1 - 1] + e, xs[-1] + e]))]
        for x0 in range(0, nx_, _TILE):
            x1 = min(x0 + _TILE, nx_)
            cand = strip[_owners_possible(pos[strip], w[strip],
                                          np.array([zc - e, ys[y0] - e, xs[x0] - e]),
                                          np.array([zc + e, ys[y1 - 1] + e, xs[x1 - 1] + e]))]
            p = pos[cand]
            if len(cand) == 1:
                owner[y0:y1, x0:x1] = cand[0]
                dist[y0:y1, x0:x1] = e
                continue
            pa = (zc - p[:, 0]) ** 2 - w[cand]
            py = (ys[None, y0:y1] - p[:, 1:2]) ** 2
            px = (xs[None, x0:x1] - p[:, 2:3]) ** 2
            pw = (pa[:, None, None] + py[:, :, None]) + px[:, None, :]
            own = pw.argmin(0)
            pown = np.take_along_axis(pw, own[None], 0)
            diff = p[None, :, :] - p[:, None, :]  # [a, b] = b - a
            dab = np.sqrt((diff * diff).sum(-1))
            np.fill_diagonal(dab, 1.0)
            inv = 0.5 / dab
            dd = (pw - pown) * np.moveaxis(inv[own], -1, 0)
            np.put_along_axis(dd, own[None], np.inf, 0)
            b = dd.argmin(0)
            d = np.take_along_axis(dd, b[None], 0)[0]
            far = d >= e
            n = diff[own, b] / dab[own, b][..., None]  # (ty, tx, 3)
            n[far] = 0.0
            owner[y0:y1, x0:x1] = cand[own]
            dist[y0:y1, x0:x1] = np.minimum(d, e)
            normal[:, y0:y1, x0:x1] = np.moveaxis(n, -1, 0)
    return owner, dist, normal


def _active(box: np.ndarray, k: int) -> np.ndarray:
    return np.flatnonzero((box[:, 0] <= k) & (box[:, 1] >= k) & (box[:, 2] < box[:, 3])
                          & (box[:, 4] < box[:, 5]))


def _profile(d: np.ndarray, nz: np.ndarray, sigma0: float, sigma_z: float) -> np.ndarray:
    """A thin dark sheet at d = 0 seen through a PSF that is sigma_z wide along z: Gaussian of
    width sqrt(sigma0^2 + (nz sigma_z)^2), peak scaled to keep its integral (en-face sheets are
    fainter and wider)."""
    s2 = sigma0 * sigma0 + (nz * sigma_z) ** 2
    return np.sqrt(sigma0 * sigma0 / s2) * np.exp(-(d * d) / (2.0 * s2))


def _render_plane(spec: PhantomSpec, k: int, out: dict[str, np.ndarray], i: int) -> None:
    vs = np.asarray(spec.voxel_size_nm)
    _, ny_, nx_ = spec.shape
    zc = k * vs[0]
    ys = np.arange(ny_) * vs[1]
    xs = np.arange(nx_) * vs[2]
    sigma_z = _Z_BLUR * vs[0]

    owner, dist, normal = _cells_plane(spec, k, ys, xs)
    sem = np.zeros((ny_, nx_), np.uint8)
    sem[dist < _MEM_HALF + _sampling_term(*normal, vs)] = MEMBRANE
    mito_ids = np.zeros((ny_, nx_), np.uint32)
    nuc_ids = np.zeros((ny_, nx_), np.uint32)
    img = _CYTO + spec.cell_tone[owner] + _LOWFREQ_AMP * _fourier_plane(
        spec.tex_k, spec.tex_phase, zc, ys, xs)
    dark = _MEM_DARK * _profile(dist, normal[0], _MEM_SIGMA, sigma_z)
    grain_amp = np.full((ny_, nx_), _GRAIN[0])
    cyto = np.ones((ny_, nx_), bool)  # where ribosome-like dots may appear

    for m in _active(spec.nuc_box, k):
        _, _, y0, y1, x0, x1 = spec.nuc_box[m]
        c, rot, axes = spec.nuc_center[m], spec.nuc_rot[m], spec.nuc_axes[m]
        bmat = rot @ np.diag(1.0 / axes**2) @ rot.T
        qz = zc - c[0]
        qy = (ys[y0:y1] - c[1])[:, None]
        qx = (xs[x0:x1] - c[2])[None, :]
        gz = bmat[0, 0] * qz + bmat[0, 1] * qy + bmat[0, 2] * qx
        gy = bmat[1, 0] * qz + bmat[1, 1] * qy + bmat[1, 2] * qx
        gx = bmat[2, 0] * qz + bmat[2, 1] * qy + bmat[2, 2] * qx
        f = np.sqrt(np.maximum(qz * gz + qy * gy + qx * gx, 0.0))
        gn = np.sqrt(gz * gz + gy * gy + gx * gx)
        grad = np.full(f.shape, 1.0 / axes.max())
        np.divide(gn, f, out=grad, where=f > 0)
        d = (f - 1.0) / grad  # first-order distance to the ellipsoid surface, nm
        safe = np.where(gn > 0, gn, 1.0)
        nz, nyv, nxv = gz / safe, gy / safe, gx / safe
        band = _NE_HALF + _sampling_term(nz, nyv, nxv, vs)
        region = (slice(y0, y1), slice(x0, x1))
        sem[region][np.abs(d) < band] = NUCLEAR_ENVELOPE
        nuc_ids[region][d < band] = m + 1
        # nucleoplasm with heterochromatin under the envelope and in clumps, and a nucleolus
        chrom = _fourier_plane(spec.chrom_k, spec.chrom_phase, zc, ys[y0:y1], xs[x0:x1])
        depth = -d - _NE_OFFSET
        rim = 25.0 + 35.0 * (chrom + 1.5)
        het = np.maximum(_sigmoid((rim - depth) / 8.0), _sigmoid((chrom - 1.1) / 0.15))
        no = spec.nuc_nucleolus[m]
        rn = np.sqrt((zc - no[0]) ** 2 + (ys[y0:y1, None] - no[1]) ** 2
                     + (xs[None, x0:x1] - no[2]) ** 2)
        nucleolus = _sigmoid((no[3] - rn) / 10.0)
        val = _NUCLEOPLASM + (_HETEROCHROMATIN - _NUCLEOPLASM) * het
        val = val + (_NUCLEOLUS - val) * nucleolus
        alpha = _sigmoid(depth / 4.0)
        img[region] += alpha * (val - img[region])
        inner = depth > 0
        grain_amp[region][inner] = _GRAIN[1]
        cyto[region][inner] = False
        dark[region] += _NE_DARK * (_profile(d + _NE_OFFSET, nz, _NE_SIGMA, sigma_z)
                                    + _profile(d - _NE_OFFSET, nz, _NE_SIGMA, sigma_z))

    for m in _active(spec.mito_box, k):
        _, _, y0, y1, x0, x1 = spec.mito_box[m]
        p0, p1, r = spec.mito_p0[m], spec.mito_p1[m], spec.mito_radius[m]
        axis = p1 - p0
        length2 = float(axis @ axis)
        qz = zc - p0[0]
        qy = (ys[y0:y1] - p0[1])[:, None]
        qx = (xs[x0:x1] - p0[2])[None, :]
        t = np.clip((qz * axis[0] + qy * axis[1] + qx * axis[2]) / length2, 0.0, 1.0)
        dz = qz - t * axis[0]
        dy = qy - t * axis[1]
        dx = qx - t * axis[2]
        rr = np.sqrt(dz * dz + dy * dy + dx * dx)
        sd = rr - r  # signed distance to the capsule surface
        nz = dz / np.where(rr > 0, rr, 1.0)
        region = (slice(y0, y1), slice(x0, x1))
        inside = sd <= 0
        sem[region][inside] = MITOCHONDRIA
        mito_ids[region][inside] = m + 1
        cu, wob = spec.mito_cristae[m], spec.mito_wobble[m]
        wave = (qz * wob[0] + qy * wob[1] + qx * wob[2]) * (2 * np.pi / 260.0)
        ph = (qz * cu[0] + qy * cu[1] + qx * cu[2]) / spec.mito_period[m]
        ph = ph + spec.mito_phase[m] + 0.22 * np.sin(wave)
        stripes = np.maximum(np.cos(2 * np.pi * ph), 0.0) ** 3
        val = spec.mito_tone[m] + _CRISTAE * stripes * np.clip((-sd - 18.0) / 15.0, 0.0, 1.0)
        edge = np.sqrt(9.0 + (nz * sigma_z) ** 2)
        alpha = _sigmoid(-sd / edge)
        img[region] += alpha * (val - img[region])
        grain_amp[region][inside] = _GRAIN[2]
        cyto[region][inside] = False
        dark[region] += _MITO_DARK * _profile(sd + 7.0, nz, 6.0, sigma_z)

    for m in _active(spec.ves_box, k):
        _, _, y0, y1, x0, x1 = spec.ves_box[m]
        c, r = spec.ves_center[m], spec.ves_radius[m]
        dz = zc - c[0]
        dy = (ys[y0:y1] - c[1])[:, None]
        dx = (xs[x0:x1] - c[2])[None, :]
        rr = np.sqrt(dz * dz + dy * dy + dx * dx)
        sd = rr - r
        nz = dz / np.where(rr > 0, rr, 1.0)
        region = (slice(y0, y1), slice(x0, x1))
        alpha = _sigmoid(-sd / np.sqrt(9.0 + (nz * sigma_z) ** 2))
        img[region] += alpha * (_VES_LUMEN - img[region])
        dark[region] += _VES_DARK * _profile(sd, nz, 5.0, sigma_z)
        cyto[region][sd < 0] = False

    img *= 1.0 - np.minimum(dark, 0.85)

    rng = np.random.default_rng([spec.seed, 0xE5, 3, k])
    gain = 1.0 + _PLANE_GAIN * rng.standard_normal()
    offset = 0.5 * _PLANE_GAIN * rng.standard_normal()
    # granularity: filtered white noise (std of a sigma-1 filter is 1 / (2 sqrt(pi)))
    grain = ndimage.gaussian_filter(rng.standard_normal((ny_, nx_)), 1.0)
    img += grain * grain_amp * (2.0 * math.sqrt(math.pi))
    n_dots = int(rng.poisson(_DOT_DENSITY * ny_ * nx_))
    dots = np.zeros((ny_, nx_))
    np.add.at(dots, (rng.integers(0, ny_, n_dots), rng.integers(0, nx_, n_dots)),
              rng.uniform(0.5, 1.0, n_dots))
    dots *= cyto
    img -= 2.2 * ndimage.gaussian_filter(dots, 1.1)
    img = ndimage.gaussian_filter(img, _PSF_PX) * gain + offset
    noise = rng.standard_normal((ny_, nx_))
    img += noise * np.sqrt(_NOISE_SHOT * np.maximum(img, 0.0) + _NOISE_READ)

    out["image"][i] = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    out["semantic"][i] = sem
    out["mito_instances"][i] = mito_ids
    out["nuclei"][i] = nuc_ids
    out["cells"][i] = (owner + 1).astype(np.uint32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def render_slab(spec: PhantomSpec, z0: int, z1: int) -> PhantomSlab:
    """Planes z0..z1-1 of the phantom; identical to the same planes of render(spec)."""
    nz_, ny_, nx_ = spec.shape
    if not (0 <= z0 < z1 <= nz_):
        raise ValueError(f"need 0 <= z0 < z1 <= {nz_}, got z0={z0}, z1={z1}")
    n = z1 - z0
    out = {
        "image": np.empty((n, ny_, nx_), np.uint8),
        "semantic": np.empty((n, ny_, nx_), np.uint8),
        "mito_instances": np.empty((n, ny_, nx_), np.uint32),
        "nuclei": np.empty((n, ny_, nx_), np.uint32),
        "cells": np.empty((n, ny_, nx_), np.uint32),
    }
    for i, k in enumerate(range(z0, z1)):
        _render_plane(spec, k, out, i)
    return PhantomSlab(z0=z0, z1=z1, **out)


def render(spec: PhantomSpec) -> PhantomSlab:
    """The whole phantom (for small shapes; use render_slab for large ones)."""
    return render_slab(spec, 0, spec.shape[0])
