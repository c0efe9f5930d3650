"""Measuring a project's segmentation: the inputs are checked before anything is kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from volume_helpers import add_array

from emstudio.core.errors import EmstudioError
from emstudio.core.measure.csv_table import read_csv
from emstudio.core.measure.run import measure_segmentation
from emstudio.core.measure.stored import measured_segmentations
from emstudio.core.project import Project


@pytest.fixture
def project(tmp_path):
    labels = np.zeros((4, 16, 16), np.uint32)
    labels[1:3, 2:6, 2:6], labels[1:3, 9:13, 9:13] = 1, 2
    with Project.create(tmp_path / "p.emproj") as project:
        add_array(project, "em", "image", np.full(labels.shape, 100, np.uint8))
        add_array(project, "seg", "segmentation", labels)
        add_array(project, "other", "segmentation", labels[:, ::-1].copy())
        yield project


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"image": "other"}, r"other: is a segmentation, not an image"),
        ({"other": "other", "max_distance_nm": -5.0}, r"must be 0 nm or more, got -5.0"),
    ],
)
def test_wrong_inputs_are_refused_and_nothing_is_kept(project, tmp_path, options, message):
    with pytest.raises(EmstudioError, match=message):
        measure_segmentation(project, "seg", tmp_path / "m.csv", **options)
    assert measured_segmentations(project) == [] and not (tmp_path / "m.csv").exists()


def test_a_table_that_cannot_be_written_keeps_nothing(project, tmp_path, monkeypatch):
    (tmp_path / "taken.csv").write_text("mine")
    for out, message in (
        (tmp_path / "taken.csv", "already exists"),
        (project.path / "m.csv", "inside the project folder"),
        (tmp_path / "none" / "m.csv", "folder does not exist"),
    ):
        with pytest.raises(EmstudioError, match=message):
            measure_segmentation(project, "seg", out)
    assert (tmp_path / "taken.csv").read_text() == "mine"

    def full_disk(rows, path, columns, object_class):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("emstudio.core.measure.run.write_csv", full_disk)
    with pytest.raises(OSError):
        measure_segmentation(project, "seg", tmp_path / "m.csv")
    assert measured_segmentations(project) == []  # nothing registered by a failed job


def test_a_prediction_may_give_the_intensities(project, tmp_path):
    probability = np.full((4, 16, 16), 200, np.uint8)
    add_array(project, "mito-p", "prediction", probability, attrs={"class": "mitochondria"})
    result = measure_segmentation(project, "seg", tmp_path / "m.csv", image="mito-p")
    assert result["objects"] == 2 and result["image"] == "mito-p"


def test_a_segmentation_without_objects_gets_the_header_and_a_count_of_0(project, tmp_path):
    add_array(project, "none", "segmentation", np.zeros((4, 16, 16), np.uint32))
    given = {"image": "em", "other": "other"}
    full = measure_segmentation(project, "seg", tmp_path / "full.csv", **given)
    empty = measure_segmentation(project, "none", tmp_path / "empty.csv", **given)
    assert empty["objects"] == 0
    header = (tmp_path / "full.csv").read_text().splitlines()[0]  # as objects' rows have it
    assert (tmp_path / "empty.csv").read_text() == header + "\n"
    assert "mean_intensity" in header and "distance_to_other_nm" in header
    summary = read_csv(Path(empty["summary"]))
    assert [(row["class"], row["count"], row["total_volume_um3"]) for row in summary] == [
        ("none", "0", "0")  # the class its objects would have: its name
    ]
    assert read_csv(Path(full["table"]))  # the kept copy of a table with objects has its rows
    assert Path(empty["table"]).read_text() == header + "\n"
