"""Mitochondria: capsules with lamellar cristae, clear of membranes, nuclei and each other."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emstudio.core.synth.canvas import Canvas
from emstudio.core.synth.cells import PowerCell
from emstudio.core.synth.classes import MITOCHONDRIA
from emstudio.core.synth.geometry import dot3, seg_dist, unit_vectors
from emstudio.core.synth.nuclei import outside_nucleus
from emstudio.core.synth.params import (
    CRISTAE,
    GRAIN,
    MARGIN_MITO_CELL,
    MARGIN_MITO_NUC,
    MITO_DARK,
    MITO_DENSITY,
    MITO_LENGTH,
    MITO_MATRIX,
    MITO_RADIUS,
)
from emstudio.core.synth.profiles import sheet_profile, smooth_step

if TYPE_CHECKING:
    from emstudio.core.synth.spec import PhantomSpec


def place_mitochondria(rng, cell: PowerCell, nuc, vol: float, sample, in_box) -> list[tuple]:
    """Capsules inside the cell, clear of its boundary, of the nucleus and of each other. The
    axis segment lies inside the volume's voxel hull, so each instance is 6-connected.

    Candidates are drawn in one batch (position, direction, size); they are taken in order,
    each kept if it passes every test and clears the ones kept before it."""
    target = int(rng.poisson(MITO_DENSITY * vol))
    if target == 0:
        return []
    c = sample(20 * target)
    k = len(c)
    if k == 0:
        return []
    u = unit_vectors(rng, k) * np.array([0.45, 1.0, 1.0])  # favour XY
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = rng.uniform(*MITO_RADIUS, k)
    # later candidates are shorter, so that small or crowded cells still get some
    length = rng.uniform(*MITO_LENGTH, k) * (1.0 - 0.6 * np.arange(k) / k)
    p0, p1 = c - 0.5 * length[:, None] * u, c + 0.5 * length[:, None] * u
    ok = in_box(p0) & in_box(p1)
    reach = np.maximum(dot3(p0[:, None], cell.n[None]), dot3(p1[:, None], cell.n[None]))
    reach += (r + MARGIN_MITO_CELL)[:, None]
    ok &= np.all(reach <= cell.h[None], axis=1)
    if nuc is not None:
        frac = np.linspace(0.0, 1.0, 24)[None, :, None]
        ok &= outside_nucleus(p0[:, None] + frac * (p1 - p0)[:, None], nuc, r + MARGIN_MITO_NUC)
    idx = np.flatnonzero(ok)[: 8 * target]
    if not len(idx):
        return []
    q0, q1, rq = p0[idx], p1[idx], r[idx]
    clash = seg_dist(q0[:, None], q1[:, None], q0[None], q1[None]) < (rq[:, None] + rq[None] + 10.0)
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
    wob = np.cross(cu, unit_vectors(rng, m))
    wob /= np.maximum(np.linalg.norm(wob, axis=1, keepdims=True), 1e-9)
    period = rng.uniform(55.0, 80.0, m)
    phase = rng.uniform(0, 1, m)
    tone = rng.uniform(*MITO_MATRIX, m)
    return [
        (p0[i], p1[i], r[i], cu[j], wob[j], period[j], phase[j], tone[j], cell.a)
        for j, i in enumerate(sel)
    ]


def paint_mitochondrion(cv: Canvas, spec: PhantomSpec, m: int) -> None:
    """Mitochondrion m: truth and id, matrix with cristae, the outer membrane."""
    region, zz, yy, xx, _ = cv.block(spec.mito_box[m])
    p0, p1, r = spec.mito_p0[m], spec.mito_p1[m], spec.mito_radius[m]
    ax = p1 - p0
    qz, qy, qx = zz - p0[0], yy - p0[1], xx - p0[2]
    tt = np.clip(((qz * ax[0] + qy * ax[1]) + qx * ax[2]) / float(ax @ ax), 0.0, 1.0)
    dz, dy, dx = qz - tt * ax[0], qy - tt * ax[1], qx - tt * ax[2]
    rr = np.sqrt((dz * dz + dy * dy) + dx * dx)
    sd = rr - r  # signed distance to the capsule surface
    mnz = dz / np.where(rr > 0, rr, 1.0)
    inside = sd <= 0
    cv.sem[region][inside] = MITOCHONDRIA
    cv.mito_ids[region][inside] = m + 1
    # cristae: bright lamellae across the long axis, gently undulating
    cu, wb = spec.mito_cristae[m], spec.mito_wobble[m]
    wv = ((qz * wb[0] + qy * wb[1]) + qx * wb[2]) * (1.0 / 260.0)
    tri = 4.0 * np.abs(wv - np.floor(wv) - 0.5) - 1.0
    ph = ((qz * cu[0] + qy * cu[1]) + qx * cu[2]) * (1.0 / spec.mito_period[m])
    ph = ph + spec.mito_phase[m] + 0.2 * tri * (1.5 - 0.5 * tri * tri)
    g = ph - np.floor(ph + 0.5)
    stripes = np.maximum(1.0 - g * g * (1.0 / 0.05), 0.0) ** 2
    val = spec.mito_tone[m] + CRISTAE * stripes * np.clip((-sd - 18.0) / 15.0, 0.0, 1.0)
    edge = np.sqrt(9.0 + (mnz * cv.sigma_z) ** 2)
    sub = cv.img[region]
    sub += smooth_step(-sd / edge) * (val - sub)
    cv.grain_amp[region][inside] = GRAIN[2]
    cv.cyto[region][inside] = False
    cv.dark[region] += MITO_DARK * sheet_profile(sd + 7.0, mnz, 6.0, cv.sigma_z)
