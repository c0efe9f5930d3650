"""The multiscale store: writing, pyramid, NGFF metadata, fast slicing equals zarr reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from emstudio.core.errors import DamagedVolumeError, ProjectError
from emstudio.core.io.base import VoxelSize
from emstudio.core.volume import fastslice, pyramid
from emstudio.core.volume.chunkio import ChunkWriter
from emstudio.core.volume.store import Volume, VolumeWriter


def write(path, data, kind="image", voxel=(50.0, 5.0, 5.0), chunks=(8, 32, 32), slab=None):
    voxel_size = VoxelSize(*voxel, known=True, origin="test")
    with VolumeWriter(path, data.shape, data.dtype, voxel_size, kind, "v", chunks=chunks) as w:
        step = slab or w.slab_planes
        for z0 in range(0, data.shape[0], step):
            w.write_slab(z0, data[z0 : z0 + step])
        w.finalize({"note": "x"})
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


def test_raw_boxes_index_like_numpy(tmp_path, data):
    """Boxes over many chunks are copied by several threads, small ones directly."""
    boxes = write(tmp_path / "v.zarr", data).boxes()
    assert boxes is not None and not hasattr(boxes, "store")  # the raw chunk reader
    keys = [
        (slice(2, 11), slice(30, 500), slice(0, 333)),
        (slice(None), slice(None, None, 7), slice(5, None, 3)),
        (4, slice(None, None, 16), slice(None, None, 16)),
        (-1, 599, slice(100, 90)),
        (slice(1, 5), slice(3, 20), slice(0, 30)),  # one chunk: copied without threads
    ]
    for key in keys:
        assert np.array_equal(boxes[key], data[key]), key
    with pytest.raises(IndexError):
        boxes[19, 0, 0]
    with pytest.raises(IndexError):
        boxes[::-1, 0, 0]


def test_a_worker_process_copies_boxes_without_threads(tmp_path, data, monkeypatch):
    boxes = write(tmp_path / "v.zarr", data).boxes()
    monkeypatch.setenv(fastslice.COPY_THREADS_VARIABLE, "1")  # as seg.workers starts them
    fastslice._copier.cache_clear()
    try:
        assert fastslice._copier() is None
        assert np.array_equal(boxes[:, 30:500, :], data[:, 30:500, :])
    finally:
        fastslice._copier.cache_clear()


def test_a_serial_reader_copies_boxes_in_the_reading_thread(tmp_path, data, monkeypatch):
    raw = write(tmp_path / "v.zarr", data).boxes()
    compressed = write(tmp_path / "l.zarr", data.astype(np.uint32), kind="segmentation").boxes()
    serial = [raw.serial(), compressed.serial()]
    assert [type(r) for r in serial] == [type(raw), type(compressed)]
    monkeypatch.setattr(fastslice, "_copier", lambda: pytest.fail("a copier thread was used"))
    key = (slice(None), slice(30, 500), slice(None))  # many chunks
    assert np.array_equal(serial[0][key], data[key])
    assert np.array_equal(serial[1][key], data[key].astype(np.uint32))
    assert raw.parallel and compressed.parallel  # the readers it was made from are unchanged


def test_labels_are_compressed_and_subsampled(tmp_path):
    labels = np.zeros((10, 600, 600), np.uint32)
    labels[2:8, 100:300, 100:300] = 7
    vol = write(tmp_path / "l.zarr", labels, kind="segmentation")
    assert isinstance(vol._slicer(0), fastslice.CompressedChunkSlicer)
    assert vol.arrays[0].metadata.compressor.cname == "lz4"
    assert np.array_equal(vol.plane(1, 150), labels[:, 150])
    coarse = vol.read(0, vol.level_shape(1)[0], level=1)
    assert set(np.unique(coarse)) <= {0, 7}


def test_probability_maps_are_stored_lz4_compressed(tmp_path, data):
    vol = write(tmp_path / "p.zarr", data, kind="prediction")
    assert vol.arrays[0].metadata.compressor.cname == "lz4"
    assert np.array_equal(vol.read(0, data.shape[0]), data)  # zarr-python reads them too


@pytest.mark.parametrize("kind", ["prediction", "segmentation"])
def test_compressed_planes_and_boxes_read_like_numpy(tmp_path, data, kind):
    """Ragged edge chunks, chunks never written (read as 0), boxes over many chunks (decoded
    by threads) and single chunks, read by our reader as numpy indexes the array."""
    data = data.astype(np.uint8 if kind == "prediction" else np.uint32)
    data[:, 64:200, 64:128] = 0  # whole chunks of zeros: written, and read back
    vol = write(tmp_path / "c.zarr", data, kind=kind)
    boxes = vol.boxes()
    assert isinstance(boxes, fastslice.CompressedChunkSlicer)
    (vol.path / "0" / "1.5.3").unlink()  # a chunk with no file: its voxels read as 0
    data[8:16, 160:192, 96:128] = 0
    keys = [
        (slice(None), slice(None), slice(None)),
        (slice(2, 11), slice(30, 500), slice(0, 333)),
        (slice(None), slice(None, None, 7), slice(5, None, 3)),
        (-1, 599, slice(100, 90)),
        (slice(1, 5), slice(3, 20), slice(0, 30)),
    ]
    for key in keys:
        assert np.array_equal(boxes[key], data[key]), key
    for axis in range(3):
        for index in (0, 170, data.shape[axis] - 1):
            index = min(index, data.shape[axis] - 1)
            key = [slice(None)] * 3
            key[axis] = index
            assert np.array_equal(vol.plane(axis, index), data[tuple(key)]), (axis, index)


def test_slabs_of_any_size_fill_compressed_chunks_whole(tmp_path, data, monkeypatch):
    """Slabs of 3 planes into 8-deep compressed chunks: level 0's chunks are each coded once,
    never read back and merged."""
    merged = []
    original = ChunkWriter._read_chunk

    def read_chunk(writer, path):
        merged.append(path)
        return original(writer, path)

    monkeypatch.setattr(ChunkWriter, "_read_chunk", read_chunk)
    vol = write(tmp_path / "p.zarr", data, kind="prediction", slab=3)
    assert not [p for p in merged if p.parent.name == "0"]
    assert np.array_equal(vol.read(0, data.shape[0]), data)
    for level in range(1, vol.levels):  # the pyramid is the one whole slabs make
        whole = write(tmp_path / f"w{level}.zarr", data, kind="prediction")
        assert np.array_equal(vol.read(0, 2, level), whole.read(0, 2, level))


def test_a_store_gone_on_with_keeps_the_layout_it_was_begun_with(tmp_path, data):
    """A prediction begun raw (before maps were compressed) is finished raw: its chunks and
    its metadata agree."""
    path = tmp_path / "old.zarr"
    voxel = VoxelSize(50.0, 5.0, 5.0, known=True, origin="test")
    with VolumeWriter(path, data.shape, np.uint8, voxel, "prediction", "p", chunks=(8, 32, 32)):
        pass
    for level in path.glob("[0-9]*"):  # what an older version made: raw chunks
        meta = json.loads((level / ".zarray").read_text())
        (level / ".zarray").write_text(json.dumps({**meta, "compressor": None}))
    with VolumeWriter(
        path, data.shape, np.uint8, voxel, "prediction", "p", chunks=(8, 32, 32), reopen=True
    ) as writer:
        assert not writer.compressed
        writer.write_box(0, 0, np.ascontiguousarray(data))
        writer.finalize({})
    vol = Volume(path)
    assert type(vol.boxes()) is fastslice.RawChunkSlicer
    assert fastslice.is_fast_layout(json.loads((path / "0" / ".zarray").read_text()))
    assert np.array_equal(vol.read(0, data.shape[0]), data)


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


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("factor", [(1, 2, 2), (2, 2, 2), (2, 1, 1)])
def test_downsample_mean_equals_the_rounded_mean_of_each_cell(dtype, factor):
    block = np.random.default_rng(1).integers(0, np.iinfo(dtype).max, (5, 33, 47), dtype)
    pad = [(0, (-n) % f) for n, f in zip(block.shape, factor, strict=True)]
    padded = np.pad(block, pad, mode="edge").astype(np.int64)
    cells = [n // f for n, f in zip(padded.shape, factor, strict=True)]
    sums = padded.reshape(cells[0], factor[0], cells[1], factor[1], cells[2], factor[2])
    sums = sums.sum(axis=(1, 3, 5))
    count = int(np.prod(factor))
    expected = (sums + count // 2) // count
    np.testing.assert_array_equal(pyramid.downsample(block, factor, labels=False), expected)


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


@pytest.mark.parametrize("slab", [1, 3, 8, 19])
@pytest.mark.parametrize("kind", ["image", "labels"])
def test_any_slab_size_gives_the_same_pyramid(tmp_path, kind, slab):
    """Streaming the pyramid from slabs of any size equals downsampling the whole volume."""
    rng = np.random.default_rng(2)
    data = rng.integers(0, 255, size=(19, 300, 290), dtype=np.uint8)
    vol = write(tmp_path / "v.zarr", data, kind=kind, voxel=(5.0, 5.0, 5.0), slab=slab)
    assert np.array_equal(vol.read(0, data.shape[0]), data)  # chunk parts written in any order
    expected = data
    for level, factor in enumerate(pyramid.plan_factors(data.shape, (5.0, 5.0, 5.0)), start=1):
        expected = pyramid.downsample(expected, factor, labels=kind == "labels")
        assert np.array_equal(vol.read(0, vol.level_shape(level)[0], level=level), expected)
    assert vol.levels == 2


def test_writer_refuses_out_of_order_slabs(tmp_path):
    data = np.zeros((4, 8, 8), np.uint8)
    with VolumeWriter(tmp_path / "v.zarr", data.shape, data.dtype, VoxelSize(), "image", "v") as w:
        w.write_slab(0, data[:2])
        with pytest.raises(ValueError, match="in order"):
            w.write_slab(3, data[3:])
        with pytest.raises(RuntimeError, match="planes written"):
            w.finalize({})


def test_label_stores_take_whole_chunk_slabs_where_planes_allow(tmp_path):
    def writer(shape, dtype, kind="segmentation"):
        voxel = VoxelSize(40.0, 10.0, 10.0, known=True, origin="test")
        return VolumeWriter(tmp_path / f"{kind}-{dtype}-{shape[1]}", shape, dtype, voxel, kind, "v")

    with writer((40, 2048, 2048), "uint32") as w:  # 16 MiB planes: 16 deep in 256 MiB
        assert w.chunks[0] == w.slab_planes == 16
    with writer((40, 2048, 2048), "uint8", "labels") as w:
        assert w.chunks[0] == w.slab_planes == 32
    with writer((40, 4096, 4096), "uint32") as w:  # not even 8 planes fit: the usual depth
        assert w.chunks[0] == 32 and w.slab_planes == 4
    with writer((40, 2048, 2048), "uint8", "image") as w:  # uncompressed: unchanged
        assert w.chunks[0] == 32 and w.slab_planes == 32


def test_stores_filled_by_boxes_keep_the_full_chunk_depth(tmp_path):
    voxel = VoxelSize(40.0, 10.0, 10.0, known=True, origin="test")
    shape = (40, 4096, 4096)  # 16 MiB planes: slabs would take 16-deep chunks
    with VolumeWriter(tmp_path / "slabs", shape, "uint8", voxel, "prediction", "v") as w:
        assert w.chunks[0] == 16
    with VolumeWriter(
        tmp_path / "boxes", shape, "uint8", voxel, "prediction", "v", in_boxes=True
    ) as w:
        assert w.chunks == (32, 128, 128)


@pytest.mark.parametrize("kind", ["image", "labels"])
def test_boxes_in_any_order_give_the_slab_writers_volume(tmp_path, kind):
    """Columns of whole chunks written in any order (the fused prediction) make the same levels
    as slabs, their coarser boxes merged into chunks they share; a reopened store goes on."""
    rng = np.random.default_rng(3)
    data = rng.integers(0, 255, size=(9, 600, 333), dtype=np.uint8)
    voxel = VoxelSize(50.0, 5.0, 5.0, known=True, origin="test")
    expected = write(tmp_path / "slabs.zarr", data, kind=kind)
    assert expected.levels == 3  # level 2 boxes are 16 voxels a side, in 32-voxel chunks
    boxes = [(y, x) for y in range(0, 600, 64) for x in range(0, 333, 64)]
    rng.shuffle(boxes)
    path = tmp_path / "boxes.zarr"
    for last, part in enumerate((boxes[:5], boxes[5:])):  # the second writer reopens the store
        with VolumeWriter(path, data.shape, data.dtype, voxel, kind, "v", (8, 32, 32), True) as w:
            for y, x in part:
                w.write_box(y, x, data[:, y : y + 64, x : x + 64])
            if last:
                w.finalize({"note": "x"})
    got = Volume(path)
    for level in range(expected.levels):
        depth = expected.level_shape(level)[0]
        assert np.array_equal(got.read(0, depth, level), expected.read(0, depth, level)), level


def test_boxes_must_fall_on_every_levels_grid(tmp_path):
    data = np.zeros((4, 300, 300), np.uint8)
    voxel = VoxelSize(5.0, 5.0, 5.0, known=True, origin="test")
    with VolumeWriter(tmp_path / "v.zarr", data.shape, data.dtype, voxel, "image", "v") as w:
        with pytest.raises(ValueError, match="grid"):
            w.write_box(0, 33, data[:, :, 33:])
        with pytest.raises(ValueError, match="does not fit"):
            w.write_box(0, 0, data[:2])


def test_finer_levels_written_elsewhere_and_adopted_give_the_slab_writers_volume(tmp_path):
    """Workers write level 0 through the writer's picklable chunk writers; the writer adopts
    their files, takes the next level as slabs and builds the coarser ones itself."""
    rng = np.random.default_rng(4)
    data = rng.integers(0, 9, size=(9, 600, 333), dtype=np.uint8)
    voxel = VoxelSize(50.0, 5.0, 5.0, known=True, origin="test")
    expected = write(tmp_path / "slabs.zarr", data, kind="labels")
    path = tmp_path / "adopted.zarr"
    with VolumeWriter(path, data.shape, data.dtype, voxel, "labels", "v", (8, 32, 32)) as w:
        files = []
        for y in range(0, 600, 64):
            for x in range(0, 333, 64):
                files += w.level_writers[0].write_now(0, data[:, y : y + 64, x : x + 64], y, x)
        assert files and all(f.is_file() for f in files)
        w.adopt(1, files)
        w.write_slab(0, pyramid.downsample(data, w.factors[0], labels=True), level=1)
        w.finalize({"note": "x"})
    got = Volume(path)
    assert got.levels == expected.levels == 3
    for level in range(expected.levels):
        depth = expected.level_shape(level)[0]
        assert np.array_equal(got.read(0, depth, level), expected.read(0, depth, level)), level


def test_a_missing_store_is_named_not_a_traceback(tmp_path):
    with pytest.raises(ProjectError, match="the volume's data folder is missing"):
        Volume(tmp_path / "deleted.zarr")


def test_a_missing_or_cut_image_chunk_is_named_not_read_as_zeros(tmp_path, data):
    """An interrupted copy of a project: its image reads must fail, saying which file."""
    path = tmp_path / "em.zarr"
    write(path, data)
    chunk = path / "0" / "1.2.3"
    chunk.unlink()
    volume = Volume(path)
    for read in (lambda: volume.plane(0, 9), lambda: volume.plane(1, 70),
                 lambda: volume.plane(2, 100), lambda: volume.read(8, 16),
                 lambda: volume.boxes()[8:10, 64:70, 96:100]):  # fmt: skip
        with pytest.raises(DamagedVolumeError, match=r"1\.2\.3: the chunk file is missing"):
            read()
    assert volume.plane(0, 0).shape == (600, 333)  # the rest still reads
    chunk.write_bytes(b"\0" * 100)  # cut short
    for read in (lambda: Volume(path).plane(0, 9), lambda: Volume(path).plane(1, 70)):
        with pytest.raises(DamagedVolumeError, match=r"1\.2\.3: the chunk file"):
            read()


def test_a_label_set_s_unwritten_chunks_are_background_but_a_bad_one_is_named(tmp_path, data):
    path = tmp_path / "labels.zarr"
    write(path, (data > 200).astype(np.uint8), kind="labels")
    labels = Volume(path)
    chunks = labels.chunks
    assert labels.read(0, 19)[: chunks[0], : chunks[1], : chunks[2]].any()
    chunk = path / "0" / "0.0.0"
    chunk.unlink()  # as a painted set leaves the chunks nobody painted: background
    assert not Volume(path).read(0, 19)[: chunks[0], : chunks[1], : chunks[2]].any()
    chunk.write_bytes(b"not blosc")
    with pytest.raises(DamagedVolumeError, match="cannot be decoded"):
        Volume(path).read(0, 19)


@pytest.mark.parametrize("damage", ["empty .zattrs", "cut .zarray", "no level 0"])
def test_damaged_metadata_is_named_not_a_traceback(tmp_path, data, damage):
    path = tmp_path / "em.zarr"
    write(path, data[:4])
    if damage == "empty .zattrs":
        (path / ".zattrs").write_text("")
    elif damage == "cut .zarray":
        (path / "0" / ".zarray").write_text('{"zarr_format": 2, "sha')
    else:
        for file in sorted((path / "0").iterdir(), reverse=True):
            file.unlink()
        (path / "0").rmdir()
    with pytest.raises(DamagedVolumeError, match="its metadata cannot be read"):
        Volume(path)
