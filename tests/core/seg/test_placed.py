"""Flooded objects stored by workers and put in place when a box is read."""

from __future__ import annotations

import numpy as np

from emstudio.core.seg.placed import Placement, store_objects


def _placement(tmp_path) -> Placement:
    """Two components: the second's box lies in the first's; the first took all of it but
    the voxels (z 2.., x 3..) where only the second has objects."""
    first = np.zeros((4, 6, 6), np.int32)
    first[:, :, :3] = 1
    first[:2, :, 3:] = 2
    second = np.full((2, 2, 2), 300, np.int32)
    spans = store_objects(tmp_path / "0.bin", [first, second])
    assert [s[2] for s in spans] == [1, 2]  # the narrowest type: uint8, uint16
    lo = np.array([[0, 0, 0], [1, 2, 2]])
    hi = np.array([[4, 6, 6], [3, 4, 4]])
    start, stop, size = np.array(spans).T
    return Placement(tmp_path, lo, hi, np.array([0, 10]), np.zeros(2, np.int64), start, stop, size)


def test_earlier_components_keep_their_voxels(tmp_path):
    placed = _placement(tmp_path)
    out = np.zeros((4, 6, 8), np.uint32)
    placed.paint(out, (slice(0, 4), slice(0, 6), slice(0, 8)))
    assert np.array_equal(out[:, :, :3], np.ones((4, 6, 3)))
    assert np.array_equal(out[:2, :, 3:6], np.full((2, 6, 3), 2))
    assert np.array_equal(out[2, 2:4, 3], [310, 310])  # the second's own, offset by 10
    assert np.count_nonzero(out == 310) == 2
    assert not out[:, :, 6:].any()


def test_boxes_read_as_the_whole(tmp_path):
    placed = _placement(tmp_path)
    whole = np.zeros((4, 6, 6), np.uint32)
    placed.paint(whole, (slice(0, 4), slice(0, 6), slice(0, 6)))
    box = (slice(2, 4), slice(3, 6), slice(1, 5))
    part = placed.within(box)
    assert len(part) == 2 and len(placed.within((slice(3, 4), slice(5, 6), slice(5, 6)))) == 1
    got = np.zeros((2, 3, 4), np.uint32)
    part.paint(got, box)
    assert np.array_equal(got, whole[box])


def test_painting_final_ids_equals_looking_up_the_provisional_ones(tmp_path):
    placed = _placement(tmp_path)
    box = (slice(0, 4), slice(0, 6), slice(0, 8))
    provisional = np.zeros((4, 6, 8), np.uint32)
    placed.paint(provisional, box)
    lut = np.zeros(311, np.uint32)
    lut[2], lut[310] = 5, 7  # object 1 dropped (too small): its voxels stay its, as 0
    final = np.zeros_like(provisional)
    placed.paint(final, box, lut)
    assert np.array_equal(final, lut[provisional])
    assert not final[2:4, 2:4, 2].any()  # dropped object 1's, inside the second's box
    assert np.count_nonzero(final == 7) == 2
