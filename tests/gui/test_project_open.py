"""New / open / close projects from the GUI, errors shown as messages, the lock held."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from volume_helpers import add_array

from emstudio.core.errors import ProjectLockedError
from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project


def test_new_project_creates_the_folder_and_shows_it(make_window, tmp_path, monkeypatch, qtbot):
    chosen = tmp_path / "MyCells"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(chosen), "emstudio project")
    )
    window = make_window()
    qtbot.mouseClick(window.start_page.new_button, Qt.MouseButton.LeftButton)
    folder = tmp_path / "MyCells.emproj"
    assert (folder / "project.sqlite").is_file()
    assert window.pages.currentWidget() is window.project_page
    assert window.project_page.name_label.text() == "MyCells"
    assert window.project_page.path_label.text() == str(folder)
    assert window.windowTitle() == "MyCells — emstudio"
    assert window.close_action.isEnabled()
    with pytest.raises(ProjectLockedError):
        Project.open(folder)  # the GUI holds it open for writing


def test_new_project_cancelled_does_nothing(make_window, monkeypatch, tmp_path):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    window = make_window()
    window.new_project()
    assert window.pages.currentWidget() is window.start_page
    assert list(tmp_path.glob("*.emproj")) == []


def test_new_project_in_a_used_folder_shows_the_error(make_window, tmp_path, monkeypatch, errors):
    used = tmp_path / "Used.emproj"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(used), ""))
    window = make_window()
    window.new_project()
    assert errors and errors[0][0] == "Cannot create project"
    assert "not an empty folder" in errors[0][1]
    assert window.pages.currentWidget() is window.start_page


def test_open_project_shows_its_name_and_volumes(
    make_window, project_with_volumes, monkeypatch, qtbot
):
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", lambda *a, **k: str(project_with_volumes)
    )
    window = make_window()
    qtbot.mouseClick(window.start_page.open_button, Qt.MouseButton.LeftButton)
    page = window.project_page
    assert window.pages.currentWidget() is page
    assert page.name_label.text() == "Cells"
    assert page.summary_label.text() == "2 volumes"
    tree = page.panel.tree  # the project browser: one group of rows per kind
    names = {}
    for g in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(g)
        for r in range(group.childCount()):
            item = group.child(r)
            names[item.text(0)] = [group.text(0)] + [item.text(c) for c in range(1, 5)]
    assert names["raw"] == ["Images (1)", "10 × 20 × 30", "uint8", "30 × 4 × 4", "1"]
    assert names["mito"] == ["Label sets (1)", "10 × 20 × 30", "uint16", "unknown", "3"]
    assert tree.isVisible()


def test_open_accepts_the_catalog_file(make_window, project_with_volumes):
    window = make_window()
    assert window.open_project(project_with_volumes / "project.sqlite")
    assert window.project is not None and window.project.path == project_with_volumes


def test_empty_project_says_so(make_window, tmp_path):
    Project.create(tmp_path / "Empty.emproj").close()
    window = make_window()
    assert window.open_project(tmp_path / "Empty.emproj")
    assert not window.project_page.summary_label.isVisible()
    assert not window.project_page.viewer.isVisible()
    hint = window.project_page.empty_label
    assert hint.isVisible() and "emstudio import" in hint.text()
    assert str(tmp_path / "Empty.emproj") in hint.text()


def test_a_project_of_objects_without_their_image_says_what_can_be_done(make_window, tmp_path):
    with Project.create(tmp_path / "Objects.emproj") as project:
        ids = np.zeros((4, 16, 16), np.uint32)
        ids[1:3, 2:6, 2:6] = 1
        add_array(project, "mito-ids", "segmentation", ids, VoxelSize(40, 8, 8, known=True))
    window = make_window()
    assert window.open_project(tmp_path / "Objects.emproj")
    hint = window.project_page.empty_label
    assert hint.isVisible() and "objects but no image" in hint.text()
    assert "The segmentation 'mito-ids'" in hint.text() and "Make meshes" in hint.text()
    assert "no image yet" not in hint.text()
    page = window.project_page
    assert not page.paint_panel.isEnabled() and not page.proofread_panel.isEnabled()  # no slices


def test_a_project_whose_image_cannot_be_read_says_so(make_window, project_with_volumes):
    window = make_window()  # its volumes are catalog rows without files
    assert window.open_project(project_with_volumes)
    hint = window.project_page.empty_label
    assert hint.isVisible() and "The images of this project cannot be read" in hint.text()
    assert "no image yet" not in hint.text() and "raw" in hint.text()


def test_locked_project_shows_an_error_and_stays_on_start_page(
    make_window, project_with_volumes, errors
):
    holder = Project.open(project_with_volumes)
    try:
        window = make_window()
        assert not window.open_project(project_with_volumes)
    finally:
        holder.close()
    assert len(errors) == 1
    title, text = errors[0]
    assert title == "Cannot open project"
    assert "open in another process" in text
    assert "Traceback" not in text
    assert window.pages.currentWidget() is window.start_page
    assert window.project is None
    assert window.open_project(project_with_volumes)  # the app lives on


def test_project_from_a_newer_emstudio_is_refused(make_window, project_with_volumes, errors):
    db = sqlite3.connect(project_with_volumes / "project.sqlite")
    db.execute("PRAGMA user_version = 999")
    db.close()
    window = make_window()
    assert not window.open_project(project_with_volumes)
    assert "newer emstudio" in errors[0][1]
    assert window.pages.currentWidget() is window.start_page


def test_missing_or_foreign_folder_is_refused(make_window, tmp_path, errors):
    window = make_window()
    assert not window.open_project(tmp_path / "nowhere.emproj")
    assert not window.open_project(tmp_path)
    assert "does not exist" in errors[0][1]
    assert "not an emstudio project" in errors[1][1]


def test_close_project_releases_the_lock(make_window, project_with_volumes):
    window = make_window()
    assert window.open_project(project_with_volumes)
    window.close_action.trigger()
    assert window.project is None
    assert window.pages.currentWidget() is window.start_page
    assert window.windowTitle() == "emstudio"
    Project.open(project_with_volumes).close()


def test_closing_the_window_releases_the_lock(make_window, project_with_volumes):
    window = make_window()
    assert window.open_project(project_with_volumes)
    window.close()
    Project.open(project_with_volumes).close()


def test_switching_projects_releases_the_previous_one(make_window, project_with_volumes, tmp_path):
    other = tmp_path / "Other.emproj"
    Project.create(other).close()
    window = make_window()
    assert window.open_project(project_with_volumes)
    assert window.open_project(other)
    Project.open(project_with_volumes).close()
    with pytest.raises(ProjectLockedError):
        Project.open(other)
    assert window.open_project(other)  # re-opening the shown project is a no-op, not an error
