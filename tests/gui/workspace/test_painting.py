"""Label painting in the views: brush, eraser, fill, background-only, undo/redo, save, reopen."""

from __future__ import annotations

import itertools

import numpy as np
from workspace_helpers import add_array, click, drag, settle

from emstudio.core.project import Project
from emstudio.core.project.labels import create_label_set
from emstudio.core.volume.store import Volume
from emstudio.gui.label_editor import MAX_UNDO


def _labels(path, name: str = "truth-classes") -> np.ndarray:
    with Project.open(path, mode="read") as project:
        return Volume(project.resolve(project.catalog.volume(name).path)).read(0, 10_000)


def _shown_labels(view) -> np.ndarray:
    return view._data["labels"][0]


def test_paint_a_stroke_undo_redo_save_and_reopen(open_window, demo_path, qtbot):
    before = _labels(demo_path)
    window = open_window(demo_path)
    page = window.project_page
    state = window.view_state
    xy = page.viewer.views[0]
    z = state.cursor[0]
    state.set_camera((z * 40.0, 305.0, 405.0), zoom=2.5)  # 4 pixels per voxel, on the stroke
    state.set_paint(tool="brush", size=3, value=2)
    assert "no slice painted here: training uses every XY slice" in page.paint_panel.status.text()
    drag(qtbot, xy, [(30.5, 20.5), (30.5, 40.5), (30.5, 60.5)])
    assert (_shown_labels(xy)[29:32, 20:61] == 2).all()
    assert state.cursor[0] == z  # painting does not move the crosshair
    assert page.labels.modified() and page.paint_panel.save_button.isEnabled()
    assert "unsaved" in page.paint_panel.status.text()
    page.labels.undo()
    assert np.array_equal(_shown_labels(xy)[29:32, 20:61], before[z, 29:32, 20:61])
    page.labels.redo()
    assert (_shown_labels(xy)[29:32, 20:61] == 2).all()
    state.set_cursor((z, 10, 40))  # the other views show the stroke where they cross it
    settle(qtbot, window)
    yz = page.viewer.views[2]
    assert (_shown_labels(yz)[29:32, z] == 2).all()
    assert page.labels.save()
    qtbot.waitUntil(lambda: not page.labels.saving, timeout=10_000)
    assert not page.labels.modified()
    window.close()
    after = _labels(demo_path)
    assert (after[z, 29:32, 20:61] == 2).all()
    changed = after != before
    changed[z, 28:33, 18:63] = False
    assert not changed.any()  # nothing else moved
    with Project.open(demo_path, mode="read") as project:
        attrs = project.catalog.volume("truth-classes").attrs
    # the demo's ground truth recorded no labelled slices (every slice holding a label counts):
    # painting one slice keeps them all labelled
    labelled = _labelled_z(after)
    assert z in labelled and len(labelled) > 1
    assert attrs["labelled_slices"] == {"z": labelled, "y": [], "x": []}
    again = open_window(demo_path)  # reopened: the views show the saved labels
    assert (_shown_labels(again.project_page.viewer.views[0])[29:32, 20:61] == 2).all()
    assert again.project_page.viewer.views[0].slider.marks == set(labelled)


def _labelled_z(labels: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(labels.reshape(len(labels), -1).any(axis=1))]


def test_saves_and_undos_keep_the_slices_labelled_before_painting(open_window, demo_path, qtbot):
    """A label set that recorded no labelled slices (imported, ground truth): its slices
    holding labels stay labelled through later saves and undos, not just the painted ones."""
    labelled = _labelled_z(_labels(demo_path))
    window = open_window(demo_path)
    page = window.project_page
    y = window.view_state.cursor[1]
    window.view_state.set_paint(tool="brush", size=1, value=2)
    for step in range(2):  # two strokes, each saved
        page.labels.stroke(1, y + step, [(1.5, 0.5), (1.5, 20.5)])
        assert page.labels.modified(), step
        page.labels.save()
        qtbot.waitUntil(lambda: not page.labels.saving, timeout=10_000)
    page.labels.undo()  # the second stroke: y + 1 is no longer painted, the z slices stay
    page.labels.save()
    qtbot.waitUntil(lambda: not page.labels.saving, timeout=10_000)
    with Project.open(demo_path, mode="read") as project:
        attrs = project.catalog.volume("truth-classes").attrs
    assert attrs["labelled_slices"] == {"z": labelled, "y": [y], "x": []}


def test_eraser_background_only_and_labelled_slices_of_xz(open_window, demo_path, qtbot):
    before = _labels(demo_path)
    window = open_window(demo_path)
    page = window.project_page
    state = window.view_state
    xz = page.viewer.views[1]
    y = state.cursor[1]
    row = before[:, y, :]
    z = int(np.argmax((row == 1).sum(axis=1)))  # the plane with the most membrane on this row
    state.set_paint(tool="brush", size=1, value=3, background_only=True)
    page.labels.stroke(1, y, [(z + 0.5, 0.5), (z + 0.5, 191.5)])
    painted = _shown_labels(xz)[z]
    assert np.array_equal(painted[row[z] != 0], row[z][row[z] != 0])  # classes kept
    assert (painted[row[z] == 0] == 3).all()  # background painted
    state.set_paint(tool="eraser", size=1)
    page.labels.stroke(1, y, [(z + 0.5, 0.5), (z + 0.5, 40.5)])
    assert not _shown_labels(xz)[z, :41].any()
    assert page.labels.editor.painted["y"] == {y}
    page.labels.save()
    qtbot.waitUntil(lambda: not page.labels.saving, timeout=10_000)
    assert xz.slider.marks == {y}
    with Project.open(demo_path, mode="read") as project:
        assert project.catalog.volume("truth-classes").attrs["labelled_slices"]["y"] == [y]


def test_flood_fill_fills_the_clicked_region_of_the_slice(open_window, demo_path, qtbot):
    with Project.open(demo_path) as project:
        create_label_set(project, project.catalog.volume("em"), "mine", {1: "a", 2: "b"})
    window = open_window(demo_path)
    page = window.project_page
    state = window.view_state
    page.show_volume(window.project.catalog.volume("mine"))
    settle(qtbot, window)
    xy = page.viewer.views[0]
    state.set_paint(tool="brush", size=1, value=1)
    square = [(20.5, 20.5), (20.5, 50.5), (50.5, 50.5), (50.5, 20.5), (20.5, 20.5)]
    for start, end in itertools.pairwise(square):
        page.labels.stroke(0, state.cursor[0], [start, end])
    settle(qtbot, window)
    state.set_paint(tool="fill", value=2)
    click(qtbot, xy, 30.5, 30.5)
    assert page.labels.filling  # computed in a worker thread
    assert "filling" in page.paint_panel.status.text()
    qtbot.waitUntil(lambda: not page.labels.filling, timeout=10_000)
    shown = _shown_labels(xy)
    assert (shown[21:50, 21:50] == 2).all()
    assert shown[20, 30] == 1 and shown[10, 10] == 0 and shown[60, 60] == 0
    assert page.labels.editor.undo_steps == 5
    said: list[str] = []
    page.labels.failed.connect(said.append)
    state.set_cursor((state.cursor[0] + 1, *state.cursor[1:]))  # a slice not painted yet
    settle(qtbot, window)
    click(qtbot, xy, 30.5, 30.5)
    qtbot.waitUntil(lambda: not page.labels.filling, timeout=10_000)
    assert (_shown_labels(xy) == 0).all() and page.labels.editor.undo_steps == 5
    assert said and "no outline encloses that point" in said[0]


def test_undo_keeps_at_least_50_steps(open_window, demo_path):
    before = _labels(demo_path)
    window = open_window(demo_path)
    page = window.project_page
    state = window.view_state
    z = state.cursor[0]
    col = int(np.flatnonzero((before[z, :60] != 2).all(axis=0))[0])  # no class 2 there yet
    state.set_paint(tool="brush", size=1, value=2)
    for i in range(60):
        page.labels.stroke(0, z, [(i + 0.5, col + 0.5)])
    xy = page.viewer.views[0]
    assert (_shown_labels(xy)[:60, col] == 2).all()
    assert page.labels.editor.undo_steps == 60 <= MAX_UNDO
    for _ in range(60):
        page.labels.undo()
    assert np.array_equal(_shown_labels(xy), before[z])
    assert not page.labels.editor.can_undo
    for _ in range(60):
        page.labels.redo()
    assert (_shown_labels(xy)[:60, col] == 2).all()


def test_painting_without_a_label_set_creates_one(open_window, tmp_path, qtbot):
    path = tmp_path / "Cells.emproj"
    with Project.create(path) as project:
        add_array(project, "raw", "image", np.full((4, 40, 50), 100, np.uint8))
    window = open_window(path)
    page = window.project_page
    window.view_state.set_paint(tool="brush", size=5, value=1)
    drag(qtbot, page.viewer.views[0], [(10.5, 10.5), (10.5, 30.5)])
    record = window.project.catalog.volume("labels")
    assert record.kind == "labels" and record.attrs["classes"]["1"] == "foreground"
    assert window.view_state.overlays["labels"].volume == "labels"
    assert page.panel.volume_item("labels") is not None
    page.labels.save()
    qtbot.waitUntil(lambda: not page.labels.saving, timeout=10_000)
    window.close()
    assert (_labels(path, "labels")[2, 9:12, 10:31] == 1).all()


def test_unsaved_labels_are_offered_for_saving_on_close(open_window, demo_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(title)
        return QMessageBox.StandardButton.Save

    monkeypatch.setattr(QMessageBox, "question", question)
    window = open_window(demo_path)
    window.view_state.set_paint(tool="brush", size=1, value=3)
    z = window.view_state.cursor[0]
    window.project_page.labels.stroke(0, z, [(5.5, 5.5)])
    window.close()
    assert asked == ["Unsaved labels"]
    assert _labels(demo_path)[z, 5, 5] == 3
