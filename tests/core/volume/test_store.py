"""The multiscale store: writing, pyramid, NGFF metadata, fast slicing equals zarr reads."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from emstudio.core.io.base import VoxelSize
from emstudio.core.volume import pyramid
from emstudio.core.volume.store import Volume, VolumeWriter


def write(path, data, kind="image", voxel=(50.0, 5.0, 5.0), chunks=(8, 32, 32)):
    writer = VolumeWriter(path, data.shape, data.dtype, VoxelSize(*voxel, known=True,
                          origin="test"), kind, "v", chunks=chunks)
    for z0 in range(0, data.shape[0], writer.slab_planes):
        writer.write_slab(z0, data[z0 : z0 + writer.slab_planes])
    writer.build_pyramid()
    writer.finalize({"note": "x"})
    return Volume(path)


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    return rng.integers(0, 255, size=(19, 600, 333), dtype=np.uint8)


def test_round_trip_and_planes_match_zarr(tmp_path, data):
    vol = write(tmp_path / "v.zarr", data)
    assert vol.shape == data.shape and vol.dtype == np.uint8
    assert np.array_equal(vol.read(0, 19), data)
    for axis in range(3):
        for index in (0, 7, data.shape[axis] - 1):
            key = [slice(None)] * 3
            key[axis] = index
            assert np.array_equal(vol.plane(axis, index), data[tuple(key)]), (axis, index)
    assert vol._slicer(0) is not None  # the fast path was used for the image


def test_labels_are_compressed_and_subsampled(tmp_path):
    labels = np.zeros((10, 600, 600), np.uint32)
    labels[2:8, 100:300, 100:300] = 7
    vol = write(tmp_path / "l.zarr", labels, kind="segmentation")
    assert vol._slicer(0) is None  # compressed: read through zarr
    assert np.array_equal(vol.plane(1, 150), labels[:, 150])
    coarse = vol.read(0, vol.level_shape(1)[0], level=1)
    assert set(np.unique(coarse)) <= {0, 7}


def test_pyramid_plan_makes_anisotropic_data_isotropic():
    factors = pyramid.plan_factors((500, 8192, 8192), (50.0, 10.0, 10.0))
    voxel = np.array([50.0, 10.0, 10.0])
    for f in factors:
        voxel = voxel * f
    assert factors[0] == (1, 2, 2)
    assert voxel[1] == voxel[2] and 0.5 <= voxel[0] / voxel[1] <= 2
    assert pyramid.plan_factors((10, 200, 200), (1, 1, 1)) == []


def test_downsample_mean_rounds_and_handles_odd_edges():
    block = np.array([[[0, 3, 9], [1, 4, 9]]], dtype=np.uint8)
    out = pyramid.downsample(block, (1, 2, 2), labels=False)
    assert out.shape == (1, 1, 2)
    assert out[0, 0, 0] == 2 and out[0, 0, 1] == 9


def test_ngff_metadata_readable_by_ome_zarr(tmp_path, data):
    ome_reader = pytest.importorskip("ome_zarr.reader")
    from ome_zarr.io import parse_url

    write(tmp_path / "v.zarr", data)
    nodes = list(ome_reader.Reader(parse_url(str(tmp_path / "v.zarr")))())
    image = nodes[0]
    assert image.data[0].shape == data.shape
    scale = image.metadata["coordinateTransformations"][0][0]["scale"]
    assert scale == [50.0, 5.0, 5.0]
    assert len(image.data) == Volume(tmp_path / "v.zarr").levels


def test_store_is_plain_zarr_v2(tmp_path, data):
    write(tmp_path / "v.zarr", data)
    group = zarr.open_group(str(tmp_path / "v.zarr"), mode="r")
    assert group.metadata.zarr_format == 2
    assert group.attrs["emstudio"]["voxel_size"]["zyx_nm"] == [50.0, 5.0, 5.0]
