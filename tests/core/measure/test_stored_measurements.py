"""Measurements are kept in the project with the segmentation they describe."""

from __future__ import annotations

import numpy as np
from volume_helpers import add_array

from emstudio.core.measure.csv_table import read_csv
from emstudio.core.measure.run import measure_segmentation
from emstudio.core.measure.stored import measured_segmentations, measurements_path
from emstudio.core.project import Project
from emstudio.core.project.manage import delete_volume
from emstudio.core.synth.demo import add_demo_volumes


def test_measurements_are_kept_in_the_project_and_replaced_by_newer_ones(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        add_demo_volumes(project, shape=(24, 160, 192), seed=3)
        assert measured_segmentations(project) == []
        first = measure_segmentation(project, "truth-mito-instances", job_id="job-1")
        record = project.catalog.volume("truth-mito-instances")
        path = measurements_path(project, record)
        assert path is not None and path.parent == project.path / "measurements"
        assert first["table"] == first["csv"] == str(path)
        rows = read_csv(path)
        assert len(rows) == first["objects"] > 0
        assert {"id", "volume_um3", "surface_area_um2"} <= set(rows[0])
        info = record.attrs["measurements"]
        assert info["image"] == "em" and info["provenance"]["job_id"] == "job-1"
        assert project.resolve(info["summary"]).is_file()
        copy = tmp_path / "copy.csv"
        second = measure_segmentation(project, "truth-mito-instances", copy)
        assert second["csv"] == str(copy.absolute()) and copy.read_text() == path.read_text()
        assert [r.name for r in measured_segmentations(project)] == ["truth-mito-instances"]


def test_deleting_a_segmentation_deletes_its_stored_measurements(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        add_demo_volumes(project, shape=(24, 160, 192), seed=3)
        measure_segmentation(project, "truth-mito-instances")
        record = project.catalog.volume("truth-mito-instances")
        table = measurements_path(project, record)
        summary = project.resolve(record.attrs["measurements"]["summary"])
        assert table.is_file() and summary.is_file()
        delete_volume(project, record)
        assert not table.exists() and not summary.exists()
        assert measured_segmentations(project) == []


def test_a_label_set_is_measured_by_class_without_its_unlabelled_voxels(tmp_path):
    labels = np.full((4, 20, 20), 255, np.uint8)  # mostly "not labelled here"
    labels[1:3, 2:8, 2:8] = 1
    labels[1:3, 10:14, 10:14] = 3
    labels[0, :, :] = 0
    with Project.create(tmp_path / "p.emproj") as project:
        attrs = {"classes": {"0": "background", "1": "membrane", "3": "class 3"}}
        add_array(project, "painted", "labels", labels, attrs=attrs)
        measure_segmentation(project, "painted")
        path = measurements_path(project, project.catalog.volume("painted"))
        rows = read_csv(path)
    assert [(r["id"], r["class"]) for r in rows] == [("1", "membrane"), ("3", "painted")]
    assert float(rows[0]["volume_voxels"]) == 2 * 6 * 6
