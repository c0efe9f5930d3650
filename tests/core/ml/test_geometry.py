"""Views at the model's resolution: plane sizes, neighbour offsets, plane-major order, lerp."""

from __future__ import annotations

import numpy as np
import pytest
from ml_helpers import ramp_volume

from emstudio.core.ml.geometry import (
    FROM_PLANE_MAJOR,
    View,
    context_offsets,
    lerp,
    model_size,
    parse_axes,
    read_box,
    to_plane_major,
)


def test_anisotropic_planes_are_resampled_to_the_model_pixel() -> None:
    xy = View("xy", (32, 256, 200), (40.0, 10.0, 10.0), 10.0, 40.0, 5)
    xz = View("xz", (32, 256, 200), (40.0, 10.0, 10.0), 10.0, 40.0, 5)
    assert xy.model_plane == (256, 200) and xy.planes == 32
    assert xz.model_plane == ((32 - 1) * 4 + 1, 200) and xz.planes == 256
    assert xz.ratios == (4.0, 1.0)
    # neighbours are 40 nm apart along every axis: 1 plane along z, 4 along y
    assert list(xy.offsets) == [-2, -1, 0, 1, 2]
    assert list(xz.offsets) == [-8, -4, 0, 4, 8]
    assert xz.reach == (8, 8) and xz.native_span(0, 10) == (0, 18)
    assert xz.to_model(0, 4, 3).tolist() == [1.0, 1.25, 1.5]
    assert xz.to_native(0)[:3].tolist() == [0.0, 4.0, 8.0]


def test_fractional_steps_and_coarser_model_pixels() -> None:
    assert np.allclose(context_offsets(3, 50.0, 20.0), [-2.5, 0, 2.5])
    assert model_size(100, 0.5) == 50 and model_size(1, 4.0) == 1
    view = View("xy", (4, 100, 100), (30.0, 5.0, 5.0), 10.0, 30.0, 3)
    assert view.model_plane == (50, 50)


def test_plane_major_order_round_trips_and_boxes_match_slices() -> None:
    vol = ramp_volume()
    for axis, normal in (("xy", 0), ("xz", 1), ("yz", 2)):
        pm = to_plane_major(vol, axis)
        assert np.array_equal(pm.transpose(FROM_PLANE_MAJOR[axis]), vol)
        assert pm.shape[0] == vol.shape[normal]
    box = read_box(vol, "xz", (3, 5), (1, 4), (2, 6))  # y 3..4, z 1..3, x 2..5
    assert np.array_equal(box, vol[1:4, 3:5, 2:6].transpose(1, 0, 2))
    box = read_box(vol, "yz", (3, 5), (1, 4), (2, 6))  # x 3..4, z 1..3, y 2..5
    assert np.array_equal(box, vol[1:4, 2:6, 3:5].transpose(2, 0, 1))


def test_lerp_interpolates_and_clamps() -> None:
    a = np.array([[0.0, 10.0, 20.0]])
    assert lerp(a, 1, np.array([0.5, 1.75, 5.0])).tolist() == [[5.0, 17.5, 20.0]]
    assert lerp(a, 1, np.array([2, 0])).dtype == a.dtype  # whole positions: a plain take


def test_axes_are_parsed_strictly() -> None:
    assert parse_axes("XY, yz,xy") == ["xy", "yz"]
    with pytest.raises(ValueError, match="unknown axis"):
        parse_axes("xy,zz")
