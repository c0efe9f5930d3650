"""Per-component statistics of a labelled block (the blockwise labelling's first pass)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from emstudio.core.seg.components import component_stats
from emstudio.core.seg.instances import first_voxels, label


def test_component_stats_match_scipys_boxes_and_counts() -> None:
    rng = np.random.default_rng(4)
    labels, n = label(ndimage.binary_opening(rng.random((9, 40, 50)) > 0.6))
    assert n > 20
    count, lo, hi, first = component_stats(labels)
    boxes = ndimage.find_objects(labels)
    assert np.array_equal(lo, [[s.start for s in box] for box in boxes])
    assert np.array_equal(hi, [[s.stop for s in box] for box in boxes])
    assert np.array_equal(count, np.bincount(labels.ravel())[1:])
    flat = first_voxels(labels)[1]
    assert np.array_equal(first, np.stack(np.unravel_index(flat, labels.shape), 1))
    assert all(labels[tuple(f)] == k for k, f in enumerate(first, start=1))
    with_mask = component_stats(labels, labels > 0)  # the labelled voxels found from the mask
    for ours, theirs in zip(with_mask, (count, lo, hi, first), strict=True):
        assert np.array_equal(ours, theirs)


def test_component_stats_of_an_empty_block() -> None:
    count, lo, hi, first = component_stats(np.zeros((2, 3, 4), np.uint32))
    assert count.shape == (0,) and lo.shape == hi.shape == first.shape == (0, 3)
