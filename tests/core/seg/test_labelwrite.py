"""Writing a blockwise segmentation's labels into a store, box by box in workers."""

from __future__ import annotations

import numpy as np
import psutil
import pytest
from scipy import ndimage

from emstudio.core.io.base import VoxelSize
from emstudio.core.seg import labelwrite
from emstudio.core.seg.blockwise import components_blockwise
from emstudio.core.seg.labelwrite import plan_writes, write_labels
from emstudio.core.seg.workers import WorkerPool
from emstudio.core.volume.store import Volume, VolumeWriter

SHAPE = (10, 300, 530)  # ragged edges at every level
VOXEL = VoxelSize(8.0, 8.0, 8.0)
CHUNKS = (4, 16, 16)


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = ndimage.gaussian_filter(rng.random(SHAPE), 2.0)
    return np.where(noise > np.percentile(noise, 80), 255, 0).astype(np.uint8)


def _writer(path, dtype) -> VolumeWriter:
    return VolumeWriter(path, SHAPE, dtype, VOXEL, "segmentation", "s", chunks=CHUNKS)


@pytest.mark.parametrize(
    ("task_voxels", "levels", "workers"), [(1024, 1, 1), (8192, 2, 2), (2**30, 3, 1)]
)
def test_boxes_write_the_store_slabs_write(
    tmp_path, blobs, monkeypatch, task_voxels, levels, workers
):
    """Every level, whichever levels the workers write and which this process gathers."""
    monkeypatch.setattr(labelwrite, "TASK_VOXELS", task_voxels)
    result = components_blockwise(blobs, 0.5, 5, tmp_path / "scratch", block=(4, 64, 64))
    expected = result.read_all()
    assert result.n_objects > 50
    with _writer(tmp_path / "slabs.zarr", result.dtype) as writer:
        writer.write_slab(0, expected)
        writer.finalize({})
    with _writer(tmp_path / "boxes.zarr", result.dtype) as writer:
        assert len(writer.factors) == 2
        monkeypatch.setattr(labelwrite, "plan_writes", lambda w: plan_writes(w, task_voxels))
        assert plan_writes(writer, task_voxels).levels == levels
        write_labels(result, writer, workers=workers)
        writer.finalize({})
    slabs, boxes = Volume(tmp_path / "slabs.zarr"), Volume(tmp_path / "boxes.zarr")
    assert boxes.levels == slabs.levels == 3
    for level in range(3):
        got = boxes.read(0, boxes.level_shape(level)[0], level)
        assert np.array_equal(got, slabs.read(0, slabs.level_shape(level)[0], level))
    assert np.array_equal(boxes.read(0, SHAPE[0]), expected)


def test_a_plan_box_is_whole_chunks_of_each_level_it_writes(tmp_path):
    with _writer(tmp_path / "s.zarr", np.uint32) as writer:
        plan = plan_writes(writer, 8192)
        assert (plan.levels, plan.box, plan.part_factor) == (2, (8, 32, 32), (2, 2, 2))
        assert plan_writes(writer, 2**30).part_factor is None


def test_labelling_and_writing_share_one_set_of_processes(tmp_path, blobs, monkeypatch):
    """Given the segmentation's pool, writing uses its processes instead of starting others
    (each start costs about a second of imports)."""
    monkeypatch.setattr(labelwrite, "TASK_VOXELS", 8192)
    with WorkerPool(2) as pool:
        result = components_blockwise(
            blobs, 0.5, 5, tmp_path / "scratch", block=(4, 64, 64), workers=2, pool=pool
        )
        labelled_by = {child.pid for child in psutil.Process().children()}
        with _writer(tmp_path / "boxes.zarr", result.dtype) as writer:
            write_labels(result, writer, workers=2, pool=pool)
            writer.finalize({})
        assert labelled_by and {child.pid for child in psutil.Process().children()} == labelled_by
    assert np.array_equal(Volume(tmp_path / "boxes.zarr").read(0, SHAPE[0]), result.read_all())
