"""The Segment, Mesh and Measure dialogs: defaults from the project, presets, checks with a
clear message, and the job specs they make (the jobs themselves run in
tests/gui/workspace/test_result_docks.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from volume_helpers import add_array

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project
from emstudio.core.seg.from_truth import add_truth_prediction
from emstudio.core.seg.params import PRESETS
from emstudio.core.synth.demo import add_demo_volumes
from emstudio.gui.dialogs.measure_dialog import MeasureDialog
from emstudio.gui.dialogs.mesh_dialog import MeshDialog, parse_ids
from emstudio.gui.dialogs.segment_dialog import CUSTOM, SegmentDialog
from emstudio.jobs.tasks.segment import params_from_spec


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("post") / "p.emproj"
    with Project.create(path) as project:
        add_demo_volumes(project, shape=(8, 48, 64), seed=3)
        add_truth_prediction(project)
    return path


@pytest.fixture
def project(template):
    with Project.open(template, mode="read") as opened:
        yield opened


@pytest.fixture
def make(qtbot):
    def make_(cls, *args, **kwargs):
        dialog = cls(*args, **kwargs)
        qtbot.addWidget(dialog)
        return dialog

    return make_


def test_segment_dialog_presets_and_spec(make, project):
    dialog = make(SegmentDialog, project)
    assert dialog.prediction.currentText() == "truth"
    assert dialog.object_class.currentText() == "mitochondria"
    assert dialog.params() == PRESETS["crick-mitoem"].params
    dialog.preset.setCurrentText("bc-watershed")
    assert dialog.min_size.value() == 128
    assert dialog.min_volume.text() == "= 0.000512 µm³ (voxels of 40 x 10 x 10 nm)"
    dialog.min_size.setValue(200)  # edited by hand: no longer the preset
    assert dialog.preset.currentText() == CUSTOM
    assert dialog.min_volume.text().startswith("= 0.0008 µm³")
    dialog.name.setText("truth-mitochondria")
    assert "already exists" in dialog.message.text()
    dialog.name.setText("mito/final")
    assert "cannot hold '/'" in dialog.message.text()
    dialog.name.setText("objects")
    assert dialog.problem() is None and dialog.message.text() == ""
    spec = dialog.spec()
    assert spec.kind == "segment" and spec.inputs == {
        "prediction": "truth",
        "class": "mitochondria",
    }
    assert spec.params["out"] == "objects" and spec.params["preset"] is None
    assert params_from_spec(spec.params).min_size == 200  # what the job will run


def test_mesh_dialog_checks_and_spec(make, project, tmp_path):
    dialog = make(MeshDialog, project, segmentation="truth-mito-instances")
    assert dialog.problem() is None
    dialog.format.setCurrentText("stl")
    dialog.combined.setChecked(True)
    assert "combined scene needs" in dialog.message.text()
    dialog.format.setCurrentText("glb")
    dialog.ids.setText("3, x")
    assert "whole numbers" in dialog.problem()
    dialog.ids.setText("3, 5 8")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file").write_text("x")
    dialog.folder.edit.setText(str(busy))
    assert "not an empty folder" in dialog.problem()
    dialog.folder.edit.setText(str(project.path / "meshes-out"))
    assert "is inside the project folder" in dialog.problem()
    dialog.folder.edit.setText(str(tmp_path / "new"))
    assert not dialog.spec().params["sections"]
    dialog.sections.setChecked(True)
    spec = dialog.spec()
    assert spec.kind == "mesh" and spec.inputs == {"segmentation": "truth-mito-instances"}
    assert spec.params["ids"] == [3, 5, 8] and spec.params["combined"] and spec.params["out"]
    assert spec.params["sections"]
    export = make(MeshDialog, project, export=True)
    assert "Choose the folder" in export.problem()
    assert parse_ids("") is None


def test_measure_dialog_defaults_and_checks(make, project, tmp_path):
    dialog = make(MeasureDialog, project, segmentation="truth-mito-instances")
    assert dialog.image.currentText() == "em"  # the segmentation's own image
    assert not dialog.max_distance.isEnabled()  # a search radius without anything to search
    dialog.other.setCurrentText("truth-mito-instances")
    assert "not to itself" in dialog.problem() and dialog.max_distance.isEnabled()
    dialog.other.setCurrentIndex(0)
    dialog.csv.edit.setText(str(tmp_path / "m.txt"))
    assert ".csv" in dialog.problem()
    (tmp_path / "taken.csv").write_text("mine")
    for where, said in (
        (tmp_path / "taken.csv", "already exists; choose another name"),
        (project.path / "m.csv", "is inside the project folder, which emstudio manages"),
        (Path("m.csv"), "Give the whole path of m.csv"),  # else: wherever the app started
    ):
        dialog.csv.edit.setText(str(where))
        assert said in dialog.problem()
    dialog.csv.edit.setText(str(tmp_path / "m.csv"))
    spec = dialog.spec()
    assert spec.kind == "measure" and spec.inputs["image"] == "em" and spec.inputs["other"] is None
    assert spec.params["out"] == str(tmp_path / "m.csv")


def test_mesh_dialog_offers_interpolation_only_between_thick_sections(make, tmp_path):
    objects = np.zeros((4, 16, 16), np.uint32)
    objects[1:3, 4:9, 4:9] = 1
    with Project.create(tmp_path / "q.emproj") as project:
        add_array(project, "thick", "segmentation", objects, VoxelSize(50, 5, 5, known=True))
        add_array(project, "cubes", "segmentation", objects, VoxelSize(10, 10, 10, known=True))
        dialog = make(MeshDialog, project, segmentation="thick")
        assert dialog.sections.isEnabled()
        dialog.sections.setChecked(True)
        dialog.segmentation.setCurrentText("cubes")
        assert not dialog.sections.isEnabled() and not dialog.sections.isChecked()
        assert dialog.sections.text().endswith("(these voxels are near cubes)")
        assert not dialog.spec().params["sections"]
        dialog.segmentation.setCurrentText("thick")
        assert dialog.sections.isEnabled() and dialog.sections.text().endswith("sections")
