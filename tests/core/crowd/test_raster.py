"""Joining strokes into closed outlines and filling them."""

from __future__ import annotations

import numpy as np
from skimage.draw import polygon

from emstudio.core.crowd.raster import bounding_box, fill_polygon, join_strokes, rasterize

PLANE = (100, 120)
FULL = (0, 100, 0, 120)


def ring(cy: float, cx: float, r: float, start: float = 0.0, stop: float = 2 * np.pi, n=120):
    t = np.linspace(start, stop, n)
    return np.column_stack([cy + r * np.sin(t), cx + r * np.cos(t)])


def disc(cy: float, cx: float, r: float) -> np.ndarray:
    rr, cc = np.mgrid[: PLANE[0], : PLANE[1]]
    return (rr - cy) ** 2 + (cc - cx) ** 2 < r**2


def filled(strokes) -> np.ndarray:
    return rasterize(join_strokes(strokes), FULL)


def mismatch(a: np.ndarray, b: np.ndarray) -> float:
    return (a ^ b).sum() / b.sum()


def test_closed_trace_fills_the_shape() -> None:
    assert mismatch(filled([ring(50, 60, 20)]), disc(50, 60, 20)) < 0.05


def test_open_trace_is_closed() -> None:
    almost = ring(50, 60, 20, 0, 1.8 * np.pi)  # stops 36 degrees short
    mask = filled([almost])
    assert mask[50, 60] and mismatch(mask, disc(50, 60, 20)) < 0.15


def test_several_strokes_in_any_order_and_direction() -> None:
    pieces = [ring(50, 60, 20, a, b, 40) for a, b in ((0, 2.1), (2.2, 4.2), (4.3, 6.2))]
    shuffled = [pieces[2], pieces[0][::-1], pieces[1]]
    loops = join_strokes(shuffled)
    assert len(loops) == 1 and len(loops[0]) == 120
    assert mismatch(rasterize(loops, FULL), disc(50, 60, 20)) < 0.05


def test_separate_objects_stay_separate() -> None:
    left, right = ring(30, 30, 12), ring(60, 90, 15, 0.0, 1.9 * np.pi)  # right one open
    parts = ring(30, 30, 12, 0, np.pi, 40), ring(30, 30, 12, np.pi + 0.1, 2 * np.pi - 0.1, 40)
    for strokes in ([left, right], [right, *parts]):
        loops = join_strokes(strokes)
        assert len(loops) == 2
        mask = rasterize(loops, FULL)
        assert mismatch(mask, disc(30, 30, 12) | disc(60, 90, 15)) < 0.1


def test_tiny_strokes_and_overlaps_do_no_harm() -> None:
    strokes = [ring(50, 60, 20), np.array([[10.0, 10.0], [10.5, 10.2]]), ring(50, 60, 20)]
    assert mismatch(filled(strokes), disc(50, 60, 20)) < 0.05
    assert not rasterize([np.array([[1.0, 1.0], [2.0, 2.0]])], FULL).any()


def test_fill_matches_skimage_away_from_pixel_centres() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(3, 300))
        radius = rng.uniform(3, 60)
        loop = rng.uniform(-10, 110, (n, 2)) if n % 4 == 0 else ring(50, 60, radius, n=n)
        loop = loop + 0.013  # no vertex or edge through a pixel centre
        expected = np.zeros(PLANE, bool)
        expected[polygon(loop[:, 0], loop[:, 1], PLANE)] = True
        assert np.array_equal(fill_polygon(loop, PLANE), expected)


def test_boxes_are_clipped_and_crops_line_up() -> None:
    loops = [ring(5, 60, 20)]
    box = bounding_box(loops, PLANE, margin=2)
    assert box == (0, 28, 38, 83)
    crop = rasterize(loops, box)
    assert np.array_equal(crop, rasterize(loops, FULL)[box[0] : box[1], box[2] : box[3]])
