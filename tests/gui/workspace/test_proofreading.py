"""Proofreading the demo's instances in the views: select, merge, undo, split, save a version."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox
from scipy import ndimage
from workspace_helpers import click, drag, settle

from emstudio.core.project import Project
from emstudio.core.volume.store import Volume
from emstudio.gui import colors

SEG = "truth-mito-instances"


def _stored(path, name: str = SEG) -> np.ndarray:
    with Project.open(path, mode="read") as project:
        return Volume(project.resolve(project.catalog.volume(name).path)).read(0, 10_000)


def _inside(mask: np.ndarray) -> tuple[int, int]:
    """The (row, column) deepest inside a 2D mask: a click there hits the object."""
    depth = ndimage.distance_transform_edt(mask)
    return tuple(int(v) for v in np.unravel_index(np.argmax(depth), mask.shape))  # type: ignore[return-value]


def _shown(view) -> np.ndarray:
    return view._data["instances"][0]


def test_select_merge_undo_split_and_save_a_new_version(open_window, demo_path, qtbot, monkeypatch):
    seg = _stored(demo_path)
    window = open_window(demo_path)
    page = window.project_page
    state, session, panel = window.view_state, page.proofread, page.proofread_panel
    state.set_overlay("instances", volume=SEG, visible=True)
    state.set_paint(tool="brush")  # as painting leaves it: a click would paint, not select
    page.docks["proofread"].raise_()
    settle(qtbot, window)
    assert state.paint.tool == "navigate"  # the Proofreading tab shown: clicks select
    xy = page.viewer.views[0]
    z = state.cursor[0]
    ids, counts = np.unique(seg[z][seg[z] > 0], return_counts=True)
    big, other = (int(i) for i in ids[np.argsort(counts)[::-1][:2]])

    def idle() -> bool:
        return session.busy is None

    # click selects (status bar: id and voxel count); Ctrl+click adds
    click(qtbot, xy, *(v + 0.5 for v in _inside(seg[z] == big)))
    assert state.selection == (big,)
    count = int((seg == big).sum())
    qtbot.waitUntil(lambda: f"{count:,} voxels" in window.statusBar().currentMessage())
    assert f"object {big}" in window.statusBar().currentMessage()
    click(
        qtbot, xy, *(v + 0.5 for v in _inside(seg[z] == other)), Qt.KeyboardModifier.ControlModifier
    )
    assert state.selection == (big, other) and panel.merge_button.isEnabled()

    # merge, then undo with Ctrl+Z
    panel.merge_button.click()
    qtbot.waitUntil(idle)
    merged = np.where(seg == other, big, seg)
    settle(qtbot, window)  # the views colour the edited planes in the background
    assert np.array_equal(_shown(xy), merged[z])
    assert state.selection == (big,) and session.modified()
    window.activateWindow()
    qtbot.keyClick(xy.canvas.widget, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: idle() and not session.modified())
    settle(qtbot, window)
    assert np.array_equal(_shown(xy), seg[z])

    # split the biggest object from seeds of two colours at its two ends
    rows, cols = np.nonzero(seg[z] == big)
    along = cols if np.ptp(cols) >= np.ptp(rows) else rows
    ends = [(rows[i] + 0.5, cols[i] + 0.5) for i in (np.argmin(along), np.argmax(along))]
    click(qtbot, xy, *(v + 0.5 for v in _inside(seg[z] == big)))
    panel.seed_buttons[1].click()
    drag(qtbot, xy, [ends[0], ends[0]])
    panel.seed_buttons[2].click()
    click(qtbot, xy, *ends[1])
    assert all(len(group) for group in session.seeds.values())
    assert xy.seed_marks.item.data.size >= 2  # the seeds are drawn
    assert state.selection == (big,) and panel.split_button.isEnabled()
    panel.split_button.click()
    qtbot.waitUntil(idle)
    new_id = int(seg.max()) + 1
    assert set(state.selection) == {big, new_id}
    edited = session.reader.layer.read(tuple(slice(0, s) for s in seg.shape))
    assert np.array_equal(edited == new_id, (seg == big) & (edited != big))
    assert (edited == new_id).any() and (edited == big).any()
    head, tail = (tuple(int(v) for v in (z, *end)) for end in ends)
    assert edited[head] == big and edited[tail] == new_id
    assert np.array_equal(edited[seg != big], seg[seg != big])  # nothing else changed
    settle(qtbot, window)
    assert np.array_equal(_shown(xy), edited[z])
    assert not any(session.seeds.values())  # used up
    assert session.seed_colour is None and not panel.seed_buttons[2].isChecked()  # clicks select
    panel.seed_buttons[1].click()
    click(qtbot, xy, *ends[0])
    panel.clear_seeds_button.click()  # seeds given up: clicks select again too
    assert not any(session.seeds.values()) and session.seed_colour is None
    assert not panel.seed_buttons[1].isChecked()

    # save as a new version: the original stays, the new one is shown
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("mito-proofread", True))
    said: list[str] = []
    session.message.connect(said.append)
    with qtbot.waitSignal(session.saved, timeout=10_000):
        panel.save_button.click()
    qtbot.waitUntil(lambda: any("Saved the edits as 'mito-proofread'" in m for m in said))
    assert any("meshes and measurements are not made yet" in m for m in said)
    assert page.layers.layer("instances").name == "mito-proofread"
    assert not session.modified() and not panel.save_button.isEnabled()
    window.close()
    assert np.array_equal(_stored(demo_path), seg)
    assert np.array_equal(_stored(demo_path, "mito-proofread"), edited)
    with Project.open(demo_path, mode="read") as project:
        saved = project.catalog.volume("mito-proofread")
    assert saved.provenance["params"]["edits"] == [f"split {big} into [{big}, {new_id}]"]
    assert saved.provenance["inputs"][0]["volume"] == SEG


def test_selected_objects_are_drawn_highlighted():
    ids = np.zeros((9, 9), np.uint32)
    ids[1:5, 1:5], ids[5:8, 5:8] = 2, 3
    plain = colors.instance_indices(ids, outlines=True)
    chosen = colors.instance_indices(ids, outlines=True, selected=[2])
    assert chosen[2, 2] == colors.SELECTED_FILL and chosen[1, 1] == colors.SELECTED_EDGE
    assert np.array_equal(chosen[ids != 2], plain[ids != 2])  # the others as before
    lut = colors.instance_lut()
    assert 0 < lut[colors.SELECTED_FILL, 3] < lut[colors.SELECTED_EDGE, 3] == 255


def test_relabel_delete_and_close_without_saving(open_window, demo_path, qtbot, monkeypatch):
    seg = _stored(demo_path)
    window = open_window(demo_path)
    page = window.project_page
    state, session, panel = window.view_state, page.proofread, page.proofread_panel
    state.set_overlay("instances", volume=SEG, visible=True)
    first, second = (int(i) for i in np.unique(seg[seg > 0])[:2])
    session.select_at(tuple(int(v) for v in np.argwhere(seg == first)[0]))
    qtbot.waitUntil(lambda: session.reader is not None and session.busy is None)
    answers = iter([(str(second), True), ("x1", True), ("500", True)])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: next(answers))
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    panel.relabel_button.click()  # an id in use: asked to merge, answered No
    panel.relabel_button.click()
    assert not session.modified() and "not a whole number" in warnings[-1]
    panel.relabel_button.click()
    qtbot.waitUntil(lambda: session.busy is None and session.modified())
    assert state.selection == (500,) and session.reader.table.count(500) == (seg == first).sum()
    panel.delete_button.click()
    qtbot.waitUntil(lambda: session.busy is None and 500 not in session.reader.table)
    assert "2 unsaved edits" in panel.status.text()
    window.close()  # the unsaved edits: discarded (the store never changed)
    assert np.array_equal(_stored(demo_path), seg)
    with Project.open(demo_path, mode="read") as project:
        assert len(project.catalog.volumes("segmentation")) == 1
