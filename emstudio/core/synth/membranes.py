"""Cells in the image: the owning seed, the membrane truth band and its darkness per voxel."""

from __future__ import annotations

import numpy as np

from emstudio.core.synth.cells import owners_possible
from emstudio.core.synth.params import MEM_DARK, MEM_HALF, MEM_SIGMA, REACH, TILE, WARP, Z_BLUR
from emstudio.core.synth.profiles import bump, sampling_term
from emstudio.core.synth.spec import PhantomSpec
from emstudio.core.synth.texture import WaveTables

_BATCH = 1 << 19  # cell-field elements per batch (tiles x candidates x TILE^2)


def _axis_pow(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest squared distance along one axis from seeds p (S,) to intervals
    [lo, hi] (m,): arrays (m, S)."""
    dlo = lo[:, None] - p[None]
    dhi = p[None] - hi[:, None]
    dmin = np.maximum(np.maximum(dlo, dhi), 0.0)
    dmax = np.maximum(np.abs(dlo), np.abs(dhi))
    return dmin * dmin, dmax * dmax


def _tile_candidates(
    spec: PhantomSpec, pre: np.ndarray, lo: np.ndarray, hi: np.ndarray, nty: int, ntx: int
) -> np.ndarray:
    """The seeds (ascending) that may own a point of each tile box of a plane: (t, L) indices
    padded with -1, t = nty * ntx boxes lo/hi (t, 3) in row-major tile order. A seed s is kept
    unless, for some seed t, pow_s > pow_t over the whole box. pre: ascending seed indices that
    include every possible owner of the union of the boxes."""
    pos, w = spec.cell_pos, spec.cell_weight
    sub = pre[owners_possible(pos[pre], w[pre], lo.min(0), hi.max(0))]
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
    band = MEM_HALF + sampling_term(nz, ny, nx, vs)
    s2 = MEM_SIGMA**2 + (nz * (Z_BLUR * vs[0])) ** 2
    amp = MEM_DARK * np.sqrt(MEM_SIGMA**2 / s2)
    return tuple(a.astype(np.float32) for a in (0.5 / dab, band, s2, amp))


def cell_field(spec: PhantomSpec, tab: WaveTables, planes: np.ndarray, ty0: int, ty1: int):
    """The owning seed, the membrane truth mask and the membrane darkness for planes x tile rows
    ty0..ty1 (all columns), as arrays (n, rows, cols) covering whole tiles (the caller crops).

    The cells are built on warped coordinates (x' = x + fz(z) + fy(y), ...; at most WARP nm
    per axis), which makes their faces gently wavy. The distance to the cell boundary is exact
    wherever it is below REACH, which covers the truth band and the (compact) membrane profile,
    so both are exact everywhere.
    """
    vs = np.asarray(spec.voxel_size_nm)
    nx_ = spec.shape[2]
    t, e = TILE, REACH + WARP  # boxes grow by the warp too
    ntx = -(-nx_ // t)
    nty = ty1 - ty0
    n = len(planes)
    owner = np.empty((n, nty, ntx, t, t), np.int32)  # tile layout, transposed at the end
    mem = np.zeros((n, nty, ntx, t, t), bool)
    dark = np.zeros((n, nty, ntx, t, t), np.float32)
    ty_g, tx_g = np.meshgrid(np.arange(ty0, ty1), np.arange(ntx), indexing="ij")
    ty_g, tx_g = ty_g.ravel(), tx_g.ravel()
    lo = np.stack([np.zeros(ty_g.size), ty_g * t * vs[1], tx_g * t * vs[2]], 1) - e
    hi = (
        np.stack([np.zeros(ty_g.size), (ty_g * t + t - 1) * vs[1], (tx_g * t + t - 1) * vs[2]], 1)
        + e
    )
    lo[:, 0], hi[:, 0] = planes[0] * vs[0] - e, planes[-1] * vs[0] + e
    pre = owners_possible(spec.cell_pos, spec.cell_weight, lo.min(0), hi.max(0))
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
            tl, cd = tiles[b0 : b0 + step], cand[b0 : b0 + step]
            m = len(tl)
            rows = (tl[:, 1] + ty0)[:, None] * t + off  # (m, t)
            cols = tl[:, 2][:, None] * t + off
            # coordinates relative to the tile corner (float32 is then ample: |q|, |p| < 3 um)
            corner = np.stack([planes[tl[:, 0]] * vs[0], rows[:, 0] * vs[1], cols[:, 0] * vs[2]], 1)
            p = spec.cell_pos[cd]  # (m, c, 3)
            pl = (p - corner[:, None, :]).astype(np.float32)
            zw = (tab.hy[rows][:, :, None] + tab.hx[cols][:, None, :]).astype(np.float32)
            yw = (
                (off * vs[1] + warp_g[tl[:, 0]][:, None])[:, :, None] + tab.gx[cols][:, None, :]
            ).astype(np.float32)
            xw = (
                (off * vs[2] + warp_f[tl[:, 0]][:, None])[:, None, :] + tab.fy[rows][:, :, None]
            ).astype(np.float32)  # (m, t, t)
            # power |q - p_s|^2 - w_s minus the common |q|^2: linear in the warped point q
            k = ((pl[..., 0] ** 2 + pl[..., 1] ** 2) + pl[..., 2] ** 2) - spec.cell_weight[
                cd
            ].astype(np.float32)
            pw = (
                (k[:, :, None, None] - zw[:, None] * (2 * pl[..., 0, None, None]))
                - yw[:, None] * (2 * pl[..., 1, None, None])
            ) - xw[:, None] * (2 * pl[..., 2, None, None])  # (m, c, t, t)
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
            dark[i0, i1, i2] = amp_p * bump(d * d / s2_p)
    shp = (n, nty * t, ntx * t)
    tr = (0, 1, 3, 2, 4)
    return (
        owner.transpose(tr).reshape(shp),
        mem.transpose(tr).reshape(shp),
        dark.transpose(tr).reshape(shp),
    )
