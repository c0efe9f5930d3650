"""Nuclei: an ellipsoid with a double envelope, chromatin and a nucleolus in a large cell."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emstudio.core.synth.canvas import Canvas
from emstudio.core.synth.cells import PowerCell
from emstudio.core.synth.classes import NUCLEAR_ENVELOPE
from emstudio.core.synth.geometry import dot3, random_rotation, rotate_into
from emstudio.core.synth.params import (
    GRAIN,
    HETEROCHROMATIN,
    MARGIN_NUC_CELL,
    NE_DARK,
    NE_HALF,
    NE_OFFSET,
    NE_SIGMA,
    NUC_AXES_XY,
    NUC_AXIS_Z,
    NUCLEOLUS,
    NUCLEOPLASM,
)
from emstudio.core.synth.profiles import sampling_term, sheet_profile, smooth_step

if TYPE_CHECKING:
    from emstudio.core.synth.spec import PhantomSpec


def outside_nucleus(pts: np.ndarray, nuc, grow: np.ndarray) -> np.ndarray:
    """pts (k, m, 3): True where all m points of a row lie outside the nucleus ellipsoid grown
    by grow (k,) (semi-axes + grow contain the ellipsoid dilated by grow)."""
    q = rotate_into(pts - nuc[0], nuc[2])
    g = nuc[1] + grow[:, None, None]
    return np.all(((q / g) ** 2).sum(-1) > 1.0, axis=1)


def make_nucleus(rng: np.random.Generator, cell: PowerCell, seed_pos: np.ndarray):
    """An ellipsoid near the seed, shrunk to keep MARGIN_NUC_CELL from the cell boundary."""
    rot = random_rotation(rng, 0.25)
    axes = np.array([rng.uniform(*NUC_AXIS_Z), 0.0, 0.0])
    axes[1] = rng.uniform(*NUC_AXES_XY)
    axes[2] = axes[1] * rng.uniform(0.75, 0.95)
    c = seed_pos + rng.uniform(-60, 60, 3) * np.array([0.5, 1, 1])
    amat = rot @ np.diag(axes**2) @ rot.T
    supp = np.sqrt(np.einsum("ni,ij,nj->n", cell.n, amat, cell.n))
    scale = float(np.min((cell.h - dot3(cell.n, c) - MARGIN_NUC_CELL) / supp))
    if scale < 0.5:
        return None
    axes = axes * min(1.0, scale)
    nr = 0.28 * axes.min()  # nucleolus: a dense sphere well inside
    off = rot @ (rng.uniform(-0.35, 0.35, 3) * axes)
    return (c, axes, rot, np.r_[c + off, nr], cell.a)


def paint_nucleus(cv: Canvas, spec: PhantomSpec, m: int) -> None:
    """Nucleus m: envelope truth and id, nucleoplasm, chromatin, a nucleolus, the envelope."""
    region, zz, yy, xx, (b0, b1) = cv.block(spec.nuc_box[m])
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
    band = NE_HALF + sampling_term(enz, gy / safe, gx / safe, cv.vs)
    cv.sem[region][np.abs(d) < band] = NUCLEAR_ENVELOPE
    cv.nuc_ids[region][d < band] = m + 1
    # nucleoplasm, heterochromatin under the envelope and in clumps, a nucleolus
    chrom = cv.tab.fourier("chrom", zz[:, 0, 0], slice(b0, b1), slice(*spec.nuc_box[m, 4:]))
    depth = -d - NE_OFFSET
    rim = 30.0 + 30.0 * (chrom + 1.5)
    het = np.maximum(smooth_step((rim - depth) * 0.125), smooth_step((chrom - 1.0) * 8.0))
    no = spec.nuc_nucleolus[m]
    rn = np.sqrt(((zz - no[0]) ** 2 + (yy - no[1]) ** 2) + (xx - no[2]) ** 2)
    val = NUCLEOPLASM + (HETEROCHROMATIN - NUCLEOPLASM) * het
    val = val + (NUCLEOLUS - val) * smooth_step((no[3] - rn) * 0.1)
    sub = cv.img[region]
    sub += smooth_step(depth * 0.25) * (val - sub)
    inner = depth > 0
    cv.grain_amp[region][inner] = GRAIN[1]
    cv.cyto[region][inner] = False
    cv.dark[region] += NE_DARK * (
        sheet_profile(d + NE_OFFSET, enz, NE_SIGMA, cv.sigma_z)
        + sheet_profile(d - NE_OFFSET, enz, NE_SIGMA, cv.sigma_z)
    )
