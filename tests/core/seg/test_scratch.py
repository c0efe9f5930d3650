"""The scratch label array reads back what was written, box by box, like a numpy array."""

from __future__ import annotations

import numpy as np

from emstudio.core.seg.scratch import ScratchArray


def test_boxes_round_trip_and_empty_chunks_take_no_file(tmp_path):
    shape = (20, 70, 90)
    array = ScratchArray(tmp_path / "s", shape, (8, 32, 32), np.uint32)
    expected = np.zeros(shape, np.uint32)
    rng = np.random.default_rng(1)
    for _ in range(40):
        lo = rng.integers(0, shape)
        hi = np.minimum(lo + rng.integers(1, (10, 40, 40)), shape)
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        values = rng.integers(0, 5, hi - lo).astype(np.uint32)
        array[box] = values
        expected[box] = values
        assert np.array_equal(array[box], expected[box])
    assert np.array_equal(array[:], expected)
    assert np.array_equal(array[3:9], expected[3:9])
    assert array[4, 5, 6] == expected[4, 5, 6]
    array[:] = np.zeros(shape, np.uint32)
    assert not any((tmp_path / "s").iterdir())  # all-zero chunks are not stored


def test_ensure_holds_widens_once_an_id_outgrows_the_type(tmp_path):
    shape = (10, 40, 50)
    array = ScratchArray(tmp_path / "s", shape, (4, 16, 16), np.uint32)
    rng = np.random.default_rng(0)
    expected = rng.integers(0, 2**32, shape, dtype=np.uint64)  # planes :5 fit a uint32
    expected[5:] += 2**32  # the rest do not
    expected[:, :3] = 0  # some chunks stay absent
    array[:5] = expected[:5].astype(np.uint32)
    array.ensure_holds(2**32 - 1)
    assert array.dtype == np.uint32  # still fits: nothing rewritten
    array.ensure_holds(int(expected.max()))
    assert array.dtype == np.uint64
    assert np.array_equal(array[:5], expected[:5])  # the stored chunks kept their values
    array[5:] = expected[5:]
    assert np.array_equal(array[:], expected)
    assert np.array_equal(ScratchArray(tmp_path / "s", shape, (4, 16, 16), np.uint64)[:], expected)
