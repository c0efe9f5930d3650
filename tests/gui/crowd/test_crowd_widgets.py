"""The crowd import dialog (mapping preview, spec) and the reliability panel (scores, filter,
re-aggregation spec, tracing visibility), offscreen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from emstudio.core.project import Project
from emstudio.gui.crowd.import_dialog import CrowdImportDialog
from emstudio.gui.crowd.reliability_panel import ReliabilityPanel
from emstudio.jobs.runner import run_job


def make_dialog(qtbot, project):
    with Project.open(project, mode="read") as opened:
        images = opened.catalog.volumes("image")
    dialog = CrowdImportDialog(project, images, ["truth-classes", "crowd"])
    qtbot.addWidget(dialog)
    return dialog


def test_dialog_previews_the_mapping_and_builds_the_spec(qtbot, built, project) -> None:
    dialog = make_dialog(qtbot, project)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.export.setText(str(built / "sim.csv"))
    dialog.name.setText("from-dialog")
    dialog.method.setCurrentText("staple")
    dialog.outline.setValue(60.0)
    assert ok.isEnabled()
    dialog.update_preview()
    assert dialog.table.rowCount() == 4
    assert dialog.table.item(0, 2).text().startswith("z = ")
    assert "4 of 4 subject frames map to a slice" in dialog.preview_note.text()
    spec = dialog.spec()
    assert spec.kind == "crowd_import" and spec.params["method"] == "staple"
    assert spec.params["outline_nm"] == 60.0 and spec.params["expert"] is None
    run_job(spec)
    with Project.open(project, mode="read") as opened:
        assert opened.catalog.volume("from-dialog").attrs["classes"]["1"] == "nuclear_envelope"


def test_dialog_shows_bad_settings_and_unmapped_subjects(qtbot, built, project) -> None:
    dialog = make_dialog(qtbot, project)
    dialog.export.setText(str(built / "sim.csv"))
    dialog.file_pattern.setText("(")
    assert "file name pattern" in dialog.message.text()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.file_pattern.setText(r"(?P<slice>\d+)")
    dialog.volume.setText("another-volume")
    dialog.update_preview()
    assert dialog.table.item(0, 2).text().startswith("no slice: volume 'em'")
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert "None of the first subjects maps to a slice of 'em'" in dialog.message.text()
    assert not ok.isEnabled()  # a job that would find no tracing is not started
    dialog.volume.setText("")
    dialog.workflow.setText("999")  # no row of it among the first: nothing to preview
    dialog.update_preview()
    assert dialog.table.rowCount() == 0 and "rows of other workflows" in dialog.preview_note.text()
    dialog.workflow.setText("")
    dialog.update_preview()
    assert ok.isEnabled() and not dialog.message.text()
    dialog.export.setText(str(built / "missing.csv"))
    dialog.update_preview()
    assert "does not exist" in dialog.preview_note.text() and dialog.table.rowCount() == 0
    assert "does not exist" in dialog.message.text()  # a job that would fail is not started
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_dialog_proposes_a_free_name_and_refuses_a_taken_one(qtbot, built, project) -> None:
    dialog = CrowdImportDialog(project, [], taken=["em", "crowd-labels"])
    qtbot.addWidget(dialog)
    assert dialog.name.text() == "crowd-labels-2"
    dialog.name.setText("em")
    assert "A volume named 'em' already exists" in dialog.message.text()


def test_dialog_on_the_real_export(qtbot, shared_data, project) -> None:
    dialog = make_dialog(qtbot, project)
    dialog.export.setText(str(shared_data / "zooniverse" / "cat-project-classifications.csv"))
    dialog.update_preview()
    assert "0 of 10 subject frames" in dialog.preview_note.text()
    assert "28090" in dialog.preview_note.text()
    dialog.slice_key.setText("subject_id")
    dialog.slice_offset.setValue(-1)
    dialog.scale.setText("fit")
    dialog.update_preview()  # subject ids 1..30 -> slices 0..29; the demo image has 8
    assert "3 of 10 subject frames map to a slice" in dialog.preview_note.text()
    cells = [dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())]
    assert "z = 0" in cells and "no slice: z slice 20 (image has 8)" in cells


def make_panel(qtbot, project):
    panel = ReliabilityPanel()
    qtbot.addWidget(panel)
    panel.load(project, "crowd")
    return panel


def test_panel_shows_scores_and_builds_a_reaggregation(qtbot, project) -> None:
    panel = make_panel(qtbot, project)
    assert panel.volunteers.rowCount() == 8 and panel.slices.rowCount() == 4
    assert panel.volunteers.item(0, 4).text()  # scored against the expert too
    assert sum(bar.opts["height"].sum() for bar in panel.histogram.bars) == 8
    panel.threshold.setValue(0.8)
    worst = panel.below_threshold()
    assert len(worst) == 1 and panel.below.text() == "1 of 8 volunteers"
    assert panel.histogram.line.value() == pytest.approx(0.8)
    panel.new_name.setText("crowd-filtered")
    with qtbot.waitSignal(panel.reaggregate_requested) as signal:
        panel.reaggregate.click()
    spec = signal.args[0]
    assert spec.inputs == {"tracings_from": "crowd"} and spec.params["exclude"] == worst
    assert spec.params["image"] == "em" and spec.params["expert"] == "truth-classes"
    assert spec.params["expert_class"] == "nuclear_envelope"
    run_job(spec)
    with Project.open(project, mode="read") as opened:
        assert opened.catalog.volume("crowd-filtered").attrs["crowd"]["excluded"] == worst
    panel.load(project, "crowd-filtered")
    row = next(r for r in range(8) if panel.volunteers.item(r, 1).text().endswith("(excluded)"))
    assert panel.volunteers.item(row, 1).toolTip() == f"{worst[0]}: excluded, left out by name"
    panel.load(project, "crowd")
    asked: list[object] = []  # the same name again: said here, no job
    panel.reaggregate_requested.connect(asked.append)
    panel.reaggregate.click()
    assert asked == [] and "already exists" in panel.name_problem.text()
    assert "--name" not in panel.name_problem.text()
    panel.new_name.setText("  ")
    assert not panel.reaggregate.isEnabled() and not panel.name_problem.text()


def test_panel_toggles_tracings_and_picks_slices(qtbot, project) -> None:
    panel = make_panel(qtbot, project)
    first = panel._ids[0]
    with qtbot.waitSignal(panel.visible_volunteers_changed) as signal:
        panel.volunteers.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert first not in signal.args[0] and len(signal.args[0]) == 7
    with qtbot.waitSignal(panel.slice_selected) as signal:
        panel.slices.cellClicked.emit(1, 0)
    assert signal.args[0] == "z" and isinstance(signal.args[1], int)
