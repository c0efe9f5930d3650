"""MrcSource: modes, voxel size in ångström, 2D, truncated and non-MRC files."""

from __future__ import annotations

import os
from pathlib import Path

import mrcfile
import numpy as np
import pytest

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import VolumeSource
from emstudio.core.io.mrc import MrcSource


def write_mrc(path: Path, data: np.ndarray, voxel_size=None, stack: bool = False) -> Path:
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(data)
        if voxel_size is not None:
            mrc.voxel_size = voxel_size  # (x, y, z) in Å
        if stack:
            mrc.set_image_stack()
    return path


def test_int16_volume_with_voxel_size(tmp_path: Path) -> None:
    data = np.arange(5 * 8 * 9, dtype=np.int16).reshape(5, 8, 9) - 100
    path = write_mrc(tmp_path / "v.mrc", data, voxel_size=(40.0, 46.0, 500.0))
    with MrcSource(path) as src:
        assert isinstance(src, VolumeSource)
        assert src.info.format == "mrc"
        assert src.info.shape == (5, 8, 9)
        assert src.info.dtype == np.int16
        vs = src.info.voxel_size
        assert vs.known and vs.origin == "mrc"
        np.testing.assert_allclose(vs.zyx, (50.0, 4.6, 4.0), rtol=1e-6)
        np.testing.assert_array_equal(src.read_slab(1, 4), data[1:4])
        block = src.read_slab(0, 5)
        assert isinstance(block, np.ndarray) and not isinstance(block, np.memmap)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint16, np.float32])
def test_modes(tmp_path: Path, dtype: type) -> None:
    data = (np.arange(3 * 4 * 5) % 100).astype(dtype).reshape(3, 4, 5)
    path = write_mrc(tmp_path / "m.rec", data)
    with MrcSource(path) as src:
        assert src.info.dtype == dtype
        np.testing.assert_array_equal(src.read_slab(0, 3), data)


def test_zero_voxel_size_is_unknown(tmp_path: Path) -> None:
    path = write_mrc(tmp_path / "z.mrc", np.zeros((2, 4, 4), np.float32))
    with MrcSource(path) as src:
        assert not src.info.voxel_size.known


def test_image_stack_is_noted(tmp_path: Path) -> None:
    path = write_mrc(tmp_path / "tilt.st", np.zeros((3, 4, 4), np.int16), stack=True)
    with MrcSource(path) as src:
        assert src.info.shape == (3, 4, 4)
        assert any("image stack" in note for note in src.info.notes)


def test_2d_mrc_is_refused(tmp_path: Path) -> None:
    path = write_mrc(tmp_path / "flat.mrc", np.zeros((6, 7), np.int16))
    with pytest.raises(InputFileError, match=r"single 2D image \(6 x 7, Y x X\)"):
        MrcSource(path)


def test_truncated_mrc(tmp_path: Path) -> None:
    path = write_mrc(tmp_path / "cut.mrc", np.ones((4, 32, 32), np.float32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="is truncated") as err:
        MrcSource(path)
    assert err.value.path == str(path)


def test_not_an_mrc_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.mrc"
    path.write_bytes(b"hello" * 400)
    with pytest.raises(InputFileError, match="is not a readable MRC file"):
        MrcSource(path)


def test_truncated_while_reading(tmp_path: Path) -> None:
    data = np.arange(6 * 16 * 16, dtype=np.uint16).reshape(6, 16, 16)
    path = write_mrc(tmp_path / "shrinks.mrc", data)
    with MrcSource(path) as src:
        np.testing.assert_array_equal(src.read_slab(0, 6), data)
        os.truncate(path, 1024 + 3 * 16 * 16 * 2 + 10)
        np.testing.assert_array_equal(src.read_slab(0, 3), data[:3])
        with pytest.raises(InputFileError, match=r"is truncated: plane 4 is missing"):
            src.read_slab(2, 6)
