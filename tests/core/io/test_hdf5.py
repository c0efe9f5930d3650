"""Hdf5Source: dataset selection, path syntax, layouts, voxel-size attributes, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import VolumeSource
from emstudio.core.io.hdf5 import Hdf5Source, split_hdf5_path

DATA = (np.arange(4 * 6 * 5) % 200).astype(np.uint8).reshape(4, 6, 5)


def test_single_nested_dataset_found_with_element_size_um(tmp_path: Path) -> None:
    path = tmp_path / "ilastik.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("volumes/raw", data=DATA, chunks=(1, 6, 5), compression="gzip")
        ds.attrs["element_size_um"] = (0.05, 0.0046, 0.0046)
        f.create_dataset("meta/counts", data=np.arange(5))  # 1D: not a candidate
    with Hdf5Source(path) as src:
        assert isinstance(src, VolumeSource)
        assert src.info.path == f"{path}:/volumes/raw"
        assert src.info.format == "hdf5"
        assert src.info.shape == (4, 6, 5)
        np.testing.assert_allclose(src.info.voxel_size.zyx, (50, 4.6, 4.6), rtol=1e-6)
        assert src.info.voxel_size.origin == "hdf5"
        np.testing.assert_array_equal(src.read_slab(1, 3), DATA[1:3])


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"resolution": (40, 4, 4), "unit": "nm"}, (40, 4, 4)),
        ({"voxel_size": (0.03, 0.005, 0.004), "unit": "um"}, (30, 5, 4)),
        ({"resolution": (30, 5, 4), "unit": b"nanometer"}, (30, 5, 4)),
        ({"pixel_size": (300, 50, 40), "units": ["Å", "Å", "Å"]}, (30, 5, 4)),
    ],
)
def test_resolution_attributes_with_units(tmp_path: Path, attrs: dict, expected: tuple) -> None:
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("raw", data=DATA)
        ds.attrs.update(attrs)
    with Hdf5Source(path) as src:
        assert src.info.voxel_size.known
        np.testing.assert_allclose(src.info.voxel_size.zyx, expected, rtol=1e-6)


def test_resolution_without_unit_assumes_nm_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "cremi.hdf"
    with h5py.File(path, "w") as f:
        f.create_dataset("volumes/raw", data=DATA)
        f["volumes"].attrs["resolution"] = (40.0, 4.0, 4.0)  # on the parent group
    with Hdf5Source(path) as src:
        assert src.info.voxel_size.zyx == (40.0, 4.0, 4.0)
        assert any("nanometres assumed" in note for note in src.info.notes)


def test_no_metadata_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=DATA)
    with Hdf5Source(path) as src:
        assert not src.info.voxel_size.known


def test_ambiguous_datasets_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=DATA)
        f.create_dataset("labels", data=DATA.astype(np.uint32))
    with pytest.raises(InputFileError, match=r"several 3D datasets.*/labels.*/raw.*two\.h5:/"):
        Hdf5Source(path)
    with Hdf5Source(path, "/labels") as src:
        assert src.info.dtype == np.uint32


def test_no_3d_dataset(tmp_path: Path) -> None:
    path = tmp_path / "flat.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("image", data=DATA[0])
    with pytest.raises(InputFileError, match=r"no 3D dataset.*/image \(6, 5\)"):
        Hdf5Source(path)


def test_named_2d_dataset_is_a_2d_image(tmp_path: Path) -> None:
    path = tmp_path / "flat.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("image", data=DATA[0])
    with pytest.raises(InputFileError, match="has shape"):
        Hdf5Source(path, "/image")


def test_missing_dataset(tmp_path: Path) -> None:
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=DATA)
    with pytest.raises(InputFileError, match=r"has no dataset '/nope'.*/raw"):
        Hdf5Source(path, "/nope")


def test_group_path_selects_inside_group(tmp_path: Path) -> None:
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a/raw", data=DATA)
        f.create_dataset("b/raw", data=DATA + 1)
    with Hdf5Source(path, "/b") as src:
        np.testing.assert_array_equal(src.read_slab(0, 4), DATA + 1)


def test_trailing_channel_axes(tmp_path: Path) -> None:
    path = tmp_path / "c.h5"
    rgb = np.stack([DATA, DATA // 2, DATA // 3], axis=-1)
    with h5py.File(path, "w") as f:
        f.create_dataset("single", data=DATA[..., np.newaxis])
        f.create_dataset("rgb", data=rgb)
        ds = f.create_dataset("tagged", data=DATA[np.newaxis, ..., np.newaxis])
        ds.attrs["axistags"] = json.dumps({"axes": [{"key": k} for k in "tzyxc"]})
    with Hdf5Source(path, "/single") as src:
        assert src.info.channels == 1
        np.testing.assert_array_equal(src.read_slab(0, 4), DATA)
    with Hdf5Source(path, "/rgb") as src:
        assert src.info.channels == 3
        np.testing.assert_array_equal(src.read_slab(1, 2), rgb[1:2])
    with Hdf5Source(path, "/tagged") as src:
        assert src.info.shape == (4, 6, 5)
        np.testing.assert_array_equal(src.read_slab(0, 4), DATA)


def test_axistags_in_other_order_refused(tmp_path: Path) -> None:
    path = tmp_path / "xyz.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("raw", data=DATA)
        ds.attrs["axistags"] = json.dumps({"axes": [{"key": k} for k in "xyz"]})
    with pytest.raises(InputFileError, match="'xyz'"):
        Hdf5Source(path, "/raw")


def test_not_an_hdf5_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.h5"
    path.write_bytes(b"not hdf5" * 100)
    with pytest.raises(InputFileError, match="is not a readable HDF5 file"):
        Hdf5Source(path)


def test_split_hdf5_path() -> None:
    assert split_hdf5_path("a/b.h5") == (Path("a/b.h5"), None)
    assert split_hdf5_path("a/b.h5:/raw/data") == (Path("a/b.h5"), "/raw/data")
    assert split_hdf5_path("b.HDF5:raw") == (Path("b.HDF5"), "raw")
    assert split_hdf5_path("b.h5:/") == (Path("b.h5"), None)
    assert split_hdf5_path(r"C:\data\b.hdf:/raw") == (Path(r"C:\data\b.hdf"), "/raw")
