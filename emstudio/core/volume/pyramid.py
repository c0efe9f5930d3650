"""Multiscale pyramid planning and block downsampling (pure functions over numpy blocks)."""

from __future__ import annotations

import numpy as np

MIN_LEVEL_SIZE = 256  # stop when the in-plane size falls to this


def plan_factors(
    shape: tuple[int, int, int], voxel_size: tuple[float, float, float]
) -> list[tuple[int, int, int]]:
    """Per-level downsampling factors (z, y, x) relative to the previous level.

    y and x halve each level; z halves only once the in-plane voxel size has caught up with it
    (an axis is halved when it is not already coarser than the finest axis), so anisotropic
    stacks become more isotropic at coarse levels, as neuroglancer and webKnossos expect.
    """
    factors: list[tuple[int, int, int]] = []
    size = list(shape)
    voxel = list(voxel_size)
    while max(size[1], size[2]) > MIN_LEVEL_SIZE:
        finest = min(voxel)
        step = tuple(2 if (voxel[a] < 2 * finest and size[a] > 1) else 1 for a in range(3))
        if step[1] == 1 and step[2] == 1:
            step = (step[0], 2, 2)
        factors.append(step)  # type: ignore[arg-type]
        size = [-(-size[a] // step[a]) for a in range(3)]
        voxel = [voxel[a] * step[a] for a in range(3)]
    return factors


def downsample(block: np.ndarray, factor: tuple[int, int, int], labels: bool) -> np.ndarray:
    """Downsample a (z, y, x) block by integer factors.

    Images: mean of each factor-sized cell (edges padded by repetition). Labels: the value at
    the cell's first voxel (never invents a class or id that is not there).
    """
    fz, fy, fx = factor
    if labels:
        return np.ascontiguousarray(block[::fz, ::fy, ::fx])
    pad = [(0, (-block.shape[a]) % f) for a, f in enumerate(factor)]
    if any(p[1] for p in pad):
        block = np.pad(block, pad, mode="edge")
    total = np.zeros(
        (block.shape[0] // fz, block.shape[1] // fy, block.shape[2] // fx), dtype=np.uint32
    )
    for dz in range(fz):
        for dy in range(fy):
            for dx in range(fx):
                total += block[dz::fz, dy::fy, dx::fx]
    count = fz * fy * fx
    return ((total + count // 2) // count).astype(block.dtype)
