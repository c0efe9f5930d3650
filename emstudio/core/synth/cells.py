"""Cells: seeds of a power (Laguerre) tessellation and the power planes bounding one cell."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from emstudio.core.synth.geometry import dot3
from emstudio.core.synth.params import BIG_DENSITY, GAMMA, PAD, R_BIG, R_SMALL


def owners_possible(pos: np.ndarray, w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
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
    """Random sequential addition of seeds with exclusion |a-b| >= GAMMA (R_a + R_b): each
    candidate, in order, is kept if it clears every seed kept before it. Batched with KD-trees."""
    cand = rng.uniform(lo, hi, size=(attempts, 3))
    radii = rng.uniform(*radius_range, size=attempts)
    batch = 2048
    for b0 in range(0, attempts, batch):
        c, r = cand[b0 : b0 + batch], radii[b0 : b0 + batch]
        ok = np.ones(len(c), bool)
        if len(pos):
            tree = cKDTree(pos)
            kk = min(16, len(pos))
            reach = GAMMA * (radius_range[1] + rad.max())
            d, j = tree.query(c, k=kk, distance_upper_bound=reach)
            d, j = d.reshape(len(c), kk), j.reshape(len(c), kk)
            found = j < len(pos)
            lim = GAMMA * (r[:, None] + rad[np.minimum(j, len(pos) - 1)])
            ok = ~np.any(found & (d < lim), axis=1)
            if kk == 16:  # a candidate with 16 neighbours in reach may have more: check them all
                for i in np.flatnonzero(found[:, -1] & ok):
                    near = tree.query_ball_point(c[i], reach)
                    dd = np.linalg.norm(pos[near] - c[i], axis=1)
                    ok[i] = bool(np.all(dd >= GAMMA * (r[i] + rad[near])))
        pairs = cKDTree(c).query_pairs(2 * GAMMA * radius_range[1], output_type="ndarray")
        if len(pairs):
            d = np.linalg.norm(c[pairs[:, 0]] - c[pairs[:, 1]], axis=1)
            pairs = pairs[
                (d < GAMMA * (r[pairs[:, 0]] + r[pairs[:, 1]])) & ok[pairs[:, 0]] & ok[pairs[:, 1]]
            ]
            pairs = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]  # by later candidate
            for i, j in pairs:
                if ok[i] and ok[j]:  # i < j: i was kept first, so j is rejected
                    ok[j] = False
        pos = np.concatenate([pos, c[ok]])
        rad = np.concatenate([rad, r[ok]])
    return pos, rad


class PowerCell:
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
        near = near[owners_possible(pos[near], w[near], lo, hi)]
        near = near[near != a]
        diff = pos[near] - pos[a]
        dist = np.linalg.norm(diff, axis=1)
        self.n = diff / dist[:, None]
        self.h = dot3(self.n, pos[a]) + (dist * dist + w[a] - w[near]) / (2 * dist)


def cell_seeds(
    rng: np.random.Generator, ext: np.ndarray, vol_um3: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Seed positions and nominal radii: the nucleated (big) cells inside the volume [0, ext]
    first, then small cells everywhere (PAD around it); and the number of big ones."""
    n_big = max(1, int(rng.poisson(BIG_DENSITY * vol_um3)))
    margin = np.minimum(0.3 * ext, 450.0)
    pos, rad = _rsa(rng, margin, ext - margin, R_BIG, 60 * n_big, np.zeros((0, 3)), np.zeros(0))
    pos, rad = pos[:n_big], rad[:n_big]
    n_big = len(pos)
    lo, hi = -PAD * np.ones(3), ext + PAD
    v_excl = 4 / 3 * np.pi * (GAMMA * np.mean(R_SMALL)) ** 3
    attempts = int(10 * np.prod(hi - lo) / v_excl)
    pos, rad = _rsa(rng, lo, hi, R_SMALL, attempts, pos, rad)
    return pos, rad, n_big
