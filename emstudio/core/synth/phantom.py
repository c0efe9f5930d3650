"""A deterministic, SBF-SEM/FIB-SEM-looking synthetic volume ("phantom") with exact ground truth.

The phantom is the demo project and the test fixture of the whole pipeline. Every object is
analytic and fixed by ``PhantomSpec.create(shape, seed, voxel_size_nm)``; a voxel's value depends
only on the spec and its position, so any z-range rendered on its own (``render_slab``) is
bit-identical to the same planes of ``render``. Large phantoms are made slab by slab, with memory
proportional to the slab (plus ~50 MB of work space per worker).

Content (axis order (z, y, x), physical units nm, so it follows the voxel size):

* cells: a power (Laguerre) tessellation of random seeds in nm, built on gently warped
  coordinates: space-filling cells of mixed sizes (~1-1.6 um; nucleated cells larger) with
  slightly wavy faces; the membranes are thin dark sheets. Cells are stacked in z, so some
  membranes lie nearly parallel to the XY plane; those look like faint grey smears in an XY
  plane (as in real serial-section images) and like thin lines in XZ/YZ.
* nuclei: in the large cells only: an ellipsoid with a double envelope (two dark lines with a
  light lumen), darker granular nucleoplasm, heterochromatin under the envelope and in clumps,
  a nucleolus.
* mitochondria: capsules (short axis 16-24 px at 10 nm, >= 3 planes at 40 nm) of random
  orientation (biased towards XY) with a dark outer membrane and lamellar cristae, inside cells,
  never touching a membrane, a nucleus or each other; each is its own instance.
* vesicles: small dark-rimmed spheres with a light lumen, alone or in clusters.
* image formation: cytoplasm with smooth low-frequency shading, per-cell tone, granularity and
  ribosome-like dots; membrane profiles blurred analytically along z (section thickness); an
  in-plane PSF; signal-dependent Gaussian (Poisson-like) noise; slice-to-slice brightness
  drift; uint8, membranes dark on light cytoplasm as in (inverted) backscatter images.

Ground truth: ``semantic`` (``CLASS_NAMES``), ``mito_instances`` and ``nuclei`` (uint32, 0 = none,
ids 1..N; every id of the spec is present in ``render(spec)`` and 6-connected), ``cells`` (uint32,
the cell owning each voxel: 1 + its seed index, so not consecutive). Thin-sheet truth is tunnel
free: a band is widened by half the voxel extent along its normal, so a sheet parallel to XY
still covers whole planes and face-adjacent voxels of two cells always include a membrane voxel.
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

# background: cytoplasm, nucleoplasm, vesicles; membrane: cell (plasma) membranes;
# nuclear_envelope: both envelope membranes and the lumen between them; mitochondria: filled,
# outer membrane included
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
_REACH = 64.0  # nm: cell-boundary distances are exact below this (profiles vanish beyond)
_WARP = 20.0  # nm, largest displacement per axis of the coordinates the cells are built on
_TILE = 32  # in-plane tile of the cell assignment (fixed grid)
_NE_OFFSET = 20.0  # the two envelope membranes lie at d = -20 and +20 nm of the ellipsoid
_NE_HALF = 29.0  # half thickness of the envelope truth band (+ half the voxel extent)
_NUC_AXES_XY = (360.0, 560.0)
_NUC_AXIS_Z = (300.0, 480.0)
_MITO_RADIUS = (80.0, 120.0)  # 16-24 px short axis at 10 nm; >= 4 planes at 40 nm
_MITO_LENGTH = (200.0, 850.0)  # axis segment; long axis = length + 2 * radius
_MITO_DENSITY = 8.0  # per um^3 of cytoplasm
_VES_RADIUS = (22.0, 50.0)
_VES_CLUSTER_DENSITY = 2.0  # clusters per um^3 of cytoplasm (each ~7 vesicles)
_VES_SINGLE_DENSITY = 12.0
# keep-out margins (nm) between an object surface and a cell's power plane / a nucleus ellipsoid
_MARGIN_MITO_CELL = 60.0 + _WARP
_MARGIN_VES_CELL = 50.0 + _WARP
_MARGIN_NUC_CELL = 130.0 + _WARP
_MARGIN_MITO_NUC = 110.0
_MARGIN_VES_NUC = 80.0
_POOL = 256  # random points per cell for placing objects

# --- image formation (intensity 0..1, later x255) ----------------------------------------------
_CYTO = 0.70
_CELL_TONE = 0.035  # +- per cell
_LOWFREQ_AMP = 0.035
_MEM_DARK = 0.65  # peak relative darkening of an in-plane membrane
_MEM_SIGMA = 7.0  # nm, intrinsic membrane profile
_Z_BLUR = 0.4  # z PSF sigma, in units of the z voxel size (section thickness)
_NUCLEOPLASM = 0.60
_HETEROCHROMATIN = 0.36
_NUCLEOLUS = 0.34
_NE_DARK = 0.42
_NE_SIGMA = 5.5
_MITO_MATRIX = (0.30, 0.37)
_CRISTAE = 0.22
_MITO_DARK = 0.32
_VES_LUMEN = 0.84
_VES_DARK = 0.75
_GRAIN = (0.035, 0.065, 0.04)  # cytoplasm, nucleus, mitochondrion (std after filtering)
_DOT_DENSITY = 5e-3  # ribosome-like dots per px of cytoplasm
_DOT_PEAK = 0.12  # their darkening
_PSF_PX = 1.0  # in-plane PSF sigma (px); also shapes the granularity
_PLANE_GAIN = 0.02
_NOISE_SHOT = 0.003
_NOISE_READ = 0.002


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
    pos: np.ndarray,
    rad: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Random sequential addition of seeds with exclusion |a-b| >= _GAMMA (R_a + R_b): each
    candidate, in order, is kept if it clears every seed kept before it. Batched with KD-trees."""
    cand = rng.uniform(lo, hi, size=(attempts, 3))
    radii = rng.uniform(*radius_range, size=attempts)
    batch = 2048
    for b0 in range(0, attempts, batch):
        c, r = cand[b0:b0 + batch], radii[b0:b0 + batch]
        ok = np.ones(len(c), bool)
        if len(pos):
            tree = cKDTree(pos)
            kk = min(16, len(pos))
            reach = _GAMMA * (radius_range[1] + rad.max())
            d, j = tree.query(c, k=kk, distance_upper_bound=reach)
            d, j = d.reshape(len(c), kk), j.reshape(len(c), kk)
            found = j < len(pos)
            lim = _GAMMA * (r[:, None] + rad[np.minimum(j, len(pos) - 1)])
            ok = ~np.any(found & (d < lim), axis=1)
            if kk == 16:  # a candidate with 16 neighbours in reach may have more: check them all
                for i in np.flatnonzero(found[:, -1] & ok):
                    near = tree.query_ball_point(c[i], reach)
                    dd = np.linalg.norm(pos[near] - c[i], axis=1)
                    ok[i] = bool(np.all(dd >= _GAMMA * (r[i] + rad[near])))
        pairs = cKDTree(c).query_pairs(2 * _GAMMA * radius_range[1], output_type="ndarray")
        if len(pairs):
            d = np.linalg.norm(c[pairs[:, 0]] - c[pairs[:, 1]], axis=1)
            pairs = pairs[(d < _GAMMA * (r[pairs[:, 0]] + r[pairs[:, 1]]))
                          & ok[pairs[:, 0]] & ok[pairs[:, 1]]]
            pairs = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]  # by later candidate
            for i, j in pairs:
                if ok[i] and ok[j]:  # i < j: i was kept first, so j is rejected
                    ok[j] = False
        pos = np.concatenate([pos, c[ok]])
        rad = np.concatenate([rad, r[ok]])
    return pos, rad


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


def _dot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot products over the last axis (length 3), broadcast; no BLAS (tiny products through a
    threaded BLAS cost milliseconds each)."""
    return (a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]) + a[..., 2] * b[..., 2]


def _rotate_into(v: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """v @ rot for vectors v (..., 3): coordinates along the columns of rot."""
    return np.stack([_dot3(v, rot[:, i]) for i in range(3)], axis=-1)


class _Cell:
    """The power planes around one seed: x is in the cell iff n_b . x <= h_b for every b. A
    convex object lies inside with a margin iff its support function at each n_b, plus the
    margin, is <= h_b (the planes kept are all those that can meet a box of half-size reach)."""

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
        self.h = _dot3(self.n, pos[a]) + (dist * dist + w[a] - w[near]) / (2 * dist)


def _seg_dist(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Distance between segments p0-p1 and q0-q1 (arrays (..., 3), broadcast; nonzero lengths)."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = (d1 * d1).sum(-1)
    e = (d2 * d2).sum(-1)
    b = (d1 * d2).sum(-1)
    c = (d1 * r).sum(-1)
    f = (d2 * r).sum(-1)
    den = a * e - b * b
    s = np.where(den > 1e-9 * a * e, np.clip((b * f - c * e) / np.maximum(den, 1e-300), 0, 1), 0.0)
    t = (b * s + f) / e
    s = np.where(t < 0, np.clip(-c / a, 0, 1), np.where(t > 1, np.clip((b - c) / a, 0, 1), s))
    t = np.clip(t, 0, 1)
    gap = (p0 + d1 * s[..., None]) - (q0 + d2 * t[..., None])
    return np.sqrt((gap * gap).sum(-1))


def _outside_nucleus(pts: np.ndarray, nuc, grow: np.ndarray) -> np.ndarray:
    """pts (k, m, 3): True where all m points of a row lie outside the nucleus ellipsoid grown
    by grow (k,) (semi-axes + grow contain the ellipsoid dilated by grow)."""
    q = _rotate_into(pts - nuc[0], nuc[2])
    g = nuc[1] + grow[:, None, None]
    return np.all(((q / g) ** 2).sum(-1) > 1.0, axis=1)


def _make_nucleus(rng: np.random.Generator, cell: _Cell, seed_pos: np.ndarray):
    """An ellipsoid near the seed, shrunk to keep _MARGIN_NUC_CELL from the cell boundary."""
    rot = _rotation(rng, 0.25)
    axes = np.array([rng.uniform(*_NUC_AXIS_Z), 0.0, 0.0])
    axes[1] = rng.uniform(*_NUC_AXES_XY)
    axes[2] = axes[1] * rng.uniform(0.75, 0.95)
    c = seed_pos + rng.uniform(-60, 60, 3) * np.array([0.5, 1, 1])
    amat = rot @ np.diag(axes**2) @ rot.T
    supp = np.sqrt(np.einsum("ni,ij,nj->n", cell.n, amat, cell.n))
    scale = float(np.min((cell.h - _dot3(cell.n, c) - _MARGIN_NUC_CELL) / supp))
    if scale < 0.5:
        return None
    axes = axes * min(1.0, scale)
    nr = 0.28 * axes.min()  # nucleolus: a dense sphere well inside
    off = rot @ (rng.uniform(-0.35, 0.35, 3) * axes)
    return (c, axes, rot, np.r_[c + off, nr], cell.a)


def _place_mitochondria(rng, cell: _Cell, nuc, vol: float, sample, in_box) -> list[tuple]:
    """Capsules inside the cell, clear of its boundary, of the nucleus and of each other. The
    axis segment lies inside the volume's voxel hull, so each instance is 6-connected.

    Candidates are drawn in one batch (position, direction, size); they are taken in order,
    each kept if it passes every test and clears the ones kept before it."""
    target = int(rng.poisson(_MITO_DENSITY * vol))
    if target == 0:
        return []
    c = sample(20 * target)
    k = len(c)
    if k == 0:
        return []
    u = _unit_vectors(rng, k) * np.array([0.45, 1.0, 1.0])  # favour XY
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = rng.uniform(*_MITO_RADIUS, k)
    # later candidates are shorter, so that small or crowded cells still get some
    length = rng.uniform(*_MITO_LENGTH, k) * (1.0 - 0.6 * np.arange(k) / k)
    p0, p1 = c - 0.5 * length[:, None] * u, c + 0.5 * length[:, None] * u
    ok = in_box(p0) & in_box(p1)
    reach = np.maximum(_dot3(p0[:, None], cell.n[None]), _dot3(p1[:, None], cell.n[None]))
    reach += (r + _MARGIN_MITO_CELL)[:, None]
    ok &= np.all(reach <= cell.h[None], axis=1)
    if nuc is not None:
        frac = np.linspace(0.0, 1.0, 24)[None, :, None]
        ok &= _outside_nucleus(p0[:, None] + frac * (p1 - p0)[:, None], nuc,
                               r + _MARGIN_MITO_NUC)
    idx = np.flatnonzero(ok)[: 8 * target]
    if not len(idx):
        return []
    q0, q1, rq = p0[idx], p1[idx], r[idx]
    clash = _seg_dist(q0[:, None], q1[:, None], q0[None], q1[None]) < (
        rq[:, None] + rq[None] + 10.0)
    kept: list[int] = []
    for j in range(len(idx)):
        if not clash[j, kept].any():
            kept.append(j)
            if len(kept) == target:
                break
    sel = idx[kept]
    m = len(sel)
    # cristae: lamellae across the long axis, kept vertical enough to show in XY
    cu = u[sel] * np.array([0.2, 1.0, 1.0])
    flat = np.linalg.norm(cu[:, 1:], axis=1) < 0.35
    t = rng.uniform(0, 2 * np.pi, m)
    cu[flat] = np.stack([np.zeros(m), np.cos(t), np.sin(t)], 1)[flat]
    cu /= np.linalg.norm(cu, axis=1, keepdims=True)
    wob = np.cross(cu, _unit_vectors(rng, m))
    wob /= np.maximum(np.linalg.norm(wob, axis=1, keepdims=True), 1e-9)
    period = rng.uniform(55.0, 80.0, m)
    phase = rng.uniform(0, 1, m)
    tone = rng.uniform(*_MITO_MATRIX, m)
    return [(p0[i], p1[i], r[i], cu[j], wob[j], period[j], phase[j], tone[j], cell.a)
            for j, i in enumerate(sel)]


def _place_vesicles(rng, cell: _Cell, nuc, vol: float, sample, in_box,
                    mitos: list[tuple]) -> list[tuple]:
    """Spheres in clusters and alone, clear of the cell boundary, nucleus, mitochondria and of
    each other (earlier candidates win)."""
    centres = sample(int(rng.poisson(_VES_CLUSTER_DENSITY * vol)))
    sizes = rng.poisson(6, len(centres)) + 1
    cluster = np.repeat(centres, sizes, axis=0) + rng.normal(0, 110.0, (int(sizes.sum()), 3))
    c = np.concatenate([cluster, sample(int(rng.poisson(_VES_SINGLE_DENSITY * vol)))])
    if not len(c):
        return []
    r = rng.uniform(*_VES_RADIUS, len(c))
    reach = _dot3(c[:, None], cell.n[None]) + (r + _MARGIN_VES_CELL)[:, None]
    ok = in_box(c) & np.all(reach <= cell.h[None], axis=1)
    if nuc is not None:
        ok &= _outside_nucleus(c[:, None], nuc, r + _MARGIN_VES_NUC)
    if mitos:
        q0 = np.array([m[0] for m in mitos])
        q1 = np.array([m[1] for m in mitos])
        rq = np.array([m[2] for m in mitos])
        gap = _seg_dist(c[:, None], c[:, None] + 1e-6, q0[None], q1[None])
        ok &= np.all(gap >= r[:, None] + rq[None] + 25.0, axis=1)
    dd = np.linalg.norm(c[:, None] - c[None], axis=-1) < (r[:, None] + r[None] + 8.0)
    placed: list[tuple] = []
    kept = np.zeros(len(c), bool)
    for i in np.flatnonzero(ok):
        if not np.any(dd[i, :i] & kept[:i]):
            kept[i] = True
            placed.append((c[i], r[i]))
    return placed


def _build(
    shape: tuple[int, int, int], seed: int, voxel: tuple[float, float, float]
) -> PhantomSpec:
    vs = np.array(voxel)
    ext = (np.array(shape) - 1) * vs  # the hull of the voxel centres is [0, ext]
    vol_um3 = float(np.prod(np.maximum(ext, vs))) / 1e9
    rng = np.random.default_rng([seed, 0xE5, 1])

    # --- seeds: nucleated (big) cells inside the volume first, then small cells everywhere -----
    n_big = max(1, int(rng.poisson(_BIG_DENSITY * vol_um3)))
    margin = np.minimum(0.3 * ext, 450.0)
    pos, rad = _rsa(rng, margin, ext - margin, _R_BIG, 60 * n_big, np.zeros((0, 3)),
                    np.zeros(0))
    pos, rad = pos[:n_big], rad[:n_big]
    n_big = len(pos)
    lo, hi = -_PAD * np.ones(3), ext + _PAD
    v_excl = 4 / 3 * np.pi * (_GAMMA * np.mean(_R_SMALL)) ** 3
    attempts = int(10 * np.prod(hi - lo) / v_excl)
    pos, rad = _rsa(rng, lo, hi, _R_SMALL, attempts, pos, rad)
    cell_pos = pos
    cell_w = rad**2
    n_cells = len(cell_pos)
    cell_tone = rng.uniform(-_CELL_TONE, _CELL_TONE, n_cells)
    tex_k, tex_phase = _fourier_features(rng, 16, (800.0, 2500.0))
    chrom_k, chrom_phase = _fourier_features(rng, 10, (250.0, 600.0))
    warp = np.stack([2 * np.pi / rng.uniform(300.0, 900.0, (6, 2)),
                     rng.uniform(0, 2 * np.pi, (6, 2)),
                     rng.uniform(0.25, 0.5, (6, 2)) * _WARP / 2], axis=-1)  # sum <= _WARP

    tree = cKDTree(cell_pos)
    wmax = cell_w.max()
    lifted = cKDTree(np.column_stack([cell_pos, np.sqrt(wmax - cell_w)]))

    def in_box(p: np.ndarray) -> np.ndarray:
        return np.all((p >= 0.0) & (p <= ext), axis=-1)

    # cells that may reach into the volume; a pool of random points owned by each (one query)
    r_cell = 1.6 * np.sqrt(cell_w)
    active = np.flatnonzero(np.all((cell_pos + r_cell[:, None] >= 0)
                                   & (cell_pos - r_cell[:, None] <= ext), axis=1))
    rngs = [np.random.default_rng([seed, 0xE5, 2, a]) for a in active]
    pools = [cell_pos[a] + _unit_vectors(g, _POOL) * (r_cell[a] * g.uniform(0, 1, _POOL)
                                                       ** (1 / 3))[:, None]
             for a, g in zip(active, rngs, strict=True)]
    if len(active):
        allp = np.concatenate(pools)
        own = lifted.query(np.column_stack([allp, np.zeros(len(allp))]))[1]
        own = own.reshape(len(active), _POOL)
    nuclei: list[tuple] = []
    mitos: list[tuple] = []
    vesicles: list[tuple] = []
    for j, a in enumerate(active):
        crng = rngs[j]
        pool = pools[j][(own[j] == a) & in_box(pools[j])]
        if not len(pool):
            continue
        cell = _Cell(a, cell_pos, cell_w, tree, r_cell[a] + 650.0)
        nuc = _make_nucleus(crng, cell, cell_pos[a]) if a < n_big else None
        if nuc is not None:
            nuclei.append(nuc)
        # cytoplasm volume of the cell inside the box (Monte Carlo over the pool)
        free = len(pool)
        if nuc is not None:
            q = _rotate_into(pool - nuc[0], nuc[2])
            free = int((((q / nuc[1]) ** 2).sum(1) > 1.0).sum())
        vol = free / _POOL * 4 / 3 * np.pi * r_cell[a] ** 3 / 1e9
        queue = [pool]

        def sample(n: int, queue=queue, a=a, crng=crng) -> np.ndarray:
            """n random points of the cell inside the volume (fewer if the cell is tiny)."""
            have = sum(len(q) for q in queue)
            for _ in range(8):
                if have >= n:
                    break
                lo_ = np.maximum(cell_pos[a] - r_cell[a], 0.0)  # the sphere's box, clipped
                hi_ = np.minimum(cell_pos[a] + r_cell[a], ext)
                p = crng.uniform(lo_, hi_, (2 * _POOL, 3))
                ow = lifted.query(np.column_stack([p, np.zeros(len(p))]))[1]
                queue.append(p[(ow == a) & in_box(p)])
                have += len(queue[-1])
            allp = np.concatenate(queue)
            queue[:] = [allp[n:]]
            return allp[:n]

        cell_mitos = _place_mitochondria(crng, cell, nuc, vol, sample, in_box)
        mitos.extend(cell_mitos)
        vesicles.extend(_place_vesicles(crng, cell, nuc, vol, sample, in_box, cell_mitos))

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
        mito_period=stack(mitos, 5), mito_phase=stack(mitos, 6), mito_tone=stack(mitos, 7),
        mito_cell=stack(mitos, 8).astype(np.int64),
        ves_center=v_c, ves_radius=v_r,
        tex_k=tex_k, tex_phase=tex_phase, chrom_k=chrom_k, chrom_phase=chrom_phase,
        warp=warp,
        nuc_box=boxes(nuc_center - half, nuc_center + half),
        mito_box=boxes(np.minimum(m_p0, m_p1) - m_r[:, None] - 60.0,
                       np.maximum(m_p0, m_p1) + m_r[:, None] + 60.0),
        ves_box=boxes(v_c - v_r[:, None] - 40.0, v_c + v_r[:, None] + 40.0),
    )


# ================================================================================================
# rendering
#
# Bit-exactness between slabs: voxel values are computed with exactly rounded arithmetic only
# (+ - * / sqrt, min/argmin, floor, comparisons), so they do not depend on how planes and rows are
# grouped into work units. The only transcendental functions are evaluated on 1D tables fixed by
# the spec (np.cos over the full Y or X axis) or on scalars (math.cos per plane). The in-plane
# Gaussian filters run line by line with a halo, and the random numbers come from generators
# seeded by (seed, plane, fixed row block).
# ================================================================================================

_ROWS = 32  # row block of the random numbers; work units start on multiples of it
_HALO = 8  # rows, >= the radius of every in-plane filter
_UNIT_VOXELS = 1 << 19  # work unit size (planes x rows x X)
_BATCH = 1 << 19  # cell-field elements per batch (tiles x candidates x TILE^2)


class _Tables:
    """cos/sin of k_y*y and k_x*x over the full axes, for fields that are sums of plane waves."""

    def __init__(self, spec: PhantomSpec):
        _, ny_, nx_ = spec.shape
        vs = spec.voxel_size_nm
        self.ys = np.arange(ny_) * vs[1]
        self.xs = np.arange(nx_) * vs[2]
        self.fields = {}
        for name, k, ph in (("tex", spec.tex_k, spec.tex_phase),
                            ("chrom", spec.chrom_k, spec.chrom_phase)):
            ay = np.multiply.outer(k[:, 1], self.ys)
            ax = np.multiply.outer(k[:, 2], self.xs)
            self.fields[name] = (k[:, 0], ph, np.cos(ay), np.sin(ay), np.cos(ax), np.sin(ax))
        self.warp = spec.warp
        # x' = x + fz(z) + fy(y); y' = y + gz(z) + gx(x); z' = z + hy(y) + hx(x)
        # over the whole tile grid (edge tiles reach past the volume)
        yt = np.arange(-(-ny_ // _TILE) * _TILE) * vs[1]
        xt = np.arange(-(-nx_ // _TILE) * _TILE) * vs[2]
        self.fy = self._wave1d(1, yt)
        self.gx = self._wave1d(3, xt)
        self.hy = self._wave1d(4, yt)
        self.hx = self._wave1d(5, xt)

    def _wave1d(self, i: int, a: np.ndarray) -> np.ndarray:
        k, ph, amp = self.warp[i, :, 0], self.warp[i, :, 1], self.warp[i, :, 2]
        return amp[0] * np.sin(k[0] * a + ph[0]) + amp[1] * np.sin(k[1] * a + ph[1])

    def warp_z(self, i: int, z: float) -> float:
        """The z-dependent warp term of function i (0: x' shift, 2: y' shift) at z."""
        k, ph, amp = self.warp[i, :, 0], self.warp[i, :, 1], self.warp[i, :, 2]
        return amp[0] * math.sin(k[0] * z + ph[0]) + amp[1] * math.sin(k[1] * z + ph[1])

    def _waves(self, name: str, zc: np.ndarray, sel: slice, axis: int, r: slice) -> np.ndarray:
        """sum over the waves sel of sqrt(2/K) cos(k_z z + k_a a + phase), a = y (axis 1) or
        x (axis 2), on planes zc (n,) and rows/columns r: (n, len)."""
        kz, ph, cy, sy, cx, sx = self.fields[name]
        ca, sa = (cy, sy) if axis == 1 else (cx, sx)
        idx = range(len(ph))[sel]
        amp = math.sqrt(2.0 / len(idx))
        out = np.zeros((len(zc), ca[0, r].size))
        for i in idx:
            cz = np.array([amp * math.cos(kz[i] * z + ph[i]) for z in zc])[:, None]
            sz = np.array([amp * math.sin(kz[i] * z + ph[i]) for z in zc])[:, None]
            out += cz * ca[i, r] - sz * sa[i, r]
        return out

    def shading(self, zc: np.ndarray, ry: slice, rx: slice) -> np.ndarray:
        """The cytoplasm level plus a smooth low-frequency field u(z,y) + v(z,x) + u2 v2 of
        standard deviation _LOWFREQ_AMP (float32)."""
        u = self._waves("tex", zc, slice(0, 4), 1, ry)
        v = self._waves("tex", zc, slice(4, 8), 2, rx)
        u2 = self._waves("tex", zc, slice(8, 12), 1, ry)
        v2 = self._waves("tex", zc, slice(12, 16), 2, rx)
        g = np.float32(_LOWFREQ_AMP / math.sqrt(3.0))
        u, v, u2, v2 = (a.astype(np.float32) * g for a in (u, v, u2, v2))
        u += np.float32(_CYTO)
        return (u[:, :, None] + v[:, None, :]) + u2[:, :, None] * (v2[:, None, :] / g)

    def fourier(self, name: str, zc: np.ndarray, ry: slice, rx: slice) -> np.ndarray:
        """sum_i sqrt(2/K) cos(k_i . p + phase_i) on planes zc (n,), rows ry, columns rx."""
        kz, ph, cy, sy, cx, sx = self.fields[name]
        amp = math.sqrt(2.0 / len(ph))
        out = np.zeros((len(zc), cy[0, ry].size, cx[0, rx].size))
        for i in range(len(ph)):
            cz = np.array([amp * math.cos(kz[i] * z + ph[i]) for z in zc])[:, None]
            sz = np.array([amp * math.sin(kz[i] * z + ph[i]) for z in zc])[:, None]
            re = cz * cy[i, ry] - sz * sy[i, ry]
            im = sz * cy[i, ry] + cz * sy[i, ry]
            out += re[:, :, None] * cx[i, rx] - im[:, :, None] * sx[i, rx]
        return out


def _bump(u2: np.ndarray) -> np.ndarray:
    """A Gaussian-like bump of u (given u^2): ~exp(-u^2/2), compact (zero for |u| > 3.46)."""
    b = np.maximum(1.0 - u2 * (1.0 / 12.0), 0.0)
    b2 = b * b
    return b2 * b2 * b2


def _step(x: np.ndarray) -> np.ndarray:
    """Smooth step from 0 (x <= -3) to 1 (x >= 3), slope 1/4 at 0 like a logistic."""
    t = np.clip(0.5 + x * (1.0 / 6.0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _profile(d: np.ndarray, nz: np.ndarray, sigma0: float, sigma_z: float) -> np.ndarray:
    """A thin dark sheet at d = 0 seen through a PSF sigma_z wide along z: a bump of width
    sqrt(sigma0^2 + (nz sigma_z)^2), peak scaled to keep its integral (sheets seen en face are
    fainter and wider, as in serial-section images)."""
    s2 = sigma0 * sigma0 + (nz * sigma_z) ** 2
    return np.sqrt(sigma0 * sigma0 / s2) * _bump(d * d / s2)


def _sampling_term(nz: np.ndarray, ny: np.ndarray, nx: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """Half of (the voxel extent along the normal - the smallest voxel size), nm: widening a
    sheet's truth band by it makes the band tunnel free on the anisotropic grid."""
    return 0.5 * (np.abs(nz) * vs[0] + np.abs(ny) * vs[1] + np.abs(nx) * vs[2] - vs.min())


def _axis_pow(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest squared distance along one axis from seeds p (S,) to intervals
    [lo, hi] (m,): arrays (m, S)."""
    dlo = lo[:, None] - p[None]
    dhi = p[None] - hi[:, None]
    dmin = np.maximum(np.maximum(dlo, dhi), 0.0)
    dmax = np.maximum(np.abs(dlo), np.abs(dhi))
    return dmin * dmin, dmax * dmax


def _tile_candidates(spec: PhantomSpec, pre: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                     nty: int, ntx: int) -> np.ndarray:
    """The seeds (ascending) that may own a point of each tile box of a plane: (t, L) indices
    padded with -1, t = nty * ntx boxes lo/hi (t, 3) in row-major tile order. A seed s is kept
    unless, for some seed t, pow_s > pow_t over the whole box. pre: ascending seed indices that
    include every possible owner of the union of the boxes."""
    pos, w = spec.cell_pos, spec.cell_weight
    sub = pre[_owners_possible(pos[pre], w[pre], lo.min(0), hi.max(0))]
    p, ws = pos[sub], w[sub]
    zmn, zmx = _axis_pow(p[:, 0], lo[:1, 0], hi[:1, 0])
    ymn, ymx = _axis_pow(p[:, 1], lo[::ntx, 1], hi[::ntx, 1])
    xmn, xmx = _axis_pow(p[:, 2], lo[:ntx, 2], hi[:ntx, 2])
    mn = ((zmn - ws)[:, None, :] + ymn[:, None, :]) + xmn[None, :, :]  # (nty, ntx, S)
    mx = ((zmx - ws)[:, None, :] + ymx[:, None, :]) + xmx[None, :, :]
    loose = (mn <= mx.min(2, keepdims=True)).reshape(nty * ntx, -1)
    idx, valid = _compact(loose, sub)
    if idx.shape[1] > 1:
        safe = np.maximum(idx, 0)
        pc = pos[safe]  # (t, L, 3)
        c = (pc[..., 0] ** 2 + pc[..., 1] ** 2 + pc[..., 2] ** 2) - w[safe]
        coef = 2.0 * (pc[:, None, :, :] - pc[:, :, None, :])  # [t, i, j] = 2 (p_j - p_i)
        low = np.minimum(coef * lo[:, None, None, :], coef * hi[:, None, None, :])
        lin = (c[:, :, None] - c[:, None, :]) + (low[..., 0] + low[..., 1] + low[..., 2])
        beaten = (lin > 0) & valid[:, None, :]
        idx = _compact(valid & ~beaten.any(2), idx)[0]
    return idx


def _compact(mask: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the values (a row vector, or an array like mask) where mask is True, in order,
    left-aligned and padded with -1; and the validity mask of the result."""
    rows, cols = np.nonzero(mask)
    count = mask.sum(1)
    width = max(1, int(count.max()))
    start = np.cumsum(count) - count
    slot = np.arange(len(rows)) - np.repeat(start, count)
    out = np.full((mask.shape[0], width), -1, np.int64)
    out[rows, slot] = values[cols] if values.ndim == 1 else values[rows, cols]
    return out, out >= 0


def _pair_tables(p: np.ndarray, spec: PhantomSpec):
    """For the candidate seeds p (m, c, 3) of m tiles: 0.5 / |p_b - p_a|, the membrane truth
    half-band, the membrane profile variance and its peak darkness, all (m, c, c)."""
    vs = np.asarray(spec.voxel_size_nm)
    diff = p[:, None, :, :] - p[:, :, None, :]  # [m, a, b] = p_b - p_a
    dab = np.sqrt(diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2)
    c = p.shape[1]
    dab[:, np.arange(c), np.arange(c)] = 1.0
    nz, ny, nx = (diff[..., i] / dab for i in range(3))
    band = _MEM_HALF + _sampling_term(nz, ny, nx, vs)
    s2 = _MEM_SIGMA**2 + (nz * (_Z_BLUR * vs[0])) ** 2
    amp = _MEM_DARK * np.sqrt(_MEM_SIGMA**2 / s2)
    return tuple(a.astype(np.float32) for a in (0.5 / dab, band, s2, amp))


def _cell_field(spec: PhantomSpec, tab: _Tables, planes: np.ndarray, ty0: int, ty1: int):
    """The owning seed, the membrane truth mask and the membrane darkness for planes x tile rows
    ty0..ty1 (all columns), as arrays (n, rows, cols) covering whole tiles (the caller crops).

    The cells are built on warped coordinates (x' = x + fz(z) + fy(y), ...; at most _WARP nm
    per axis), which makes their faces gently wavy. The distance to the cell boundary is exact
    wherever it is below _REACH, which covers the truth band and the (compact) membrane profile,
    so both are exact everywhere.
    """
    vs = np.asarray(spec.voxel_size_nm)
    nx_ = spec.shape[2]
    t, e = _TILE, _REACH + _WARP  # boxes grow by the warp too
    ntx = -(-nx_ // t)
    nty = ty1 - ty0
    n = len(planes)
    owner = np.empty((n, nty, ntx, t, t), np.int32)  # tile layout, transposed at the end
    mem = np.zeros((n, nty, ntx, t, t), bool)
    dark = np.zeros((n, nty, ntx, t, t), np.float32)
    ty_g, tx_g = np.meshgrid(np.arange(ty0, ty1), np.arange(ntx), indexing="ij")
    ty_g, tx_g = ty_g.ravel(), tx_g.ravel()
    lo = np.stack([np.zeros(ty_g.size), ty_g * t * vs[1], tx_g * t * vs[2]], 1) - e
    hi = np.stack([np.zeros(ty_g.size), (ty_g * t + t - 1) * vs[1],
                   (tx_g * t + t - 1) * vs[2]], 1) + e
    lo[:, 0], hi[:, 0] = planes[0] * vs[0] - e, planes[-1] * vs[0] + e
    pre = _owners_possible(spec.cell_pos, spec.cell_weight, lo.min(0), hi.max(0))
    groups: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for i, k in enumerate(planes):
        zc = k * vs[0]
        lo[:, 0], hi[:, 0] = zc - e, zc + e
        idx = _tile_candidates(spec, pre, lo, hi, nty, ntx)
        cnt = (idx >= 0).sum(1)
        for c in np.unique(cnt):
            sel = np.flatnonzero(cnt == c)
            tiles = np.stack([np.full(sel.size, i), ty_g[sel] - ty0, tx_g[sel]], 1)
            groups.setdefault(int(c), []).append((tiles, idx[sel, :c]))
    off = np.arange(t)
    warp_f = np.array([tab.warp_z(0, k * vs[0]) for k in planes])  # x' shift of each plane
    warp_g = np.array([tab.warp_z(2, k * vs[0]) for k in planes])  # y' shift
    for c, parts in sorted(groups.items()):
        tiles = np.concatenate([p[0] for p in parts])
        cand = np.concatenate([p[1] for p in parts])
        if c == 1:
            owner[tiles[:, 0], tiles[:, 1], tiles[:, 2]] = cand[:, :1, None]
            continue
        step = max(1, _BATCH // (c * t * t))
        for b0 in range(0, len(tiles), step):
            tl, cd = tiles[b0:b0 + step], cand[b0:b0 + step]
            m = len(tl)
            rows = (tl[:, 1] + ty0)[:, None] * t + off  # (m, t)
            cols = tl[:, 2][:, None] * t + off
            # coordinates relative to the tile corner (float32 is then ample: |q|, |p| < 3 um)
            corner = np.stack([planes[tl[:, 0]] * vs[0], rows[:, 0] * vs[1], cols[:, 0] * vs[2]], 1)
            p = spec.cell_pos[cd]  # (m, c, 3)
            pl = (p - corner[:, None, :]).astype(np.float32)
            zw = (tab.hy[rows][:, :, None] + tab.hx[cols][:, None, :]).astype(np.float32)
            yw = ((off * vs[1] + warp_g[tl[:, 0]][:, None])[:, :, None]
                  + tab.gx[cols][:, None, :]).astype(np.float32)
            xw = ((off * vs[2] + warp_f[tl[:, 0]][:, None])[:, None, :]
                  + tab.fy[rows][:, :, None]).astype(np.float32)  # (m, t, t)
            # power |q - p_s|^2 - w_s minus the common |q|^2: linear in the warped point q
            k = (((pl[..., 0] ** 2 + pl[..., 1] ** 2) + pl[..., 2] ** 2)
                 - spec.cell_weight[cd].astype(np.float32))
            pw = ((k[:, :, None, None] - zw[:, None] * (2 * pl[..., 0, None, None]))
                  - yw[:, None] * (2 * pl[..., 1, None, None])) - xw[:, None] * (
                      2 * pl[..., 2, None, None])  # (m, c, t, t)
            inv, band, s2, amp = _pair_tables(p, spec)
            if c == 2:
                own = (pw[:, 1] < pw[:, 0]).astype(np.intp)
                d = np.abs(pw[:, 1] - pw[:, 0]) * inv[:, 0, 1, None, None]
                band_p, s2_p, amp_p = (q[:, 0, 1, None, None] for q in (band, s2, amp))
            else:
                own = pw.argmin(1)  # (m, t, t)
                pown = pw.min(1)
                d = np.full(own.shape, np.inf, np.float32)
                bb = np.zeros(own.shape, np.intp)
                mi = np.arange(m)[:, None, None]
                for b in range(c):
                    db = (pw[:, b] - pown) * inv[mi, own, b]
                    db[own == b] = np.inf
                    closer = db < d
                    d = np.where(closer, db, d)
                    bb[closer] = b
                band_p, s2_p, amp_p = band[mi, own, bb], s2[mi, own, bb], amp[mi, own, bb]
            i0, i1, i2 = tl[:, 0], tl[:, 1], tl[:, 2]
            owner[i0, i1, i2] = np.take_along_axis(cd, own.reshape(m, -1), 1).reshape(own.shape)
            mem[i0, i1, i2] = d < band_p
            dark[i0, i1, i2] = amp_p * _bump(d * d / s2_p)
    shp = (n, nty * t, ntx * t)
    tr = (0, 1, 3, 2, 4)
    return (owner.transpose(tr).reshape(shp), mem.transpose(tr).reshape(shp),
            dark.transpose(tr).reshape(shp))


def _overlap(box: np.ndarray, k0: int, k1: int, r0: int, r1: int) -> np.ndarray:
    """Objects whose render box meets planes k0..k1-1 and rows r0..r1-1."""
    return np.flatnonzero((box[:, 0] < k1) & (box[:, 1] >= k0) & (box[:, 2] < r1)
                          & (box[:, 3] > r0) & (box[:, 4] < box[:, 5]))


def _render_unit(spec: PhantomSpec, tab: _Tables, k0: int, k1: int, y0: int, y1: int,
                 out: dict[str, np.ndarray], zoff: int) -> None:
    """Render planes k0..k1-1, rows y0..y1-1 into out (slab arrays, plane index k - zoff)."""
    vs = np.asarray(spec.voxel_size_nm)
    _, ny_, nx_ = spec.shape
    sigma_z = _Z_BLUR * vs[0]
    r0, r1 = max(0, y0 - _HALO), min(ny_, y1 + _HALO)  # rows computed (with the filter halo)
    nrow = r1 - r0
    planes = np.arange(k0, k1)
    n = len(planes)
    zc = planes * vs[0]
    ty0, ty1 = r0 // _TILE, -(-r1 // _TILE)
    owner, mem, dark = _cell_field(spec, tab, planes, ty0, ty1)
    crop = (slice(None), slice(r0 - ty0 * _TILE, r1 - ty0 * _TILE), slice(0, nx_))
    owner, mem, dark = owner[crop], mem[crop], dark[crop]

    sem = mem.astype(np.uint8)  # MEMBRANE == 1
    mito_ids = np.zeros((n, nrow, nx_), np.uint32)
    nuc_ids = np.zeros((n, nrow, nx_), np.uint32)
    img = spec.cell_tone.astype(np.float32)[owner]
    img += tab.shading(zc, slice(r0, r1), slice(0, nx_))
    grain_amp = np.full((n, nrow, nx_), _GRAIN[0], np.float32)
    cyto = np.ones((n, nrow, nx_), bool)  # where ribosome-like dots may appear

    def block(bx: np.ndarray):
        """Slices of (planes, rows, cols) where an object box meets this unit, and the planes',
        rows' and columns' coordinates."""
        a0, a1 = max(bx[0], k0), min(bx[1] + 1, k1)
        b0, b1 = max(bx[2], r0), min(bx[3], r1)
        region = (slice(a0 - k0, a1 - k0), slice(b0 - r0, b1 - r0), slice(bx[4], bx[5]))
        zz = (np.arange(a0, a1) * vs[0])[:, None, None]
        return region, zz, tab.ys[b0:b1][None, :, None], tab.xs[bx[4]:bx[5]][None, None, :], (
            b0, b1)

    for m in _overlap(spec.nuc_box, k0, k1, r0, r1):
        region, zz, yy, xx, (b0, b1) = block(spec.nuc_box[m])
        c, rot, axes = spec.nuc_center[m], spec.nuc_rot[m], spec.nuc_axes[m]
        bm = rot @ np.diag(1.0 / axes**2) @ rot.T
        qz, qy, qx = zz - c[0], yy - c[1], xx - c[2]
        gz = (bm[0, 0] * qz + bm[0, 1] * qy) + bm[0, 2] * qx
        gy = (bm[1, 0] * qz + bm[1, 1] * qy) + bm[1, 2] * qx
        gx = (bm[2, 0] * qz + bm[2, 1] * qy) + bm[2, 2] * qx
        f = np.sqrt(np.maximum((qz * gz + qy * gy) + qx * gx, 0.0))
        gn = np.sqrt((gz * gz + gy * gy) + gx * gx)
        grad = np.full(f.shape, 1.0 / axes.max())
        np.divide(gn, f, out=grad, where=f > 0)
        d = (f - 1.0) / grad  # first-order distance to the ellipsoid surface, nm
        safe = np.where(gn > 0, gn, 1.0)
        enz = gz / safe
        band = _NE_HALF + _sampling_term(enz, gy / safe, gx / safe, vs)
        sem[region][np.abs(d) < band] = NUCLEAR_ENVELOPE
        nuc_ids[region][d < band] = m + 1
        # nucleoplasm, heterochromatin under the envelope and in clumps, a nucleolus
        chrom = tab.fourier("chrom", zz[:, 0, 0], slice(b0, b1), slice(*spec.nuc_box[m, 4:]))
        depth = -d - _NE_OFFSET
        rim = 30.0 + 30.0 * (chrom + 1.5)
        het = np.maximum(_step((rim - depth) * 0.125), _step((chrom - 1.0) * 8.0))
        no = spec.nuc_nucleolus[m]
        rn = np.sqrt(((zz - no[0]) ** 2 + (yy - no[1]) ** 2) + (xx - no[2]) ** 2)
        val = _NUCLEOPLASM + (_HETEROCHROMATIN - _NUCLEOPLASM) * het
        val = val + (_NUCLEOLUS - val) * _step((no[3] - rn) * 0.1)
        sub = img[region]
        sub += _step(depth * 0.25) * (val - sub)
        inner = depth > 0
        grain_amp[region][inner] = _GRAIN[1]
        cyto[region][inner] = False
        dark[region] += _NE_DARK * (_profile(d + _NE_OFFSET, enz, _NE_SIGMA, sigma_z)
                                    + _profile(d - _NE_OFFSET, enz, _NE_SIGMA, sigma_z))

    for m in _overlap(spec.mito_box, k0, k1, r0, r1):
        region, zz, yy, xx, _ = block(spec.mito_box[m])
        p0, p1, r = spec.mito_p0[m], spec.mito_p1[m], spec.mito_radius[m]
        ax = p1 - p0
        qz, qy, qx = zz - p0[0], yy - p0[1], xx - p0[2]
        tt = np.clip(((qz * ax[0] + qy * ax[1]) + qx * ax[2]) / float(ax @ ax), 0.0, 1.0)
        dz, dy, dx = qz - tt * ax[0], qy - tt * ax[1], qx - tt * ax[2]
        rr = np.sqrt((dz * dz + dy * dy) + dx * dx)
        sd = rr - r  # signed distance to the capsule surface
        mnz = dz / np.where(rr > 0, rr, 1.0)
        inside = sd <= 0
        sem[region][inside] = MITOCHONDRIA
        mito_ids[region][inside] = m + 1
        # cristae: bright lamellae across the long axis, gently undulating
        cu, wb = spec.mito_cristae[m], spec.mito_wobble[m]
        wv = ((qz * wb[0] + qy * wb[1]) + qx * wb[2]) * (1.0 / 260.0)
        tri = 4.0 * np.abs(wv - np.floor(wv) - 0.5) - 1.0
        ph = ((qz * cu[0] + qy * cu[1]) + qx * cu[2]) * (1.0 / spec.mito_period[m])
        ph = ph + spec.mito_phase[m] + 0.2 * tri * (1.5 - 0.5 * tri * tri)
        g = ph - np.floor(ph + 0.5)
        stripes = np.maximum(1.0 - g * g * (1.0 / 0.05), 0.0) ** 2
        val = spec.mito_tone[m] + _CRISTAE * stripes * np.clip((-sd - 18.0) / 15.0, 0.0, 1.0)
        edge = np.sqrt(9.0 + (mnz * sigma_z) ** 2)
        sub = img[region]
        sub += _step(-sd / edge) * (val - sub)
        grain_amp[region][inside] = _GRAIN[2]
        cyto[region][inside] = False
        dark[region] += _MITO_DARK * _profile(sd + 7.0, mnz, 6.0, sigma_z)

    for m in _overlap(spec.ves_box, k0, k1, r0, r1):
        region, zz, yy, xx, _ = block(spec.ves_box[m])
        c, r = spec.ves_center[m], spec.ves_radius[m]
        dz, dy, dx = zz - c[0], yy - c[1], xx - c[2]
        rr = np.sqrt((dz * dz + dy * dy) + dx * dx)
        sd = rr - r
        vnz = dz / np.where(rr > 0, rr, 1.0)
        sub = img[region]
        sub += _step(-sd / np.sqrt(9.0 + (vnz * sigma_z) ** 2)) * (_VES_LUMEN - sub)
        dark[region] += _VES_DARK * _profile(sd, vnz, 6.5, sigma_z)
        cyto[region][sd < 0] = False

    img *= 1.0 - np.minimum(dark, np.float32(0.85))

    # random parts, from generators seeded per (plane, fixed row block), so that any row range
    # draws the same numbers. Granularity and dots are added before the PSF, which shapes them.
    noise = np.empty((n, nrow, nx_), np.float32)
    gain = np.empty((n, 1, 1), np.float32)
    offset = np.empty((n, 1, 1), np.float32)
    # the PSF divides the std of white noise by 2 sqrt(pi) s and a unit impulse by 2 pi s^2
    grain_amp *= np.float32(2.0 * math.sqrt(math.pi) * _PSF_PX)
    dot_w = np.float32(_DOT_PEAK * 2.0 * math.pi * _PSF_PX**2)
    for i, k in enumerate(planes):
        prng = np.random.default_rng([spec.seed, 0xE5, 3, int(k)])
        gain[i] = 1.0 + _PLANE_GAIN * prng.standard_normal()
        offset[i] = 0.5 * _PLANE_GAIN * prng.standard_normal()
        for b in range(r0 // _ROWS, -(-r1 // _ROWS)):
            brng = np.random.default_rng([spec.seed, 0xE5, 4, int(k), b])
            white = brng.standard_normal((2, _ROWS, nx_), np.float32)
            nd = int(brng.poisson(_DOT_DENSITY * _ROWS * nx_))
            dpos = brng.integers(0, _ROWS * nx_, nd)
            dw = brng.uniform(0.5, 1.0, nd)
            lo_, hi_ = max(r0, b * _ROWS), min(r1, b * _ROWS + _ROWS)
            src = slice(lo_ - b * _ROWS, hi_ - b * _ROWS)
            dst = slice(lo_ - r0, hi_ - r0)
            dots = np.bincount(dpos, dw, _ROWS * nx_).reshape(_ROWS, nx_)[src]
            img[i, dst] += white[0, src] * grain_amp[i, dst] - (dots * cyto[i, dst]) * dot_w
            noise[i, dst] = white[1, src]
    img = ndimage.gaussian_filter(img, (0, _PSF_PX, _PSF_PX), truncate=3.5)
    img = img * gain + offset
    img += noise * np.sqrt(np.float32(_NOISE_SHOT) * np.maximum(img, 0) + np.float32(_NOISE_READ))

    keep = (slice(None), slice(y0 - r0, y1 - r0))
    dst = (slice(k0 - zoff, k1 - zoff), slice(y0, y1))
    out["image"][dst] = np.clip(np.rint(img[keep] * 255.0), 0, 255).astype(np.uint8)
    out["semantic"][dst] = sem[keep]
    out["mito_instances"][dst] = mito_ids[keep]
    out["nuclei"][dst] = nuc_ids[keep]
    out["cells"][dst] = owner[keep] + 1


def render_slab(spec: PhantomSpec, z0: int, z1: int, workers: int = 1) -> PhantomSlab:
    """Planes z0..z1-1 of the phantom; identical to the same planes of render(spec).

    Memory: the outputs (14 bytes a voxel) plus ~100 bytes a voxel of one work unit (~0.5 M
    voxels) per worker. workers > 1 renders work units in threads.
    """
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
    tab = _Tables(spec)
    if ny_ * nx_ <= _UNIT_VOXELS:
        per_k, rows = max(1, _UNIT_VOXELS // (ny_ * nx_)), ny_
    else:
        per_k, rows = 1, max(_ROWS, _UNIT_VOXELS // nx_ // _ROWS * _ROWS)
    units = [(k, min(k + per_k, z1), y, min(y + rows, ny_))
             for k in range(z0, z1, per_k) for y in range(0, ny_, rows)]

    def run(u: tuple[int, int, int, int]) -> None:
        _render_unit(spec, tab, u[0], u[1], u[2], u[3], out, z0)

    if workers > 1 and len(units) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, units))
    else:
        for u in units:
            run(u)
    return PhantomSlab(z0=z0, z1=z1, **out)


def render(spec: PhantomSpec, workers: int = 1) -> PhantomSlab:
    """The whole phantom (for small shapes; use render_slab for large ones)."""
    return render_slab(spec, 0, spec.shape[0], workers)
