"""Vesicles: small dark-rimmed spheres with a light lumen, alone or in clusters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emstudio.core.synth.canvas import Canvas
from emstudio.core.synth.cells import PowerCell
from emstudio.core.synth.geometry import dot3, seg_dist
from emstudio.core.synth.nuclei import outside_nucleus
from emstudio.core.synth.params import (
    MARGIN_VES_CELL,
    MARGIN_VES_NUC,
    VES_CLUSTER_DENSITY,
    VES_DARK,
    VES_LUMEN,
    VES_RADIUS,
    VES_SINGLE_DENSITY,
)
from emstudio.core.synth.profiles import sheet_profile, smooth_step

if TYPE_CHECKING:
    from emstudio.core.synth.spec import PhantomSpec


def place_vesicles(
    rng, cell: PowerCell, nuc, vol: float, sample, in_box, mitos: list[tuple]
) -> list[tuple]:
    """Spheres in clusters and alone, clear of the cell boundary, nucleus, mitochondria and of
    each other (earlier candidates win)."""
    centres = sample(int(rng.poisson(VES_CLUSTER_DENSITY * vol)))
    sizes = rng.poisson(6, len(centres)) + 1
    cluster = np.repeat(centres, sizes, axis=0) + rng.normal(0, 110.0, (int(sizes.sum()), 3))
    c = np.concatenate([cluster, sample(int(rng.poisson(VES_SINGLE_DENSITY * vol)))])
    if not len(c):
        return []
    r = rng.uniform(*VES_RADIUS, len(c))
    reach = dot3(c[:, None], cell.n[None]) + (r + MARGIN_VES_CELL)[:, None]
    ok = in_box(c) & np.all(reach <= cell.h[None], axis=1)
    if nuc is not None:
        ok &= outside_nucleus(c[:, None], nuc, r + MARGIN_VES_NUC)
    if mitos:
        q0 = np.array([m[0] for m in mitos])
        q1 = np.array([m[1] for m in mitos])
        rq = np.array([m[2] for m in mitos])
        gap = seg_dist(c[:, None], c[:, None] + 1e-6, q0[None], q1[None])
        ok &= np.all(gap >= r[:, None] + rq[None] + 25.0, axis=1)
    dd = np.linalg.norm(c[:, None] - c[None], axis=-1) < (r[:, None] + r[None] + 8.0)
    placed: list[tuple] = []
    kept = np.zeros(len(c), bool)
    for i in np.flatnonzero(ok):
        if not np.any(dd[i, :i] & kept[:i]):
            kept[i] = True
            placed.append((c[i], r[i]))
    return placed


def paint_vesicle(cv: Canvas, spec: PhantomSpec, m: int) -> None:
    """Vesicle m: a light lumen and a dark rim (no truth class of its own)."""
    region, zz, yy, xx, _ = cv.block(spec.ves_box[m])
    c, r = spec.ves_center[m], spec.ves_radius[m]
    dz, dy, dx = zz - c[0], yy - c[1], xx - c[2]
    rr = np.sqrt((dz * dz + dy * dy) + dx * dx)
    sd = rr - r
    vnz = dz / np.where(rr > 0, rr, 1.0)
    sub = cv.img[region]
    sub += smooth_step(-sd / np.sqrt(9.0 + (vnz * cv.sigma_z) ** 2)) * (VES_LUMEN - sub)
    cv.dark[region] += VES_DARK * sheet_profile(sd, vnz, 6.5, cv.sigma_z)
    cv.cyto[region][sd < 0] = False
