"""Helpers of the workspace tests: extra volumes, waiting for the views, mouse gestures."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication
from volume_helpers import add_array as add_array  # shared with the other test folders

from emstudio.gui.main_window import MainWindow

MOVE_GAP_MS = 15


def settle(qtbot, window: MainWindow, timeout: int = 10_000) -> None:
    """Wait until the layout is done (docks added late) and every view shows its planes."""
    views = window.project_page.viewer.views
    sizes: list = []

    def steady() -> bool:
        sizes.append([view.canvas.size_px() for view in views])
        return len(sizes) > 2 and sizes[-1] == sizes[-2] == sizes[-3]

    qtbot.waitUntil(steady, timeout=timeout)
    qtbot.waitUntil(lambda: window.project_page.settled, timeout=timeout)


def view_point(view, voxel_row: float, voxel_col: float) -> QPointF:
    """Viewport position (pixels) of a plane position given in voxels (row, column)."""
    voxel = view.state.voxel_size
    scene = view.canvas.box.mapViewToScene(
        QPointF(voxel_col * voxel[view.col_axis], voxel_row * voxel[view.row_axis])
    )
    return QPointF(view.canvas.widget.mapFromScene(scene))


def drag(qtbot, view, points: list[tuple[float, float]]) -> None:
    """A left-button drag through plane positions (voxels), as a person paints."""
    qtbot.wait(MOVE_GAP_MS)  # pending layout first: a resized view re-centres its camera
    viewport = view.canvas.widget.viewport()
    pixels = [view_point(view, r, c).toPoint() for r, c in points]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=pixels[0])
    for pixel in pixels[1:]:
        qtbot.wait(MOVE_GAP_MS)  # pyqtgraph drops mouse moves closer than 10 ms
        qtbot.mouseMove(viewport, pos=pixel)
        QApplication.processEvents()
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=pixels[-1])


def click(qtbot, view, row: float, col: float, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.wait(MOVE_GAP_MS)
    viewport = view.canvas.widget.viewport()
    qtbot.mouseClick(
        viewport, Qt.MouseButton.LeftButton, modifier, pos=view_point(view, row, col).toPoint()
    )
