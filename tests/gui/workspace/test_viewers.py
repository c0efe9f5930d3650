"""The three linked slice views on the demo project: crosshair, slices, aspect, layout, levels."""

from __future__ import annotations

import shutil
import threading

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from workspace_helpers import MOVE_GAP_MS, add_array, click, settle

from emstudio.core.project import Project
from emstudio.core.volume.store import Volume
from emstudio.gui import colors, instance_colours
from emstudio.gui.locations import demo_project_path
from emstudio.gui.planes import PlaneKey


def _volume(window, name: str) -> Volume:
    return Volume(window.project.resolve(window.project.catalog.volume(name).path))


def test_open_demo_from_the_start_page_shows_it_in_three_views(make_window, demo_template, qtbot):
    shutil.copytree(demo_template, demo_project_path())
    window = make_window()
    window.resize(1280, 860)
    qtbot.mouseClick(window.start_page.demo_button, Qt.MouseButton.LeftButton)
    assert window.project is not None and window.project.path == demo_project_path()
    settle(qtbot, window)
    page = window.project_page
    assert page.central.currentWidget() is page.viewer
    assert page.state.image == "em" and page.state.cursor == (12, 80, 96)
    assert page.state.overlays["labels"].volume == "truth-classes"
    assert page.state.overlays["labels"].visible
    xy, xz, yz = page.viewer.views
    em = _volume(window, "em")
    assert np.array_equal(xy.canvas.image.image, em.plane(0, 12))
    assert np.array_equal(xz.canvas.image.image, em.plane(1, 80))
    assert np.array_equal(yz.canvas.image.image, em.plane(2, 96).T)  # y down, z across
    labels = _volume(window, "truth-classes")
    assert np.array_equal(xy.canvas.overlays["labels"].image, labels.plane(0, 12))
    assert xy.canvas.overlays["labels"].isVisible()


def test_a_click_moves_the_crosshair_and_the_other_views(open_window, demo_path, qtbot):
    window = open_window(demo_path)
    state = window.view_state
    xy, xz, yz = window.project_page.viewer.views
    click(qtbot, xy, 40.5, 150.5)
    assert state.cursor == (12, 40, 150)
    assert (xy.index, xz.index, yz.index) == (12, 40, 150)
    settle(qtbot, window)
    em = _volume(window, "em")
    assert np.array_equal(xz.canvas.image.image, em.plane(1, 40))
    assert np.array_equal(yz.canvas.image.image, em.plane(2, 150).T)
    assert xy.canvas.lines[0].value() == 150.5 * 10  # x, in nm
    assert xy.canvas.lines[1].value() == 40.5 * 10  # y
    click(qtbot, xz, 5.5, 20.5)  # rows of XZ are z planes
    assert state.cursor == (5, 40, 20) and xy.index == 5 and yz.index == 20
    click(qtbot, yz, 100.5, 7.5)  # YZ: rows y, columns z
    assert state.cursor == (7, 100, 20)
    assert "cursor z 7, y 100, x 20" in window.readout.text()


def test_slices_follow_the_slider_wheel_and_keys(open_window, demo_path, qtbot):
    window = open_window(demo_path)
    state = window.view_state
    xy = window.project_page.viewer.views[0]
    xy.slider.setValue(3)
    assert state.cursor[0] == 3
    viewport = xy.canvas.widget.viewport()
    centre = QPointF(viewport.rect().center())
    for _ in range(2):
        wheel = QWheelEvent(
            centre,
            QPointF(viewport.mapToGlobal(centre.toPoint())),
            QPoint(),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(viewport, wheel)
    assert state.cursor[0] == 5 and xy.slider.value() == 5
    canvas = xy.canvas.widget
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    assert state.cursor[0] == 7
    qtbot.keyClick(canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert state.cursor[0] == 0  # -10, clamped
    qtbot.keyClick(canvas, Qt.Key.Key_End)
    assert state.cursor[0] == 23
    settle(qtbot, window)
    assert np.array_equal(xy.canvas.image.image, _volume(window, "em").plane(0, 23))
    assert "z = 23" in xy.position.text()


def _screen_rect(view):
    """The image's rectangle on screen (viewport pixels)."""
    item = view.canvas.image
    scene = item.mapRectToScene(item.boundingRect())
    return view.canvas.widget.mapFromScene(scene).boundingRect()


def test_anisotropic_planes_keep_their_physical_shape_and_line_up(open_window, demo_path):
    window = open_window(demo_path)  # 24 x 160 x 192 voxels of 40 x 10 x 10 nm
    xy, xz, yz = window.project_page.viewer.views
    rects = [_screen_rect(view) for view in (xy, xz, yz)]
    assert abs(rects[0].width() / rects[0].height() - 192 / 160) < 0.03
    assert abs(rects[1].width() / rects[1].height() - (192 * 10) / (24 * 40)) < 0.03
    assert abs(rects[2].width() / rects[2].height() - (24 * 40) / (160 * 10)) < 0.03
    # one shared zoom: the same nm per pixel everywhere, so rows and columns line up
    assert abs(rects[0].height() - rects[2].height()) <= 2
    assert abs(rects[0].width() - rects[1].width()) <= 2
    top_xy = xy.canvas.widget.mapTo(window, QPoint(0, rects[0].top())).y()
    top_yz = yz.canvas.widget.mapTo(window, QPoint(0, rects[2].top())).y()
    assert abs(top_xy - top_yz) <= 2


def test_layout_switch_is_remembered(open_window, demo_path, qtbot):
    window = open_window(demo_path)
    grid = window.project_page.viewer
    qtbot.mouseClick(grid.one_button, Qt.MouseButton.LeftButton)
    assert [v.isVisibleTo(grid) for v in grid.views] == [True, False, False]
    grid.plane_combo.activated.emit(1)
    assert [v.isVisibleTo(grid) for v in grid.views] == [False, True, False]
    assert not grid.legend.isVisibleTo(grid)
    window.close()
    again = open_window(demo_path)
    assert again.view_state.views == 1 and again.view_state.single_axis == 1
    again.view_state.set_layout(3)
    assert all(v.isVisibleTo(again.project_page.viewer) for v in again.project_page.viewer.views)


def test_zoomed_out_views_never_read_full_resolution_far_jumps_draw_at_once(
    make_window, tmp_path, qtbot
):
    path = tmp_path / "Big.emproj"
    data = np.random.default_rng(0).integers(0, 255, (6, 1100, 1200), dtype=np.uint8)
    with Project.create(path) as project:
        record = add_array(project, "big", "image", data)
    assert record.levels >= 3
    window = make_window()
    window.resize(900, 700)
    assert window.open_project(path)
    settle(qtbot, window)
    page = window.project_page
    store = str(page.layers.image.volume.path)
    read = {(k.axis, k.level) for k in page.loader.cache if k.path == store}
    assert read and all(level > 0 for axis, level in read if axis == 0)
    page.viewer.actual_size()  # one voxel per pixel: now level 0 is needed
    settle(qtbot, window)
    xy, xz = page.viewer.views[:2]
    assert xy._shown["image"].level == 0
    z = page.state.cursor[0]
    assert np.array_equal(xy.canvas.image.image, data[z])
    qtbot.waitUntil(lambda: page.loader.overview(xz._wanted["image"]) is not None)
    page.state.set_slice(1, 11)  # far from what was read: the overview stands in at once
    assert xz.drawn and not xz.settled and xz._shown["image"] == PlaneKey(store, 1, 5, 1)
    assert np.array_equal(xz.canvas.image.image, page.layers.image.volume.plane(1, 5, 1))
    settle(qtbot, window)
    assert xz._shown["image"].level == 0 and np.array_equal(xz.canvas.image.image, data[:, 11])


def test_zoom_and_pan_move_every_view_together(open_window, demo_path, qtbot):
    window = open_window(demo_path)
    state = window.view_state
    xy, xz, yz = window.project_page.viewer.views
    fitted = state.zoom
    viewport = xy.canvas.widget.viewport()
    centre = QPointF(viewport.rect().center())
    wheel = QWheelEvent(
        centre,
        QPointF(viewport.mapToGlobal(centre.toPoint())),
        QPoint(),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, wheel)
    assert state.zoom < fitted and not state.fitted
    assert state.cursor[0] == 12  # Ctrl+wheel zooms, it does not change the slice
    rects = [_screen_rect(view) for view in (xy, xz, yz)]
    assert abs(rects[0].width() - rects[1].width()) <= 2  # XZ zoomed with XY
    assert abs(rects[0].height() - rects[2].height()) <= 2  # and YZ
    before = xz.canvas.box.viewRect().center().x()
    y = viewport.height() // 2
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(200, y))
    for x in (220, 260, 300):
        qtbot.wait(MOVE_GAP_MS)
        qtbot.mouseMove(viewport, pos=QPoint(x, y))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(300, y))
    assert xz.canvas.box.viewRect().center().x() < before  # dragged right: XZ panned too
    assert state.cursor == (12, 80, 96)  # a drag pans, it does not move the crosshair


def test_instance_planes_are_coloured_off_the_gui_thread(
    open_window, demo_path, qtbot, monkeypatch
):
    threads = []

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return colors.instance_indices(*args, **kwargs)

    monkeypatch.setattr(instance_colours, "instance_indices", recording)
    window = open_window(demo_path)
    page = window.project_page
    page.state.set_overlay("instances", volume="truth-mito-instances", visible=True)
    settle(qtbot, window)
    xy = page.viewer.views[0]
    page.state.set_slice(0, page.state.cursor[0] + 1)
    assert not xy.settled  # the new slice is being coloured: the GUI thread did not wait
    settle(qtbot, window)
    with Project.open(demo_path, mode="read") as project:
        seg = Volume(project.resolve(project.catalog.volume("truth-mito-instances").path))
        ids = seg.plane(0, page.state.cursor[0], 0)
    assert np.array_equal(xy._data["instances"][0], ids)
    outlines = page.state.overlays["instances"].outlines
    shown = xy.canvas.overlays["instances"].image
    assert np.array_equal(shown, colors.instance_indices(ids, outlines)) and shown.any()
    assert threads and threading.main_thread() not in threads
