"""Combine rules and the tile grid."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from emstudio.core.ml.combine import combine
from emstudio.core.ml.tiling import TileGrid, ramp, tiles_1d


def maps(*values: int) -> list[torch.Tensor]:
    return [torch.full((2, 2), v, dtype=torch.uint8) for v in values]


def test_mean_max_vote() -> None:
    assert combine(maps(10, 20, 255), "mean")[0, 0] == 95
    assert combine(maps(10, 20, 255), "max")[0, 0] == 255
    # vote: the majority's value (median of three); >= 128 iff 2 of 3 say >= 0.5
    assert combine(maps(200, 10, 140), "vote")[0, 0] == 140
    assert combine(maps(200, 10, 100), "vote")[0, 0] == 100
    assert combine(maps(200, 100), "vote")[0, 0] == 100  # two axes: both must agree
    assert combine(maps(77), "max")[0, 0] == 77
    assert combine(maps(0, 1), "mean")[0, 0] == 1  # half rounds up
    assert combine(maps(255, 255, 254), "mean").dtype == torch.uint8
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


def test_combine_matches_numpy_on_random_maps() -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (3, 5, 7), dtype=np.uint8) for _ in range(3)]
    tensors = [torch.from_numpy(a) for a in arrays]
    mean = (sum(a.astype(np.uint16) for a in arrays) + 1) // 3
    assert np.array_equal(combine(tensors, "mean").numpy(), mean)
    assert np.array_equal(combine(tensors, "max").numpy(), np.max(arrays, axis=0))
    assert np.array_equal(combine(tensors, "vote").numpy(), np.median(arrays, axis=0))
    assert np.array_equal(combine(tensors[:2], "vote").numpy(), np.min(arrays[:2], axis=0))
