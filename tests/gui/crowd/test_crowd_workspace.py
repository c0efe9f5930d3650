"""The crowd dock in the project workspace, driving the real main window: the consensus in the
labels slot, the volunteers' outlines and the agreement map in the slice views, choosing a
volunteer, the View-menu toggle, the refresh after a crowd job, and YZ-plane tracings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt

from emstudio.core.crowd.aggregate import VolunteerScore
from emstudio.core.crowd.agreement import traced_slices
from emstudio.core.crowd.sidecar import CrowdTracings
from emstudio.core.crowd.tracings import Tracing, TracingSet
from emstudio.core.project import Project
from emstudio.core.project.manage import delete_volume
from emstudio.core.volume.store import Volume
from emstudio.gui.crowd.workspace import DOCK_TITLE, NO_SETS_TEXT
from emstudio.gui.viewstate import Hover

TIMEOUT = 20_000


@pytest.fixture
def open_crowd(make_window, qtbot):
    """open_crowd(path) -> (window, crowd workspace), once the tracings are shown."""

    def open_(path: Path):
        window = make_window()
        window.resize(1400, 900)
        assert window.open_project(path)
        crowd = window.workbench.crowd
        qtbot.waitUntil(lambda: crowd.loaded is not None, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: window.project_page.settled, timeout=TIMEOUT)
        return window, crowd

    return open_


def consensus_plane(project: Path, z: int) -> np.ndarray:
    with Project.open(project, mode="read") as opened:
        record = opened.catalog.volume("crowd")
        return Volume(opened.resolve(record.path)).plane(0, z) > 0


def first_traced_z(crowd) -> int:
    return min(i for axis, i in crowd.overlay.data.tracings.slices if axis == "z")


def test_consensus_outlines_and_agreement_in_the_views(qtbot, open_crowd, project) -> None:
    window, crowd = open_crowd(project)
    page = window.project_page
    assert crowd.dock.isVisible() and crowd.dock.windowTitle() == DOCK_TITLE
    assert crowd.dock.toggleViewAction() in window.view_menu.actions()
    assert crowd.chooser.currentText() == "crowd" and crowd.panel.volunteers.rowCount() == 8
    assert page.state.overlays["labels"].volume == "crowd"  # the consensus overlay

    z = first_traced_z(crowd)
    page.state.set_slice(0, z)
    qtbot.waitUntil(lambda: page.settled, timeout=TIMEOUT)
    xy = crowd.overlay.items[0]
    loops = sum(len(t.outlines) for t in crowd.overlay.data.tracings.slices[("z", z)])
    assert xy.key == ("z", z) and xy.drawn["outlines"] == loops and xy.outlines.isVisible()
    assert not crowd.overlay.items[1].outlines.isVisible()  # nobody traced an XZ plane
    label_plane, _ = page.viewer.views[0]._data["labels"]
    assert np.array_equal(label_plane > 0, consensus_plane(project, z))

    crowd.controls.agreement.setChecked(True)
    qtbot.waitUntil(lambda: xy.drawn["agreement"] is not None, timeout=TIMEOUT)
    shown = xy.drawn["agreement"]
    assert shown.volunteers == 8 and xy.agreement.isVisible()
    r0, r1, c0, c1 = shown.box
    mean = np.zeros(label_plane.shape, bool)
    mean[r0:r1, c0:c1] = 2 * shown.counts >= shown.volunteers
    assert np.array_equal(mean, label_plane > 0)  # the mean consensus: half the volunteers
    voxel = page.state.voxel_size
    placed = xy.agreement.mapRectToParent(xy.agreement.boundingRect())
    assert placed == QRectF(
        c0 * voxel[2], r0 * voxel[1], (c1 - c0) * voxel[2], (r1 - r0) * voxel[1]
    )

    row, col = np.argwhere(shown.counts == 8)[0] + (r0, c0)
    page.state.set_hover(Hover((z, int(row), int(col))))
    assert crowd.controls.here.text() == f"8 of 8 volunteers here (z = {z})"
    crowd.controls.opacity.setValue(30)
    assert xy.agreement.opacity() == pytest.approx(0.3)
    crowd.controls.agreement.setChecked(False)
    assert not xy.agreement.isVisible()


def test_choosing_hiding_and_showing_volunteers(qtbot, open_crowd, project) -> None:
    window, crowd = open_crowd(project)
    state, overlay, panel = window.project_page.state, crowd.overlay, crowd.panel
    worst = panel._ids[0]
    traced = traced_slices(overlay.data.tracings, worst)
    state.set_slice(0, next(i for i in range(8) if ("z", i) not in traced))
    panel.volunteers.setCurrentCell(0, 1)  # a click on the least reliable volunteer
    assert overlay.look.chosen == worst
    assert ("z", state.cursor[0]) in traced  # moved to a slice the volunteer traced
    xy = overlay.items[0]
    all_loops = xy.drawn["outlines"] + xy.drawn["chosen"]
    assert xy.drawn["chosen"] >= 1 and xy.chosen.isVisible()

    crowd.controls.set_tracings("chosen")
    assert xy.drawn["outlines"] == 0 and not xy.outlines.isVisible() and xy.chosen.isVisible()
    crowd.controls.set_tracings("none")
    assert not xy.outlines.isVisible() and not xy.chosen.isVisible()
    panel.volunteers.setCurrentCell(1, 1)  # choosing someone shows them again
    assert crowd.controls.tracings.currentData() == "chosen" and xy.chosen.isVisible()

    crowd.controls.set_tracings("all")
    panel.volunteers.setCurrentCell(-1, -1)
    overlay.set_look(chosen=None)
    assert xy.drawn["outlines"] == all_loops
    panel.volunteers.item(0, 0).setCheckState(Qt.CheckState.Unchecked)  # hide the worst
    key = xy.key
    theirs = sum(len(t.outlines) for t in overlay.data.tracings.slices[key] if t.volunteer == worst)
    assert xy.drawn["outlines"] == all_loops - theirs
    crowd.controls.agreement.setChecked(True)
    qtbot.waitUntil(lambda: xy.drawn["agreement"] is not None, timeout=TIMEOUT)
    assert xy.drawn["agreement"].volunteers == len(overlay.data.tracings.slices[key]) - 1


def test_a_crowd_job_refreshes_the_dock(qtbot, open_crowd, project) -> None:
    window, crowd = open_crowd(project)
    panel = crowd.panel
    panel.threshold.setValue(0.8)
    panel.new_name.setText("crowd-filtered")
    panel.reaggregate.click()  # a crowd_import job in its own process
    qtbot.waitUntil(lambda: crowd.loaded == "crowd-filtered", timeout=60_000)
    assert crowd.chooser.currentText() == "crowd-filtered" and crowd.chooser.count() == 2
    assert window.project_page.state.overlays["labels"].volume == "crowd-filtered"
    excluded = [panel.volunteers.item(r, 1).text() for r in range(8)
                if panel.volunteers.item(r, 0).checkState() == Qt.CheckState.Unchecked]  # fmt: skip
    assert len(excluded) == 1 and excluded[0].endswith("(excluded)")
    crowd.chooser.setCurrentIndex(0)
    crowd.chooser.activated.emit(0)
    qtbot.waitUntil(lambda: crowd.loaded == "crowd", timeout=TIMEOUT)
    assert window.project_page.state.overlays["labels"].volume == "crowd"


def test_a_project_without_crowd_labels(qtbot, make_window, project) -> None:
    with Project.open(project) as opened:
        delete_volume(opened, opened.catalog.volume("crowd"))
    window = make_window()
    assert window.open_project(project)
    crowd = window.workbench.crowd
    assert not crowd.dock.isVisible() and crowd.loaded is None
    crowd.dock.toggleViewAction().trigger()  # View > Crowd reliability
    assert crowd.dock.isVisible() and crowd.note.text() == NO_SETS_TEXT
    assert crowd.note.isVisible() and not crowd.panel.isVisible()


def test_tracings_of_yz_planes_line_up(qtbot, open_crowd, project) -> None:
    window, crowd = open_crowd(project)
    state, overlay = window.project_page.state, crowd.overlay
    square = np.array([[2, 100], [2, 140], [5, 140], [5, 100]], float) - 0.5  # rows z, cols y
    tracings = TracingSet((8, 256, 256), volunteers={"ann": True})
    tracings.slices[("x", 100)] = [Tracing("ann", [square])]
    overlay.set_data(CrowdTracings(tracings, {"ann": VolunteerScore("ann", True)}))
    overlay.set_look(shown=None, agreement=True, tracings="all")
    state.set_cursor((3, 120, 100))
    yz = overlay.items[2]
    qtbot.waitUntil(lambda: yz.drawn["agreement"] is not None, timeout=TIMEOUT)
    assert overlay.items[0].drawn["outlines"] == 0 and yz.drawn["outlines"] == 1
    vz, vy, _ = state.voxel_size
    x, y = yz.outlines.getData()  # YZ shows z across, y down
    assert np.nanmin(x) == 2 * vz and np.nanmax(x) == 5 * vz  # around voxels z = 2..4
    assert np.nanmin(y) == 100 * vy and np.nanmax(y) == 140 * vy
    r0, r1, c0, c1 = yz.drawn["agreement"].box  # plane rows z, columns y: transposed here
    placed = yz.agreement.mapRectToParent(yz.agreement.boundingRect())
    assert placed == QRectF(r0 * vz, c0 * vy, (r1 - r0) * vz, (c1 - c0) * vy)
    assert yz.agreement.image.shape == (c1 - c0, r1 - r0)
    state.set_hover(Hover((3, 120, 100)))
    assert crowd.controls.here.text() == "1 of 1 volunteers here (x = 100)"
