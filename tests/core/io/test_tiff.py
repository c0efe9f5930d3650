"""TiffSource: multi-page, ImageJ, OME, BigTIFF, RGB; voxel sizes; truncated and odd files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import tifffile

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import VolumeSource
from emstudio.core.io.tiff import TiffSource


def volume(shape=(6, 20, 24), dtype=np.uint16) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)


def voxel(source: TiffSource) -> tuple[float, float, float]:
    return source.info.voxel_size.zyx


def test_plain_multipage_reads_exact_slabs(tmp_path: Path) -> None:
    data = volume()
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, data)
    with TiffSource(path) as src:
        assert isinstance(src, VolumeSource)
        assert src.info.shape == (6, 20, 24)
        assert src.info.dtype == np.uint16
        assert src.info.format == "tiff"
        assert src.info.channels == 1
        assert not src.info.voxel_size.known
        np.testing.assert_array_equal(src.read_slab(0, 6), data)
        np.testing.assert_array_equal(src.read_slab(2, 5), data[2:5])
        assert src.read_slab(3, 3).shape == (0, 20, 24)
        with pytest.raises(ValueError):
            src.read_slab(4, 7)
    assert src.closed
    with pytest.raises(ValueError):
        src.read_slab(0, 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"compression": "zlib"},
        {"compression": "zlib", "tile": (16, 16)},
        {"bigtiff": True},
        {"bigtiff": True, "compression": "zlib", "tile": (16, 16)},
        {"byteorder": ">"},
    ],
    ids=["zlib", "zlib-tiled", "bigtiff", "bigtiff-tiled", "big-endian"],
)
def test_compressed_tiled_bigtiff_and_big_endian(tmp_path: Path, kwargs: dict) -> None:
    data = volume((5, 40, 48))
    path = tmp_path / "v.tif"
    tifffile.imwrite(path, data, **kwargs)
    with TiffSource(path) as src:
        assert src.info.shape == (5, 40, 48)
        assert src.info.dtype == np.dtype(np.uint16)  # native byte order
        slab = src.read_slab(1, 4)
        assert slab.dtype.isnative
        np.testing.assert_array_equal(slab, data[1:4])


def test_imagej_spacing_and_resolution_in_nm(tmp_path: Path) -> None:
    path = tmp_path / "ij.tif"
    data = volume((4, 16, 16), np.uint8)
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / 4.6, 1 / 4.6),
        metadata={"axes": "ZYX", "spacing": 50.0, "unit": "nm"},
    )
    with TiffSource(path) as src:
        vs = src.info.voxel_size
        assert vs.known and vs.origin == "imagej"
        np.testing.assert_allclose(vs.zyx, (50, 4.6, 4.6), rtol=1e-6)
        np.testing.assert_array_equal(src.read_slab(0, 4), data)


@pytest.mark.parametrize("unit", ["micron", "um", "\\u00B5m"])  # tifffile writes ASCII only
def test_imagej_micron_units(tmp_path: Path, unit: str) -> None:
    path = tmp_path / "ij_um.tif"
    tifffile.imwrite(
        path,
        volume((3, 8, 8), np.uint8),
        imagej=True,
        resolution=(1 / 0.004, 1 / 0.005),  # pixels per micron: x 4 nm, y 5 nm
        metadata={"axes": "ZYX", "spacing": 0.03, "unit": unit},
    )
    with TiffSource(path) as src:
        np.testing.assert_allclose(voxel(src), (30, 5, 4), rtol=1e-6)


def test_imagej_without_spacing_is_unknown_with_note(tmp_path: Path) -> None:
    path = tmp_path / "nospacing.tif"
    tifffile.imwrite(
        path,
        volume((3, 8, 8), np.uint8),
        imagej=True,
        resolution=(1 / 4.0, 1 / 4.0),
        metadata={"axes": "ZYX", "unit": "nm"},
    )
    with TiffSource(path) as src:
        assert not src.info.voxel_size.known
        assert any("y = 4 nm" in note and "no z" in note for note in src.info.notes)


def test_ome_tiff_physical_size_default_micrometre(tmp_path: Path) -> None:
    path = tmp_path / "v.ome.tif"
    data = volume((4, 16, 20))
    tifffile.imwrite(
        path,
        data,
        metadata={
            "axes": "ZYX",
            "PhysicalSizeX": 0.0046,
            "PhysicalSizeY": 0.0046,
            "PhysicalSizeZ": 0.05,
        },
    )
    with TiffSource(path) as src:
        assert src.info.format == "ome-tiff"
        assert src.info.voxel_size.origin == "ome-xml"
        np.testing.assert_allclose(voxel(src), (50, 4.6, 4.6), rtol=1e-6)
        np.testing.assert_array_equal(src.read_slab(0, 4), data)


def test_ome_tiff_units_in_nm_and_angstrom(tmp_path: Path) -> None:
    path = tmp_path / "u.ome.tif"
    tifffile.imwrite(
        path,
        volume((3, 8, 8)),
        metadata={
            "axes": "ZYX",
            "PhysicalSizeX": 40.0,
            "PhysicalSizeXUnit": "Å",
            "PhysicalSizeY": 5.0,
            "PhysicalSizeYUnit": "nm",
            "PhysicalSizeZ": 0.03,
            "PhysicalSizeZUnit": "µm",
        },
    )
    with TiffSource(path) as src:
        np.testing.assert_allclose(voxel(src), (30, 5, 4), rtol=1e-6)


def test_ome_tiff_pyramid_reads_level_0(tmp_path: Path) -> None:
    path = tmp_path / "pyr.ome.tif"
    data = volume((3, 32, 32))
    with tifffile.TiffWriter(path) as tif:
        tif.write(data, subifds=1, metadata={"axes": "ZYX"})
        tif.write(data[:, ::2, ::2], subfiletype=1)
    with TiffSource(path) as src:
        assert src.info.shape == (3, 32, 32)
        np.testing.assert_array_equal(src.read_slab(0, 3), data)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"planarconfig": "separate"},
        {"planarconfig": "separate", "compression": "zlib"},
        {"compression": "zlib"},
        {"imagej": True, "metadata": {"axes": "ZYXS"}},
    ],
    ids=["contig", "planar", "planar-zlib", "zlib", "imagej"],
)
def test_rgb_stack_has_three_channels(tmp_path: Path, kwargs: dict) -> None:
    rgb = volume((4, 10, 12, 3), np.uint8)
    path = tmp_path / "rgb.tif"
    if kwargs.get("planarconfig") == "separate":
        tifffile.imwrite(path, np.moveaxis(rgb, -1, 1), photometric="rgb", **kwargs)
    else:
        tifffile.imwrite(path, rgb, photometric="rgb", **kwargs)
    with TiffSource(path) as src:
        assert src.info.channels == 3
        assert src.info.shape == (4, 10, 12)
        slab = src.read_slab(1, 3)
        assert slab.shape == (2, 10, 12, 3)
        np.testing.assert_array_equal(slab, rgb[1:3])


def test_imagej_channels_refused_naming_axes(tmp_path: Path) -> None:
    path = tmp_path / "channels.tif"
    tifffile.imwrite(path, volume((5, 8, 8), np.uint8), imagej=True)  # tifffile: axes CYX
    with pytest.raises(InputFileError, match=r"5 channels.*CYX"):
        TiffSource(path)


def test_imagej_time_and_z_refused(tmp_path: Path) -> None:
    path = tmp_path / "tz.tif"
    tifffile.imwrite(path, volume((2, 3, 8, 8), np.uint8), imagej=True, metadata={"axes": "TZYX"})
    with pytest.raises(InputFileError, match=r"2 time points, 3 slices.*TZYX"):
        TiffSource(path)


def test_single_page_is_a_2d_image(tmp_path: Path) -> None:
    path = tmp_path / "one.tif"
    tifffile.imwrite(path, volume((30, 40)))
    with pytest.raises(InputFileError, match=r"single 2D image \(30 x 40, Y x X\).*3D stack"):
        TiffSource(path)


def test_not_a_tiff(tmp_path: Path) -> None:
    path = tmp_path / "fake.tif"
    path.write_bytes(b"this is not a tiff file" * 10)
    with pytest.raises(InputFileError, match="is not a readable TIFF: it is damaged, or an") as err:
        TiffSource(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"compression": "zlib"}, {"imagej": True, "metadata": {"axes": "ZYX"}}],
    ids=["plain", "zlib", "imagej"],
)
def test_truncated_file_fails_at_open(tmp_path: Path, kwargs: dict) -> None:
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, volume((10, 32, 32), np.uint8), **kwargs)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match=r"is truncated: page \d+ could not be read") as err:
        TiffSource(path)
    assert err.value.path == str(path)


@pytest.mark.parametrize("kwargs", [{}, {"compression": "zlib"}], ids=["contiguous", "zlib"])
def test_truncated_while_reading_raises_input_file_error(tmp_path: Path, kwargs: dict) -> None:
    path = tmp_path / "shrinks.tif"
    data = volume((10, 32, 32), np.uint8)
    tifffile.imwrite(path, data, **kwargs)
    with TiffSource(path) as src:
        np.testing.assert_array_equal(src.read_slab(0, 2), data[:2])
        os.truncate(path, os.path.getsize(path) // 2)  # the file is cut while it is open
        with pytest.raises(InputFileError, match=r"truncated|damaged"):
            src.read_slab(0, 10)
