"""Measurements against analytic shapes: a box and a sphere (anisotropic voxels)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import zarr

from emstudio.core.measure.csv_table import read_csv, summarise, summary_path, write_csv
from emstudio.core.measure.shape import centroid_voxel
from emstudio.core.measure.table import Inputs, measure_objects

VOXEL = (40.0, 10.0, 10.0)
RADIUS = 400.0


@pytest.fixture(scope="module")
def scene():
    shape = (30, 100, 140)
    grids = np.meshgrid(
        *[np.arange(n) * v for n, v in zip(shape, VOXEL, strict=True)], indexing="ij"
    )
    labels = np.zeros(shape, np.uint32)
    centre = (580.0, 495.0, 495.0)
    labels[sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True)) <= RADIUS**2] = 1
    labels[5:15, 10:50, 110:130] = 2  # a box of 400 x 400 x 200 nm
    labels[0:3, 90:100, 0:4] = 3  # touches the volume border
    other = np.zeros(shape, np.uint32)
    other[5:15, 10:50, 135:137] = 9  # 5 voxels (50 nm) of background beyond the box along x
    image = np.zeros(shape, np.uint8)
    image[labels == 2] = np.tile([10, 30], 4000)
    return labels, image, other


def rows_by_id(rows):
    return {r["id"]: r for r in rows}


@pytest.mark.parametrize("crop_voxels", [16 * 2**20, 500])  # grouped crops, or object slabs
def test_box_and_sphere(scene, crop_voxels):
    labels, image, other = scene
    rows = rows_by_id(
        measure_objects(
            Inputs(labels, VOXEL, "mito", image, other, "ne"),
            crop_voxels=crop_voxels,
            block=(8, 32, 32),
        )
    )
    box = rows[2]
    assert box["volume_voxels"] == 8000 and box["volume_nm3"] == 400 * 400 * 200
    assert box["volume_um3"] == pytest.approx(0.032)
    assert (box["bbox_min_z_nm"], box["bbox_max_z_nm"]) == (180.0, 580.0)
    assert (box["bbox_min_x_nm"], box["bbox_max_x_nm"]) == (1095.0, 1295.0)
    assert (box["centroid_z_nm"], box["centroid_y_nm"], box["centroid_x_nm"]) == (
        380.0,
        295.0,
        1195.0,
    )
    # equal-moment ellipsoid of a box of side L: 2 * sqrt(5 L^2 / 12)
    factor = 2 * math.sqrt(5 / 12)
    assert box["axis_major_nm"] == pytest.approx(400 * factor)
    assert box["axis_minor_nm"] == pytest.approx(200 * factor)
    assert box["surface_area_nm2"] == pytest.approx(2 * (400 * 400 + 2 * 400 * 200), rel=0.05)
    assert box["mean_intensity"] == 20.0 and box["std_intensity"] == 10.0
    assert box["distance_to_ne_nm"] == 50.0 and box["nearest_ne_id"] == 9
    assert not box["touches_border"] and rows[3]["touches_border"]
    sphere = rows[1]
    assert sphere["volume_nm3"] == pytest.approx(4 / 3 * math.pi * RADIUS**3, rel=0.01)
    assert sphere["surface_area_nm2"] == pytest.approx(4 * math.pi * RADIUS**2, rel=0.07)
    assert sphere["sphericity"] == pytest.approx(1.0, abs=0.07)
    for axis in ("major", "middle", "minor"):
        assert sphere[f"axis_{axis}_nm"] == pytest.approx(2 * RADIUS, rel=0.02)
    assert sphere["centroid_z_nm"] == pytest.approx(580.0)
    # the voxel a "go to the object" lands on, from the row or its CSV text
    assert centroid_voxel(box, VOXEL) == (10, 30, 120)
    assert labels[centroid_voxel(box, VOXEL)] == 2
    text = {k: str(v) for k, v in box.items()}
    assert centroid_voxel(text, VOXEL) == (10, 30, 120)
    assert centroid_voxel({**text, "centroid_y_nm": "nan"}, VOXEL) is None
    assert centroid_voxel({"id": "2"}, VOXEL) is None


def test_no_other_object_within_reach_is_missing(scene):
    labels, _, other = scene
    rows = measure_objects(Inputs(labels, VOXEL, other=other, max_distance_nm=60))
    by_id = rows_by_id(rows)
    assert math.isnan(by_id[1]["distance_to_other_nm"]) and by_id[1]["nearest_other_id"] == 0
    (summary,) = summarise(rows)  # the mean is over the box alone, and says so
    assert (
        summary["mean_distance_to_other_nm"] == 50.0 and summary["found_distance_to_other_nm"] == 1
    )


def test_csv_and_summary(tmp_path, scene):
    labels, image, _ = scene
    rows = measure_objects(Inputs(labels, VOXEL, "mito", image))
    table, summary = write_csv(rows, tmp_path / "m.csv")
    assert summary == summary_path(table) == tmp_path / "m-summary.csv"
    back = read_csv(table)
    assert [r["id"] for r in back] == ["1", "2", "3"] and back[2]["touches_border"] == "true"
    (cls,) = read_csv(summary)
    assert cls["class"] == "mito" and cls["count"] == "3" and cls["touching_border"] == "1"


@pytest.mark.parametrize("stored", [False, True])  # crops sent to the workers, or read there
def test_worker_processes_give_the_same_rows(tmp_path, scene, stored):
    arrays = list(scene)
    if stored:
        arrays = [
            zarr.create_array(str(tmp_path / f"{k}.zarr"), data=a, chunks=(8, 32, 32))
            for k, a in enumerate(arrays)
        ]
    labels, image, other = arrays
    inputs = Inputs(labels, VOXEL, "mito", image, other, "ne")
    serial = measure_objects(inputs, block=(8, 32, 32), workers=1)
    pooled = measure_objects(inputs, block=(8, 32, 32), workers=2)
    assert [r["id"] for r in pooled] == [1, 2, 3]
    assert pooled == serial


def test_distance_is_the_gap_between_voxels_and_touching_objects_read_0():
    voxel = (50.0, 4.6, 4.6)  # ssTEM: a contact across a section must not read as 50 nm
    labels = np.zeros((12, 20, 60), np.uint32)
    other = np.zeros_like(labels)
    labels[2:4, 5:10, 5:10] = 1
    other[4:6, 5:10, 5:10] = 7  # on the next section: touching along z
    labels[2:4, 5:10, 20:25] = 2
    other[2:4, 5:10, 26:30] = 8  # one voxel of background between them along x
    labels[2:4, 5:8, 40:43] = 3
    other[4:6, 8:11, 43:46] = 9  # touching by a corner only
    labels[8:10, 5:10, 5:10] = 4
    other[11, 5:10, 5:10] = 7  # one section (z = 10) between them
    rows = rows_by_id(measure_objects(Inputs(labels, voxel, other=other, max_distance_nm=500)))
    distances = {i: (r["distance_to_other_nm"], r["nearest_other_id"]) for i, r in rows.items()}
    assert distances == {1: (0.0, 7), 2: (4.6, 8), 3: (0.0, 9), 4: (50.0, 7)}


def test_small_objects_have_a_sphericity_of_at_most_1():
    labels = np.zeros((8, 30, 60), np.uint32)
    labels[1, 2, 2] = 1  # one voxel
    labels[1:3, 5:7, 5:7] = 2  # 2 x 2 x 2
    labels[4, 10:20, 10:20] = 3  # a disc one section thick
    labels[1:4, 20:23, 40:43] = 4
    rows = rows_by_id(measure_objects(Inputs(labels, (50.0, 5.0, 5.0))))
    for row in rows.values():
        assert 0.3 < row["sphericity"] <= 1.0 and row["surface_area_nm2"] > 0, row


@pytest.mark.parametrize("crop_voxels", [16 * 2**20, 500])  # grouped crops, or object slabs
def test_distances_to_each_class_of_a_label_set(crop_voxels):
    """Classes are not lumped: a mitochondrion inside its own class label is 0 nm from it, and
    still 40 nm from the envelope; "not labelled" (255) is no class."""
    labels = np.zeros((6, 40, 40), np.uint32)
    labels[1:4, 5:15, 5:15] = 1
    classes = np.zeros(labels.shape, np.uint8)
    classes[labels == 1] = 3  # mitochondria, as labelled
    classes[1:4, 5:15, 20] = 2  # nuclear envelope, 5 voxels of background past the object
    classes[1:4, 5:15, 16] = 255
    inputs = Inputs(labels, (40.0, 8.0, 8.0), other=classes,
                    other_classes={2: "nuclear_envelope", 3: "mitochondria"})  # fmt: skip
    (row,) = measure_objects(inputs, crop_voxels=crop_voxels, block=(2, 16, 16))
    assert row["distance_to_nuclear_envelope_nm"] == 40.0
    assert row["distance_to_mitochondria_nm"] == 0.0
    assert not [k for k in row if k.startswith("nearest_")]
