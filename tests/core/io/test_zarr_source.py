"""ZarrSource: plain arrays and groups, OME-Zarr 0.4 / 0.5 scale and units, N5, bad axes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import VolumeSource
from emstudio.core.io.zarr_source import ZarrSource

DATA = (np.arange(5 * 8 * 6) % 250).astype(np.uint8).reshape(5, 8, 6)


def spatial_axes(unit: str | None) -> list[dict]:
    axes = [{"name": n, "type": "space"} for n in "zyx"]
    if unit is not None:
        for axis in axes:
            axis["unit"] = unit
    return axes


def write_ome(path: Path, data: np.ndarray, version: str, axes: list, scale: list, **ms) -> None:
    zarr_format = 2 if version == "0.4" else 3
    group = zarr.open_group(path, mode="w", zarr_format=zarr_format)
    array = group.create_array("0", shape=data.shape, dtype=data.dtype, chunks=(1, *data.shape[1:]))
    array[:] = data
    group.create_array("1", shape=(1, 1, 1)[: data.ndim], dtype=data.dtype)  # a lower level
    multiscale = {
        "axes": axes,
        "datasets": [
            {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]},
            {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": scale}]},
        ],
        **ms,
    }
    if version == "0.4":
        group.attrs["multiscales"] = [{"version": "0.4", **multiscale}]
    else:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [multiscale]}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_plain_array(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "raw.zarr"
    array = zarr.create_array(
        path, shape=DATA.shape, dtype=DATA.dtype, chunks=(2, 4, 6), zarr_format=zarr_format
    )
    array[:] = DATA
    with ZarrSource(path) as src:
        assert isinstance(src, VolumeSource)
        assert src.info.format == "zarr"
        assert src.info.shape == (5, 8, 6)
        assert not src.info.voxel_size.known
        np.testing.assert_array_equal(src.read_slab(1, 4), DATA[1:4])


def test_plain_array_resolution_attribute(tmp_path: Path) -> None:
    path = tmp_path / "raw.zarr"
    array = zarr.create_array(path, shape=DATA.shape, dtype=DATA.dtype)
    array[:] = DATA
    array.attrs.update({"resolution": [40, 4, 4], "unit": "nm"})
    with ZarrSource(path) as src:
        assert src.info.voxel_size.zyx == (40.0, 4.0, 4.0)


def test_ome_zarr_04_micrometre_scale(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    write_ome(path, DATA, "0.4", spatial_axes("micrometer"), [0.05, 0.0046, 0.0046])
    with ZarrSource(path) as src:
        assert src.info.format == "ome-zarr"
        assert src.info.shape == (5, 8, 6)  # dataset 0, not the lower level
        vs = src.info.voxel_size
        assert vs.known and vs.origin == "ome-zarr"
        np.testing.assert_allclose(vs.zyx, (50, 4.6, 4.6), rtol=1e-6)
        np.testing.assert_array_equal(src.read_slab(0, 5), DATA)


def test_ome_zarr_05_tczyx_nanometre_with_multiscale_scale(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    axes = [{"name": "t", "type": "time"}, {"name": "c", "type": "channel"}, *spatial_axes("nm")]
    axes[2]["unit"] = "angstrom"
    write_ome(
        path,
        DATA[np.newaxis, np.newaxis],
        "0.5",
        axes,
        [1, 1, 250, 2, 2],
        coordinateTransformations=[{"type": "scale", "scale": [1, 1, 2, 2, 2]}],
    )
    with ZarrSource(path) as src:
        assert src.info.shape == (5, 8, 6)
        np.testing.assert_allclose(src.info.voxel_size.zyx, (50, 4, 4), rtol=1e-6)
        np.testing.assert_array_equal(src.read_slab(2, 5), DATA[2:5])


def test_ome_zarr_without_units_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    write_ome(path, DATA, "0.4", spatial_axes(None), [50, 4, 4])
    with ZarrSource(path) as src:
        assert not src.info.voxel_size.known
        assert any("no length units" in note for note in src.info.notes)


def test_ome_zarr_with_channels_refused(tmp_path: Path) -> None:
    path = tmp_path / "img.zarr"
    axes = [{"name": "c", "type": "channel"}, *spatial_axes("nanometer")]
    write_ome(path, np.stack([DATA, DATA]), "0.5", axes, [1, 50, 4, 4])
    with pytest.raises(InputFileError, match=r"axes \(c=2, z=5, y=8, x=6\)"):
        ZarrSource(path)


def test_written_by_ome_zarr_package(tmp_path: Path) -> None:
    writer = pytest.importorskip("ome_zarr.writer")
    path = tmp_path / "ngff.zarr"
    group = zarr.open_group(path, mode="w")
    writer.write_image(
        DATA,
        group,
        axes="zyx",
        scale={"z": 0.05, "y": 0.004, "x": 0.004},
        axes_units={a: "micrometer" for a in "zyx"},
        scale_factors=(2,),
    )
    with ZarrSource(path) as src:
        np.testing.assert_allclose(src.info.voxel_size.zyx, (50, 4, 4), rtol=1e-6)
        np.testing.assert_array_equal(src.read_slab(0, 5), DATA)


def test_plain_group_with_one_3d_array(tmp_path: Path) -> None:
    path = tmp_path / "g.zarr"
    group = zarr.open_group(path, mode="w")
    group.create_array("volumes/raw", shape=DATA.shape, dtype=DATA.dtype)[:] = DATA
    group.create_array("thumb", shape=(8, 6), dtype=DATA.dtype)
    with ZarrSource(path) as src:
        np.testing.assert_array_equal(src.read_slab(0, 5), DATA)


def test_plain_group_with_two_3d_arrays(tmp_path: Path) -> None:
    path = tmp_path / "g.zarr"
    group = zarr.open_group(path, mode="w")
    group.create_array("raw", shape=DATA.shape, dtype=DATA.dtype)
    group.create_array("labels", shape=DATA.shape, dtype=np.uint32)
    with pytest.raises(InputFileError, match=r"several 3D arrays.*labels.*raw"):
        ZarrSource(path)


def test_2d_array_is_a_2d_image(tmp_path: Path) -> None:
    path = tmp_path / "flat.zarr"
    zarr.create_array(path, shape=(8, 6), dtype=np.uint8)
    with pytest.raises(InputFileError, match=r"single 2D image \(8 x 6, Y x X\)"):
        ZarrSource(path)


def test_n5_refused_with_conversion_hint(tmp_path: Path) -> None:
    path = tmp_path / "data.n5"
    path.mkdir()
    (path / "attributes.json").write_text(json.dumps({"n5": "4.0.0"}))
    with pytest.raises(InputFileError, match=r"N5.*cannot read.*Fiji.*OME-Zarr"):
        ZarrSource(path)


def test_not_a_zarr_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.zarr"
    path.mkdir()
    with pytest.raises(InputFileError, match="is not a readable Zarr store"):
        ZarrSource(path)
