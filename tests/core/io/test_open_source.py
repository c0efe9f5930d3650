"""open_source: format detection from paths, and the errors a user sees for bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import imageio.v3 as iio
import mrcfile
import numpy as np
import pytest
import tifffile
import zarr

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import VolumeSource
from emstudio.core.io.hdf5 import Hdf5Source
from emstudio.core.io.mrc import MrcSource
from emstudio.core.io.open_source import open_source
from emstudio.core.io.slice_folder import SliceStackSource
from emstudio.core.io.tiff import TiffSource
from emstudio.core.io.zarr_source import ZarrSource

DATA = (np.arange(3 * 6 * 7) % 200).astype(np.uint8).reshape(3, 6, 7)


def check(source: VolumeSource, kind: type) -> None:
    with source:  # type: ignore[attr-defined]
        assert isinstance(source, kind)
        assert isinstance(source, VolumeSource)
        assert source.info.shape == (3, 6, 7)
        np.testing.assert_array_equal(source.read_slab(0, 3), DATA)


def test_tiff(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "v.tiff", DATA, photometric="minisblack")
    check(open_source([tmp_path / "v.tiff"]), TiffSource)
    check(open_source(str(tmp_path / "v.tiff")), TiffSource)


@pytest.mark.parametrize("suffix", [".mrc", ".rec", ".map", ".st", ".ali"])
def test_mrc_suffixes(tmp_path: Path, suffix: str) -> None:
    with mrcfile.new(tmp_path / f"v{suffix}") as mrc:
        mrc.set_data(DATA.astype(np.int16))
    source = open_source([tmp_path / f"v{suffix}"])
    check(source, MrcSource)


def test_hdf5_with_and_without_dataset(tmp_path: Path) -> None:
    path = tmp_path / "v.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=DATA)
        f.create_dataset("other", data=DATA + 1)
    check(open_source([f"{path}:/raw"]), Hdf5Source)
    with pytest.raises(InputFileError, match="several 3D datasets"):
        open_source([path])
    with pytest.raises(InputFileError, match="does not exist"):
        open_source([f"{tmp_path / 'missing.h5'}:/raw"])


def test_zarr_folder_and_its_metadata_file(tmp_path: Path) -> None:
    path = tmp_path / "store"  # detected by its zarr.json, not by its name
    zarr.create_array(path, shape=DATA.shape, dtype=DATA.dtype)[:] = DATA
    check(open_source([path]), ZarrSource)
    check(open_source([path / "zarr.json"]), ZarrSource)


def test_n5_folder_refused(tmp_path: Path) -> None:
    path = tmp_path / "container"
    path.mkdir()
    (path / "attributes.json").write_text(json.dumps({"n5": "2.5.1"}))
    with pytest.raises(InputFileError, match="N5"):
        open_source([path])


def test_folder_of_slices_and_several_files(tmp_path: Path) -> None:
    folder = tmp_path / "slices"
    folder.mkdir()
    for k in range(3):
        iio.imwrite(folder / f"s{k + 8}.png", DATA[k])  # s8, s9, s10: natural order
    check(open_source([folder]), SliceStackSource)
    files = sorted(folder.iterdir())  # lexical: s10, s8, s9
    check(open_source(files), SliceStackSource)


def test_several_paths_including_a_folder_refused(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    with pytest.raises(InputFileError, match="is a folder"):
        open_source([tmp_path / "a.png", tmp_path / "sub"])


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist") as err:
        open_source([tmp_path / "nope.tif"])
    assert err.value.path == str(tmp_path / "nope.tif")


def test_unknown_extension_lists_formats(tmp_path: Path) -> None:
    path = tmp_path / "volume.nii"
    path.write_bytes(b"x")
    with pytest.raises(InputFileError, match=r"unknown format.*TIFF.*MRC.*HDF5.*Zarr"):
        open_source([path])


@pytest.mark.parametrize("name", ["flat.png", "flat.tif", "flat.jpg"])
def test_single_2d_image_refused(tmp_path: Path, name: str) -> None:
    iio.imwrite(tmp_path / name, np.zeros((32, 48), np.uint8))
    with pytest.raises(InputFileError, match=r"single 2D image \(32 x 48, Y x X\).*3D stack"):
        open_source([tmp_path / name])


def test_real_vnc_stack(shared_data: Path) -> None:
    path = shared_data / "vnc_gerhard2013" / "raw.tif"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with open_source([path]) as source:
        assert source.info.shape == (15, 1024, 1024)
        assert source.info.dtype == np.uint8
        assert source.info.voxel_size.known
        np.testing.assert_allclose(source.info.voxel_size.zyx, (50, 4.6, 4.6), rtol=0.01)
        slab = source.read_slab(14, 15)
        assert slab.shape == (1, 1024, 1024) and slab.dtype == np.uint8
