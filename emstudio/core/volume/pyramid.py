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

    Images: rounded mean of each factor-sized cell (edges padded by repetition). Computed one
    output plane at a time in the narrowest integer type that cannot overflow (uint16 for uint8
    data): plane-sized temporaries are reused by the allocator instead of page-faulting fresh
    memory, which makes this ~4x faster than whole-block arithmetic. Labels: the value at each
    cell's first voxel (never invents a class or id that is not there).
    """
    fz, fy, fx = factor
    if labels:
        return np.ascontiguousarray(block[::fz, ::fy, ::fx])
    pad = [(0, (-block.shape[a]) % f) for a, f in enumerate(factor)]
    if any(p[1] for p in pad):
        block = np.pad(block, pad, mode="edge")
    count = fz * fy * fx
    wide = np.uint16 if block.dtype.itemsize == 1 and count <= 256 else np.uint32
    out = np.empty((block.shape[0] // fz, block.shape[1] // fy, block.shape[2] // fx), block.dtype)
    for k in range(out.shape[0]):
        total = _sum_axis(block[k * fz], 0, fy, wide)  # rows first: the smallest temporaries
        for plane in block[k * fz + 1 : (k + 1) * fz]:
            total += _sum_axis(plane, 0, fy, wide)
        total = _sum_axis(total, 1, fx, wide)
        total += count // 2
        total //= count
        out[k] = total
    return out


def _sum_axis(array: np.ndarray, axis: int, factor: int, wide: type) -> np.ndarray:
    """Sum each run of ``factor`` neighbours along ``axis`` (result in ``wide`` integers)."""
    index = (slice(None),) * axis
    first = array[(*index, slice(0, None, factor))]
    if factor == 1:
        return first.astype(wide)
    total = np.add(first, array[(*index, slice(1, None, factor))], dtype=wide)
    for k in range(2, factor):
        total += array[(*index, slice(k, None, factor))]
    return total
