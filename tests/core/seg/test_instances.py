"""Instance segmentation: in memory, blockwise (equal by construction), presets, components."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from emstudio.core.io.base import VoxelSize
from emstudio.core.metrics.instance import Contingency, adapted_rand, average_precision
from emstudio.core.seg import blockwise
from emstudio.core.seg.blockwise import components_blockwise, segment_blockwise
from emstudio.core.seg.from_truth import border_voxels, maps_from_instances
from emstudio.core.seg.instances import (
    connected_objects,
    first_voxels,
    label,
    segment_instances,
)
from emstudio.core.seg.objects import ObjectBoxes, object_boxes
from emstudio.core.seg.params import PRESETS, InstanceParams, SegmentParamsError, preset
from emstudio.core.seg.workers import sendable
from emstudio.core.synth import PhantomSpec, render
from emstudio.core.volume.store import Volume, VolumeWriter

VOXEL = (40.0, 10.0, 10.0)


def assert_scanned_boxes(boxes: ObjectBoxes, labels: np.ndarray) -> None:
    """The objects a segmentation reports are those a scan of its labels finds."""
    scanned = object_boxes(labels, (5, 17, 23))
    for field in ("ids", "lo", "hi", "count"):
        np.testing.assert_array_equal(getattr(boxes, field), getattr(scanned, field), field)


def balls(shape, centres, radius) -> np.ndarray:
    """Labelled balls (radius in voxels of y/x; z squashed by 4 like the 40 nm planes)."""
    z, y, x = np.indices(shape)
    out = np.zeros(shape, np.uint32)
    for i, (cz, cy, cx) in enumerate(centres, start=1):
        inside = ((z - cz) * 4) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= radius**2
        out[inside & (out == 0)] = i
    return out


def random_balls(shape=(24, 96, 96), count=14, seed=0) -> np.ndarray:
    """Balls of mixed sizes at random places, some touching or crossing block corners."""
    rng = np.random.default_rng(seed)
    centres = [tuple(rng.integers(0, s) for s in shape) for _ in range(count)]
    labels = np.zeros(shape, np.uint32)
    for i, centre in enumerate(centres, start=1):
        ball = balls(shape, [centre], int(rng.integers(5, 12)))
        labels[(ball > 0) & (labels == 0)] = i
    return labels


@pytest.fixture(scope="module")
def ball_maps():
    truth = random_balls()
    return truth, *maps_from_instances(truth)


@pytest.fixture(scope="module")
def phantom_maps():
    spec = PhantomSpec.create((24, 128, 128), seed=0)
    truth = render(spec).mito_instances
    area, boundary = maps_from_instances(truth)
    return truth, area, boundary


def test_maps_from_truth_mark_borders_between_touching_objects():
    labels = np.zeros((1, 1, 6), np.uint32)
    labels[0, 0, :] = [0, 1, 1, 2, 2, 2]
    assert border_voxels(labels)[0, 0].tolist() == [False, True, True, True, False, False]
    area, boundary = maps_from_instances(labels)
    assert area[0, 0].tolist() == [0, 255, 255, 255, 255, 255]
    assert boundary.dtype == np.uint8


def test_ground_truth_maps_give_the_truth_back(phantom_maps):
    truth, area, boundary = phantom_maps
    assert truth.max() > 0
    found = segment_instances(area, boundary, InstanceParams(), VOXEL)
    table = Contingency()
    table.add(found, truth)
    assert average_precision(table, 0.75) == 1.0
    assert adapted_rand(table)["adapted_rand_error"] < 0.01


@pytest.mark.parametrize("flood", ["boundary", "distance"])
@pytest.mark.parametrize("scratch_chunks", [blockwise.SCRATCH_CHUNKS, (3, 10, 14)])
def test_blockwise_equals_in_memory_across_seams(
    tmp_path, ball_maps, flood, scratch_chunks, monkeypatch
):
    """Also with provisional-id chunks much smaller than the components' boxes, so each
    component's objects are written across many chunks, some shared with other components."""
    monkeypatch.setattr(blockwise, "SCRATCH_CHUNKS", scratch_chunks)
    _, area, boundary = ball_maps
    params = InstanceParams(min_size=20, flood=flood, fill_holes=True)
    expected = segment_instances(area, boundary, params, VOXEL)
    result = segment_blockwise(area, boundary, params, VOXEL, tmp_path, block=(4, 16, 16))
    assert result.n_objects == expected.max() > 5
    assert np.array_equal(result.read_all(), expected)
    assert_scanned_boxes(result.boxes, expected)


def test_worker_processes_give_the_same_labels(tmp_path, ball_maps):
    """Workers read their boxes from the stored maps themselves (raw chunk readers)."""
    _, area, boundary = ball_maps
    params = InstanceParams(min_size=20, fill_holes=True)
    expected = segment_instances(area, boundary, params, VOXEL)
    stored = []
    for name, data in (("area", area), ("boundary", boundary)):
        with VolumeWriter(
            tmp_path / name, data.shape, "uint8", VoxelSize(*VOXEL), "prediction", name
        ) as w:
            w.write_slab(0, data)
            w.finalize({})
        stored.append(Volume(tmp_path / name).boxes())
    assert all(sendable(s) for s in stored)
    got = segment_blockwise(*stored, params, VOXEL, tmp_path / "s", block=(12, 48, 48), workers=2)
    assert np.array_equal(got.read_all(), expected)


def test_provisional_ids_outgrowing_their_type_widen_the_scratch(tmp_path, monkeypatch):
    """Provisional ids start narrow (uint32) and are widened when they outgrow it: here a
    uint8 start and 432 objects."""
    monkeypatch.setattr(blockwise, "SCRATCH_DTYPE", np.uint8)
    cell = np.zeros((4, 8, 8), np.uint32)
    cell[:3, :6, :6] = 1  # an object of 3 x 6 x 6 voxels, a gap to the next one
    ids = np.arange(1, 3 * 12 * 12 + 1, dtype=np.uint32).reshape(3, 12, 12)
    truth = np.kron(ids, cell)
    area, boundary = maps_from_instances(truth)
    params = InstanceParams(min_size=1)
    expected = segment_instances(area, boundary, params, VOXEL)
    got = segment_blockwise(area, boundary, params, VOXEL, tmp_path, block=(4, 32, 32))
    assert got.provisional.dtype == np.uint64
    assert got.n_objects == expected.max() == 432
    assert np.array_equal(got.read_all(), expected)


def test_objects_crossing_block_corners(tmp_path):
    # balls centred on block corners (block 4 x 16 x 16), two of them touching
    truth = balls((12, 48, 48), [(4, 16, 16), (8, 32, 32), (8, 32, 16), (4, 16, 30)], 9)
    area, boundary = maps_from_instances(truth)
    params = InstanceParams(min_size=5)
    expected = segment_instances(area, boundary, params, VOXEL)
    got = segment_blockwise(area, boundary, params, VOXEL, tmp_path, block=(4, 16, 16))
    assert np.array_equal(got.read_all(), expected)
    table = Contingency()
    table.add(expected, truth)
    assert average_precision(table, 0.75) == 1.0  # touching objects: ties only on the seam


def test_components_larger_than_the_budget_are_flooded_in_halo_blocks(tmp_path, ball_maps):
    _, area, boundary = ball_maps
    params = InstanceParams(min_size=20)
    expected = segment_instances(area, boundary, params, VOXEL)
    result = segment_blockwise(
        area,
        boundary,
        params,
        VOXEL,
        tmp_path,
        block=(8, 32, 32),
        crop_voxels=500,
        halo=(4, 16, 16),
    )
    assert_scanned_boxes(result.boxes, got := result.read_all())
    table = Contingency()
    table.add(got, expected)
    assert got.max() == expected.max()
    assert adapted_rand(table)["adapted_rand_error"] < 0.01


def test_watershed_splits_touching_objects_and_filters_small_ones():
    truth = balls((10, 40, 60), [(5, 20, 16), (5, 20, 34)], 10)
    truth[0, 0, 0:3] = 3  # a 3-voxel speck
    area, boundary = maps_from_instances(truth)
    labels = segment_instances(area, boundary, InstanceParams(min_size=10), VOXEL)
    assert labels.max() == 2 and labels.dtype == np.uint32
    volume = InstanceParams(min_volume_nm3=10 * 4000.0)
    assert volume.min_voxels(VOXEL) == 10
    assert segment_instances(area, boundary, volume, VOXEL).max() == 2


def test_hole_filling():
    shell = balls((12, 40, 40), [(6, 20, 20)], 14)
    shell[balls((12, 40, 40), [(6, 20, 20)], 6) > 0] = 0
    area = np.where(shell > 0, 255, 0).astype(np.uint8)
    boundary = np.zeros_like(area)
    plain = segment_instances(area, boundary, InstanceParams(), VOXEL)
    filled = segment_instances(area, boundary, InstanceParams(fill_holes=True), VOXEL)
    assert (filled > 0).sum() > (plain > 0).sum()
    assert filled[6, 20, 20] == 1 and plain[6, 20, 20] == 0


def test_connected_components_blockwise_equal_in_memory(tmp_path, ball_maps):
    _, area, _ = ball_maps
    expected = connected_objects(area, 0.5, 30)
    got = components_blockwise(area, 0.5, 30, tmp_path, block=(8, 32, 32))
    assert np.array_equal(got.read_all(), expected)
    assert_scanned_boxes(got.boxes, expected)


def with_specks(area: np.ndarray, count: int) -> np.ndarray:
    """``area`` with ``count`` one-voxel specks of foreground where it has none nearby."""
    specked = area.copy()
    empty = np.argwhere(ndimage.maximum_filter(area, size=3) == 0)
    for z, y, x in empty[:: len(empty) // count][:count]:
        specked[z, y, x] = 255
    return specked


def test_the_pieces_the_size_filter_leaves_out_are_counted(tmp_path, ball_maps):
    _, area, boundary = ball_maps
    area = with_specks(area, 5)
    all_components = connected_objects(area, 0.5, 1).max()
    got = components_blockwise(area, 0.5, 30, tmp_path / "c", block=(8, 32, 32))
    assert got.left_out == all_components - got.n_objects >= 5
    params, every = InstanceParams(min_size=20), InstanceParams(min_size=1)
    got = segment_blockwise(area, boundary, params, VOXEL, tmp_path / "w", block=(4, 16, 16))
    pieces = segment_instances(area, boundary, every, VOXEL).max()
    assert got.left_out == pieces - got.n_objects >= 5


def test_presets_are_documented_and_validated():
    assert PRESETS["crick-mitoem"].params.min_size == 1500
    bc = preset("bc-watershed").params
    assert (bc.area_threshold, bc.boundary_threshold, bc.foreground_threshold) == (0.9, 0.8, 0.85)
    assert all(p.source for p in PRESETS.values())
    with pytest.raises(SegmentParamsError, match="known presets"):
        preset("nope")
    with pytest.raises(SegmentParamsError, match=r"0\.\.1"):
        InstanceParams(area_threshold=2)
    for volume in (-1.0, float("nan"), float("inf")):
        with pytest.raises(SegmentParamsError, match="0 or a positive number"):
            InstanceParams(min_volume_nm3=volume)


def test_label_finds_scipys_components_numbered_in_raster_order():
    """6-connectivity, the same components as scipy finds, ids 1..n in raster order of each
    component's first voxel; also for a strided view and a Fortran-ordered mask."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    mask = ndimage.gaussian_filter(rng.random((20, 60, 70)), 1.2) > 0.52
    six = ndimage.generate_binary_structure(3, 1)
    for view in (mask, mask[:, ::2, 1::3], np.asfortranarray(mask)):
        expected, count = ndimage.label(view, six)
        got, n = label(view)
        assert n == count > 20 and got.dtype == np.uint32
        pairs = np.unique(np.stack([got[view], expected[view]]), axis=1)
        assert pairs.shape[1] == n  # one scipy component for each of ours, and the reverse
        ids, first = first_voxels(got)
        assert ids.tolist() == list(range(1, n + 1)) and np.all(np.diff(first) > 0)
