"""Helpers of the workspace tests: extra volumes, waiting for the views, mouse gestures."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.volumes import add_volume
from emstudio.core.volume.store import VolumeWriter
from emstudio.gui.main_window import MainWindow

MOVE_GAP_MS = 15


def add_array(project: Project, name: str, kind: str, data: np.ndarray, **fields) -> VolumeRecord:
    """Store ``data`` as a new volume of ``project`` (voxel size 40 x 10 x 10 nm)."""
    voxel = VoxelSize(40, 10, 10, known=True)
    record = VolumeRecord(
        id=uuid.uuid4().hex,
        name=name,
        kind=kind,
        path="",
        shape=data.shape,
        dtype=data.dtype.name,
        voxel_size=voxel,
        chunks=(0, 0, 0),
        levels=0,
        source="test",
        **fields,
    )

    def write(staging: Path) -> None:
        with VolumeWriter(staging, data.shape, data.dtype, voxel, kind, name) as writer:
            writer.write_slab(0, data)
            writer.finalize({})
            record.chunks, record.levels = tuple(writer.chunks), len(writer.arrays)

    return add_volume(project, write, record)


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
