"""Combine rules and the tile grid."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emstudio.core.ml.combine import combine
from emstudio.core.ml.geometry import from_plane_major
from emstudio.core.ml.scratch import TRANSPOSE_TILE, z_slab_copy
from emstudio.core.ml.tiling import TileGrid, ramp, tiles_1d


def maps(*values: int) -> list[np.ndarray]:
    return [np.full((2, 2), v, np.uint8) for v in values]


def test_mean_max_vote() -> None:
    assert combine(maps(10, 20, 255), "mean")[0, 0] == 95
    assert combine(maps(10, 20, 255), "max")[0, 0] == 255
    # vote: the majority's value (median of three); >= 128 iff 2 of 3 say >= 0.5
    assert combine(maps(200, 10, 140), "vote")[0, 0] == 140
    assert combine(maps(200, 10, 100), "vote")[0, 0] == 100
    assert combine(maps(200, 100), "vote")[0, 0] == 100  # two axes: both must agree
    assert combine(maps(77), "max")[0, 0] == 77
    with pytest.raises(ValueError):
        combine(maps(1, 2), "median")


def test_tiles_cover_the_plane_evenly_and_the_window_never_vanishes() -> None:
    assert tiles_1d(100, 32, 8, 4) == (32, [0, 23, 45, 68])
    assert tiles_1d(512, 256, 32, 16) == (192, [0, 160, 320])  # not three tiles of 256
    assert tiles_1d(20, 32, 8, 4) == (20, [0])
    for size in range(65, 400, 7):  # several tiles: flush with both ends, overlapping enough
        length, starts = tiles_1d(size, 64, 16, 8)
        assert starts[0] == 0 and starts[-1] + length == size and length <= 64
        assert all(b - a <= length - 16 for a, b in itertools.pairwise(starts))
    w = ramp(32, 8)
    assert w.min() > 0 and w.max() == 1 and np.allclose(w, w[::-1])
    grid = TileGrid.for_plane((70, 20), 32, 8, multiple=4)
    assert grid.tile == (32, 20) and grid.padded == (70, 20)
    assert grid.count == 3 * 1
    assert grid.weight_sum().min() > 0
    small = TileGrid.for_plane((10, 6), 32, 8, multiple=4)
    assert small.tile == (12, 8) and small.padded == (12, 8)  # padded to the model's multiple


@pytest.mark.parametrize("axis", ["xy", "xz", "yz"])
def test_z_slab_copy_equals_a_plain_transposition(axis) -> None:
    size = 2 * TRANSPOSE_TILE + 5  # whole tiles and a partial one
    part = np.random.default_rng(0).integers(0, 256, (size, 3, size + 7), dtype=np.uint8)
    copy = z_slab_copy(part, axis)
    assert copy.flags.c_contiguous
    assert np.array_equal(copy, from_plane_major(part, axis))
