"""Building a phantom spec: cells, then per cell a nucleus, mitochondria and vesicles."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from emstudio.core.synth.cells import PowerCell, cell_seeds
from emstudio.core.synth.geometry import fourier_features, rotate_into, unit_vectors
from emstudio.core.synth.mitochondria import place_mitochondria
from emstudio.core.synth.nuclei import make_nucleus
from emstudio.core.synth.params import CELL_TONE, POOL, WARP
from emstudio.core.synth.vesicles import place_vesicles


def build_arrays(
    shape: tuple[int, int, int], seed: int, voxel: tuple[float, float, float]
) -> dict[str, np.ndarray]:
    """The arrays of PhantomSpec(shape, voxel, seed) (all fields but those three)."""
    vs = np.array(voxel)
    ext = (np.array(shape) - 1) * vs  # the hull of the voxel centres is [0, ext]
    vol_um3 = float(np.prod(np.maximum(ext, vs))) / 1e9
    rng = np.random.default_rng([seed, 0xE5, 1])

    cell_pos, rad, n_big = cell_seeds(rng, ext, vol_um3)
    cell_w = rad**2
    n_cells = len(cell_pos)
    cell_tone = rng.uniform(-CELL_TONE, CELL_TONE, n_cells)
    tex_k, tex_phase = fourier_features(rng, 16, (800.0, 2500.0))
    chrom_k, chrom_phase = fourier_features(rng, 10, (250.0, 600.0))
    warp = np.stack(
        [
            2 * np.pi / rng.uniform(300.0, 900.0, (6, 2)),
            rng.uniform(0, 2 * np.pi, (6, 2)),
            rng.uniform(0.25, 0.5, (6, 2)) * WARP / 2,
        ],
        axis=-1,
    )  # sum <= WARP

    tree = cKDTree(cell_pos)
    wmax = cell_w.max()
    lifted = cKDTree(np.column_stack([cell_pos, np.sqrt(wmax - cell_w)]))

    def in_box(p: np.ndarray) -> np.ndarray:
        return np.all((p >= 0.0) & (p <= ext), axis=-1)

    # cells that may reach into the volume; a pool of random points owned by each (one query)
    r_cell = 1.6 * np.sqrt(cell_w)
    active = np.flatnonzero(
        np.all((cell_pos + r_cell[:, None] >= 0) & (cell_pos - r_cell[:, None] <= ext), axis=1)
    )
    rngs = [np.random.default_rng([seed, 0xE5, 2, a]) for a in active]
    pools = [
        cell_pos[a]
        + unit_vectors(g, POOL) * (r_cell[a] * g.uniform(0, 1, POOL) ** (1 / 3))[:, None]
        for a, g in zip(active, rngs, strict=True)
    ]
    if len(active):
        allp = np.concatenate(pools)
        own = lifted.query(np.column_stack([allp, np.zeros(len(allp))]))[1]
        own = own.reshape(len(active), POOL)
    nuclei: list[tuple] = []
    mitos: list[tuple] = []
    vesicles: list[tuple] = []
    for j, a in enumerate(active):
        crng = rngs[j]
        pool = pools[j][(own[j] == a) & in_box(pools[j])]
        if not len(pool):
            continue
        cell = PowerCell(a, cell_pos, cell_w, tree, r_cell[a] + 650.0)
        nuc = make_nucleus(crng, cell, cell_pos[a]) if a < n_big else None
        if nuc is not None:
            nuclei.append(nuc)
        # cytoplasm volume of the cell inside the box (Monte Carlo over the pool)
        free = len(pool)
        if nuc is not None:
            q = rotate_into(pool - nuc[0], nuc[2])
            free = int((((q / nuc[1]) ** 2).sum(1) > 1.0).sum())
        vol = free / POOL * 4 / 3 * np.pi * r_cell[a] ** 3 / 1e9
        queue = [pool]

        def sample(n: int, queue=queue, a=a, crng=crng) -> np.ndarray:
            """n random points of the cell inside the volume (fewer if the cell is tiny)."""
            have = sum(len(q) for q in queue)
            for _ in range(8):
                if have >= n:
                    break
                lo_ = np.maximum(cell_pos[a] - r_cell[a], 0.0)  # the sphere's box, clipped
                hi_ = np.minimum(cell_pos[a] + r_cell[a], ext)
                p = crng.uniform(lo_, hi_, (2 * POOL, 3))
                ow = lifted.query(np.column_stack([p, np.zeros(len(p))]))[1]
                queue.append(p[(ow == a) & in_box(p)])
                have += len(queue[-1])
            allp = np.concatenate(queue)
            queue[:] = [allp[n:]]
            return allp[:n]

        cell_mitos = place_mitochondria(crng, cell, nuc, vol, sample, in_box)
        mitos.extend(cell_mitos)
        vesicles.extend(place_vesicles(crng, cell, nuc, vol, sample, in_box, cell_mitos))

    shp = np.array(shape)
    nuc_center = _stack(nuclei, 0, 3)
    nuc_axes = _stack(nuclei, 1, 3)
    nuc_rot = np.array([n[2] for n in nuclei]).reshape(-1, 3, 3)
    half = np.sqrt(np.einsum("mij,mj->mi", nuc_rot**2, nuc_axes**2)) + 100.0
    m_p0, m_p1, m_r = _stack(mitos, 0, 3), _stack(mitos, 1, 3), _stack(mitos, 2)
    v_c, v_r = _stack(vesicles, 0, 3), _stack(vesicles, 1)
    return dict(
        cell_pos=cell_pos,
        cell_weight=cell_w,
        cell_tone=cell_tone,
        nuc_center=nuc_center,
        nuc_axes=nuc_axes,
        nuc_rot=nuc_rot,
        nuc_nucleolus=_stack(nuclei, 3, 4),
        nuc_cell=_stack(nuclei, 4).astype(np.int64),
        mito_p0=m_p0,
        mito_p1=m_p1,
        mito_radius=m_r,
        mito_cristae=_stack(mitos, 3, 3),
        mito_wobble=_stack(mitos, 4, 3),
        mito_period=_stack(mitos, 5),
        mito_phase=_stack(mitos, 6),
        mito_tone=_stack(mitos, 7),
        mito_cell=_stack(mitos, 8).astype(np.int64),
        ves_center=v_c,
        ves_radius=v_r,
        tex_k=tex_k,
        tex_phase=tex_phase,
        chrom_k=chrom_k,
        chrom_phase=chrom_phase,
        warp=warp,
        nuc_box=_render_boxes(nuc_center - half, nuc_center + half, vs, shp),
        mito_box=_render_boxes(
            np.minimum(m_p0, m_p1) - m_r[:, None] - 60.0,
            np.maximum(m_p0, m_p1) + m_r[:, None] + 60.0,
            vs,
            shp,
        ),
        ves_box=_render_boxes(v_c - v_r[:, None] - 40.0, v_c + v_r[:, None] + 40.0, vs, shp),
    )


def _render_boxes(
    lo_nm: np.ndarray, hi_nm: np.ndarray, vs: np.ndarray, shp: np.ndarray
) -> np.ndarray:
    """Voxel boxes (planes [zlo, zhi] inclusive, rows and columns half-open) of nm boxes."""
    b = np.zeros((len(lo_nm), 6), np.int64)
    if len(lo_nm):
        ilo = np.clip(np.ceil(lo_nm / vs), 0, shp - 1).astype(np.int64)
        ihi = np.clip(np.floor(hi_nm / vs), -1, shp - 1).astype(np.int64)
        b[:, 0], b[:, 1] = ilo[:, 0], ihi[:, 0]
        b[:, 2], b[:, 3] = ilo[:, 1], ihi[:, 1] + 1
        b[:, 4], b[:, 5] = ilo[:, 2], ihi[:, 2] + 1
    return b


def _stack(items: list[tuple], i: int, width: int | None = None) -> np.ndarray:
    """Field i of the objects' tuples as one float array (an empty one of that width if none)."""
    if not items:
        return np.zeros((0,) if width is None else (0, width))
    return np.array([it[i] for it in items], dtype=np.float64)
