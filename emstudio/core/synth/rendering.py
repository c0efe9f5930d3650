"""Rendering a phantom spec, in work units of planes x rows, bit-identical between slabs."""

from __future__ import annotations

import numpy as np

from emstudio.core.synth.canvas import Canvas
from emstudio.core.synth.membranes import cell_field
from emstudio.core.synth.mitochondria import paint_mitochondrion
from emstudio.core.synth.noise import form_image
from emstudio.core.synth.nuclei import paint_nucleus
from emstudio.core.synth.params import GRAIN, ROWS, TILE, Z_BLUR
from emstudio.core.synth.spec import PhantomSlab, PhantomSpec
from emstudio.core.synth.texture import WaveTables
from emstudio.core.synth.vesicles import paint_vesicle

# Bit-exactness between slabs: voxel values are computed with exactly rounded arithmetic only
# (+ - * / sqrt, min/argmin, floor, comparisons), so they do not depend on how planes and rows are
# grouped into work units. The only transcendental functions are evaluated on 1D tables fixed by
# the spec (np.cos over the full Y or X axis) or on scalars (math.cos per plane). The in-plane
# Gaussian filters run line by line with a halo, and the random numbers come from generators
# seeded by (seed, plane, fixed row block).

_HALO = 8  # rows, >= the radius of every in-plane filter
_UNIT_VOXELS = 1 << 19  # work unit size (planes x rows x X)


def _overlap(box: np.ndarray, k0: int, k1: int, r0: int, r1: int) -> np.ndarray:
    """Objects whose render box meets planes k0..k1-1 and rows r0..r1-1."""
    return np.flatnonzero(
        (box[:, 0] < k1)
        & (box[:, 1] >= k0)
        & (box[:, 2] < r1)
        & (box[:, 3] > r0)
        & (box[:, 4] < box[:, 5])
    )


def _render_unit(
    spec: PhantomSpec,
    tab: WaveTables,
    k0: int,
    k1: int,
    y0: int,
    y1: int,
    out: dict[str, np.ndarray],
    zoff: int,
) -> None:
    """Render planes k0..k1-1, rows y0..y1-1 into out (slab arrays, plane index k - zoff)."""
    vs = np.asarray(spec.voxel_size_nm)
    _, ny_, nx_ = spec.shape
    sigma_z = Z_BLUR * vs[0]
    r0, r1 = max(0, y0 - _HALO), min(ny_, y1 + _HALO)  # rows computed (with the filter halo)
    nrow = r1 - r0
    planes = np.arange(k0, k1)
    n = len(planes)
    zc = planes * vs[0]
    ty0, ty1 = r0 // TILE, -(-r1 // TILE)
    owner, mem, dark = cell_field(spec, tab, planes, ty0, ty1)
    crop = (slice(None), slice(r0 - ty0 * TILE, r1 - ty0 * TILE), slice(0, nx_))
    owner, mem, dark = owner[crop], mem[crop], dark[crop]

    img = spec.cell_tone.astype(np.float32)[owner]
    img += tab.shading(zc, slice(r0, r1), slice(0, nx_))
    size = (n, nrow, nx_)
    cv = Canvas(
        tab,
        vs,
        sigma_z,
        k0,
        k1,
        r0,
        r1,
        sem=mem.astype(np.uint8),  # MEMBRANE == 1
        mito_ids=np.zeros(size, np.uint32),
        nuc_ids=np.zeros(size, np.uint32),
        img=img,
        dark=dark,
        grain_amp=np.full(size, GRAIN[0], np.float32),
        cyto=np.ones(size, bool),  # where ribosome-like dots may appear
    )
    for m in _overlap(spec.nuc_box, k0, k1, r0, r1):
        paint_nucleus(cv, spec, m)
    for m in _overlap(spec.mito_box, k0, k1, r0, r1):
        paint_mitochondrion(cv, spec, m)
    for m in _overlap(spec.ves_box, k0, k1, r0, r1):
        paint_vesicle(cv, spec, m)
    img *= 1.0 - np.minimum(dark, np.float32(0.85))
    img = form_image(img, cv.grain_amp, cv.cyto, spec.seed, planes, r0, r1)

    keep = (slice(None), slice(y0 - r0, y1 - r0))
    dst = (slice(k0 - zoff, k1 - zoff), slice(y0, y1))
    out["image"][dst] = np.clip(np.rint(img[keep] * 255.0), 0, 255).astype(np.uint8)
    out["semantic"][dst] = cv.sem[keep]
    out["mito_instances"][dst] = cv.mito_ids[keep]
    out["nuclei"][dst] = cv.nuc_ids[keep]
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
    tab = WaveTables(spec)
    if ny_ * nx_ <= _UNIT_VOXELS:
        per_k, rows = max(1, _UNIT_VOXELS // (ny_ * nx_)), ny_
    else:
        per_k, rows = 1, max(ROWS, _UNIT_VOXELS // nx_ // ROWS * ROWS)
    units = [
        (k, min(k + per_k, z1), y, min(y + rows, ny_))
        for k in range(z0, z1, per_k)
        for y in range(0, ny_, rows)
    ]

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
