"""The result docks with real jobs on the demo project: Run ▸ Segment instances / Make meshes /
Measure make their results through dialogs; the 3D view shows the meshes, the Measurements
dock the objects, and selection is linked between them and the slice views."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox
from volume_helpers import add_array

from emstudio.core.measure.csv_table import read_csv
from emstudio.core.mesh.meshset import create_mesh_set
from emstudio.core.project import Project
from emstudio.core.seg.from_truth import add_truth_prediction
from emstudio.core.volume.store import Volume
from emstudio.gui.dialogs.measure_dialog import MeasureDialog
from emstudio.gui.dialogs.mesh_dialog import MeshDialog
from emstudio.gui.dialogs.segment_dialog import SegmentDialog
from emstudio.gui.results.workspace import TABLE_TITLE, VIEW_TITLE
from emstudio.jobs.spec import JobSpec

JOB_TIMEOUT_MS = 120_000
WINDOW_SCRIPT = Path(__file__).parent.parent / "view3d_window.py"


@pytest.fixture
def accept(monkeypatch):
    """Dialogs opened from the Run menu are filled by ``fill`` and accepted (no event loop)."""
    opened: list[QDialog] = []

    def install(fill=lambda dialog: None):
        def exec_(dialog):
            opened.append(dialog)
            fill(dialog)
            assert dialog.problem() is None, dialog.problem()
            return QDialog.DialogCode.Accepted

        for cls in (SegmentDialog, MeshDialog, MeasureDialog):
            monkeypatch.setattr(cls, "exec", exec_)
        return opened

    return install


def run_menu_action(window, text: str) -> None:
    action = next(a for a in window.menu("&Run").actions() if a.text() == text)
    action.trigger()


def wait_jobs_done(qtbot, window) -> None:
    manager = window.workbench.manager
    qtbot.waitUntil(lambda: not manager.active(), timeout=JOB_TIMEOUT_MS)
    failed = [j for j in window.project.catalog.jobs() if j.status != "done"]
    assert not failed, [(j.kind, j.status, j.message) for j in failed]


def test_segment_mesh_measure_from_the_run_menu(
    qtbot, open_window, demo_path, accept, tmp_path, monkeypatch
):
    window = open_window(demo_path)
    add_truth_prediction(window.project)
    results = window.workbench.results
    assert not results.view_dock.isVisible() and not results.table_dock.isVisible()
    view_menu = [a.text() for a in window.view_menu.actions()]
    assert VIEW_TITLE in view_menu and TABLE_TITLE in view_menu

    opened = accept(lambda d: d.name.setText("mito"))
    run_menu_action(window, "Segment instances…")
    spec = window.project.catalog.jobs()[-1].spec
    assert spec["kind"] == "segment" and spec["params"]["preset"] == "crick-mitoem"
    wait_jobs_done(qtbot, window)
    assert window.project.catalog.volume("mito").attrs["objects"] > 3

    accept(lambda d: d.segmentation.setCurrentText("mito"))
    run_menu_action(window, "Make meshes…")
    wait_jobs_done(qtbot, window)
    qtbot.waitUntil(lambda: results.view_panel.view is not None, timeout=30_000)
    results.wait()
    qtbot.waitUntil(lambda: len(results.view_panel.view.scene.actors) > 3, timeout=30_000)
    assert results.view_dock.isVisible() and results.shown_meshes == "mito"
    results.view_panel.slices.setChecked(True)  # the image's planes at the cursor
    assert all(a.GetVisibility() for a in results.view_panel.view.scene.slices)
    results.view_panel.slices.setChecked(False)
    assert not any(a.GetVisibility() for a in results.view_panel.view.scene.slices)

    export = tmp_path / "exported"

    def fill_export(dialog):
        assert dialog.problem() is not None  # the export folder is required
        dialog.segmentation.setCurrentText("mito")
        dialog.format.setCurrentText("stl")
        dialog.folder.edit.setText(str(export))

    accept(fill_export)
    run_menu_action(window, "Export meshes…")
    wait_jobs_done(qtbot, window)
    assert len(list(export.glob("*.stl"))) == window.project.catalog.volume("mito").attrs["objects"]

    for name in ("mito", "truth-mito-instances"):
        accept(lambda d, n=name: d.segmentation.setCurrentText(n))
        run_menu_action(window, "Measure…")
        wait_jobs_done(qtbot, window)
    assert len(opened) == 5
    table = results.table
    qtbot.waitUntil(lambda: results.table_dock.isVisible(), timeout=10_000)
    results.wait()
    qtbot.waitUntil(
        lambda: {r["structure"] for r in table.model.rows} == {"mito", "truth-mito-instances"},
        timeout=30_000,
    )
    assert {"volume_um3", "surface_area_um2", "sphericity"} <= set(table.model.columns)

    # a row selects the object in 3D and, with mito as the views' instance overlay, there too;
    # the views move to its centroid
    page = window.project_page
    mito = window.project.catalog.volume("mito")
    page.show_volume(mito)
    labels = Volume(window.project.resolve(mito.path))
    view = results.view_panel.view
    for object_id in (5, 2):
        page.state.set_cursor((0, 0, 0))
        row = next(r for r in table.model.rows if r["structure"] == "mito" and r["id"] == object_id)
        table.select_object(object_id, "mito")
        table.row_selected.emit(row)
        assert view.scene.selected == object_id and page.state.selection == (object_id,)
        z = page.state.cursor[0]
        assert abs(z * mito.voxel_size.z - float(row["centroid_z_nm"])) <= mito.voxel_size.z / 2
        assert object_id in labels.plane(0, z)  # the object is in the XY view's slice
    # picking in 3D selects the row and moves the views to it; the views' selection selects both
    page.state.set_cursor((0, 0, 0))
    view.object_picked.emit(3)
    assert table.selected_row()["id"] == 3 and page.state.selection == (3,)
    assert page.state.cursor != (0, 0, 0) and 3 in labels.plane(0, page.state.cursor[0])
    page.state.set_selection([4])
    assert table.selected_row()["id"] == 4 and view.scene.selected == 4

    path = results.table_panel.export_csv(tmp_path / "table.csv")
    assert len(read_csv(path)) == len(table.model.rows)

    # a renamed segmentation stays listed, under its new name
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("mito-final", True))
    page.actions.rename(window.project.catalog.volume("mito"))
    assert set(results.table_panel.checked()) == {"mito-final", "truth-mito-instances"}
    results.wait()
    qtbot.waitUntil(
        lambda: (
            {r["structure"] for r in table.model.rows} == {"mito-final", "truth-mito-instances"}
        ),
        timeout=30_000,
    )


def test_a_segmentation_without_objects_says_what_to_change(qtbot, open_window, demo_path, accept):
    window = open_window(demo_path)
    add_truth_prediction(window.project)

    def fill(dialog):
        dialog.name.setText("nothing")
        dialog.min_size.setValue(10**9)  # larger than the volume

    accept(fill)
    run_menu_action(window, "Segment instances…")
    wait_jobs_done(qtbot, window)
    assert window.project.catalog.volume("nothing").attrs["objects"] == 0

    def warning() -> QMessageBox | None:
        boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
        return boxes[0] if boxes else None

    qtbot.waitUntil(lambda: warning() is not None, timeout=5000)
    assert "'nothing' has no objects" in warning().text()
    assert "smaller minimum size" in warning().text()
    warning().accept()


def test_a_new_segmentation_is_shown_and_meshed_next(qtbot, open_window, demo_path, accept):
    """After Segment the views show the new objects, so Make meshes… offers them (not the
    demo's ground truth shown before)."""
    window = open_window(demo_path)
    add_truth_prediction(window.project)
    state = window.view_state
    assert state.overlays["instances"].volume == "truth-mito-instances"
    opened = accept(lambda d: d.name.setText("mito"))
    run_menu_action(window, "Segment instances…")
    wait_jobs_done(qtbot, window)
    assert state.overlays["instances"].volume == "mito"
    offered: list[str] = []
    accept(lambda d: offered.append(d.segmentation.currentText()))
    run_menu_action(window, "Make meshes…")
    wait_jobs_done(qtbot, window)
    assert len(opened) == 2 and offered == ["mito"]


def test_a_hidden_3d_view_is_built_when_first_shown(qtbot, open_window, demo_path):
    """Building the VTK window and drawing the meshes costs the GUI thread seconds without a
    GPU: not for a dock the user does not look at."""
    window = open_window(demo_path)
    results = window.workbench.results
    results.view_dock.hide()  # or tabbed behind Contrast
    create_mesh_set(window.project, "truth-mito-instances")
    results.reload()
    qtbot.wait(300)
    results.wait()
    assert results.shown_meshes == "truth-mito-instances"
    assert results.view_panel.view is None
    results.view_dock.show()
    results.view_dock.raise_()  # its tab chosen
    qtbot.waitUntil(lambda: results.view_panel.view is not None, timeout=30_000)
    qtbot.waitUntil(lambda: len(results.view_panel.view.scene.actors) > 0, timeout=30_000)


def test_objects_without_their_image_open_in_the_3d_view(qtbot, open_window, tmp_path):
    with Project.create(tmp_path / "objects.emproj") as project:
        ids = np.zeros((4, 32, 32), np.uint32)
        ids[1:3, 4:12, 4:12] = 1
        add_array(project, "mito-ids", "segmentation", ids)
        create_mesh_set(project, "mito-ids")
    window = open_window(tmp_path / "objects.emproj")
    results = window.workbench.results
    hint = window.project_page.empty_label
    assert hint.isVisible() and "meshes are in the <b>3D view</b>" in hint.text()  # no slices
    qtbot.waitUntil(lambda: results.view_on_screen, timeout=10_000)  # in front of Contrast
    qtbot.waitUntil(lambda: results.view_panel.view is not None, timeout=30_000)
    qtbot.waitUntil(lambda: len(results.view_panel.view.scene.actors) > 0, timeout=30_000)


def test_other_structures_drawn_around_the_objects_for_context(qtbot, open_window, tmp_path):
    with Project.create(tmp_path / "cell.emproj") as project:
        mito = np.zeros((4, 32, 32), np.uint32)
        mito[1:3, 4:10, 4:10], mito[1:3, 20:26, 20:26] = 1, 2
        nucleus = np.zeros_like(mito)
        nucleus[:, 12:20, 8:28] = 1
        for name, ids in (("mito", mito), ("nucleus", nucleus)):
            add_array(project, name, "segmentation", ids)
            create_mesh_set(project, name)
    window = open_window(tmp_path / "cell.emproj")
    results = window.workbench.results
    results.show_meshes("mito")
    results.view_dock.show()
    results.view_dock.raise_()
    qtbot.waitUntil(lambda: results.view_panel.view is not None, timeout=30_000)
    scene = results.view_panel.view.scene
    qtbot.waitUntil(lambda: len(scene.actors) == 2, timeout=30_000)
    offered = results.view_panel.context.menu().actions()
    assert [a.text() for a in offered] == ["nucleus"]
    offered[0].setChecked(True)
    qtbot.waitUntil(lambda: scene.context.names == ["nucleus"], timeout=30_000)
    (actor,) = scene.context.actors["nucleus"]
    assert not actor.GetPickable() and actor.GetProperty().GetOpacity() < 1
    assert len(scene.actors) == 2  # the objects stay the ones picked and measured
    results.view_panel.context.menu().actions()[0].setChecked(False)
    assert scene.context.names == []
    results.view_panel.context.menu().actions()[0].setChecked(True)
    qtbot.waitUntil(lambda: scene.context.names == ["nucleus"], timeout=30_000)
    results.show_meshes("nucleus")  # looked at now: no longer context
    assert scene.context.names == [] and "nucleus" not in results.context_shown
    assert [a.text() for a in results.view_panel.context.menu().actions()] == ["mito"]


def test_moving_the_cursor_does_not_redraw_3d_without_slices(
    qtbot, open_window, demo_path, monkeypatch
):
    """With "Slices" off, clicks in the slice views leave the 3D view alone (each redraw of
    many meshes can hold the window for a good part of a second without a GPU)."""
    with Project.open(demo_path) as project:
        create_mesh_set(project, "truth-mito-instances")
    window = open_window(demo_path)
    results = window.workbench.results
    results.view_dock.show()
    results.view_dock.raise_()
    qtbot.waitUntil(lambda: results.view_panel.view is not None, timeout=30_000)
    results.wait()
    assert not results.view_panel.slices.isChecked()
    redraws: list[int] = []
    monkeypatch.setattr(results.view_panel.view, "refresh", lambda: redraws.append(1))
    state = window.view_state
    for z in range(3):
        state.set_cursor((z, 20, 30))
    state.set_overlay("instances", opacity=0.3)
    assert redraws == []
    results.view_panel.slices.setChecked(True)  # with slices, the planes follow the cursor
    state.set_cursor((4, 20, 30))
    assert redraws


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_docked_3d_view_draws_under_xvfb_and_exits_cleanly(demo_path, tmp_path):
    with Project.open(demo_path) as project:
        create_mesh_set(project, "truth-mito-instances")
    out = tmp_path / "docked.png"
    proc = subprocess.run(
        [
            "xvfb-run",
            "-a",
            sys.executable,
            str(WINDOW_SCRIPT),
            str(out),
            "--workspace",
            str(demo_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "QT_QPA_PLATFORM": "xcb"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.is_file() and "drawn fraction" in proc.stdout


def test_a_failed_job_says_why_in_a_box(qtbot, open_window, demo_path, tmp_path):
    window = open_window(demo_path)
    taken = tmp_path / "taken.csv"
    taken.write_text("mine")
    spec = JobSpec(
        kind="measure",
        project=str(window.project.path),
        inputs={"segmentation": "truth-mito-instances", "image": None, "other": None},
        params={"out": str(taken)},
    )  # as a dialog would submit it, had it not checked the file
    window.workbench.submit(spec)
    qtbot.waitUntil(lambda: not window.workbench.manager.active(), timeout=JOB_TIMEOUT_MS)

    def box() -> QMessageBox | None:
        boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
        return boxes[0] if boxes else None

    qtbot.waitUntil(lambda: box() is not None, timeout=5000)
    assert box().windowTitle() == "The measure job failed"
    assert f"{taken}: already exists" in box().text() and taken.read_text() == "mine"
    box().accept()
