"""The drawing surface of one slice view: pyqtgraph items placed in physical units (nm).

Scene coordinates are nanometres, so an anisotropic stack keeps its physical aspect (the view
box locks the aspect ratio) and every layer, whatever its resolution level, lines up: a plane
of level L is scaled by that level's voxel size. The canvas turns mouse gestures into calls on
its ``handler`` (the SliceView): click, drag (painting), wheel (slices), keys, hover.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPen, QTransform
from PySide6.QtWidgets import QGraphicsEllipseItem, QWidget

from emstudio.gui.viewstate import OVERLAYS, PLANE_AXES

AXIS_COLOURS = ((90, 170, 255), (110, 220, 90), (255, 140, 70))  # XY, XZ, YZ (lines, titles)


class CanvasHandler(Protocol):
    """What the canvas reports (implemented by SliceView)."""

    def canvas_click(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None: ...
    def canvas_drag(self, start: QPointF, pos: QPointF, first: bool, last: bool) -> bool: ...
    def canvas_wheel(self, steps: int) -> None: ...
    def canvas_key(self, event: QKeyEvent) -> bool: ...
    def canvas_hover(self, pos: QPointF | None) -> None: ...
    def canvas_moved(self) -> None: ...
    def canvas_fit(self) -> None: ...


class _ViewBox(pg.ViewBox):
    """Wheel = slices (Ctrl+wheel zooms), left drag = pan or paint, right drag = zoom.

    Pan and zoom done here are reported (``canvas_moved``) so that the shared camera of the
    ViewState moves every view; the range is never changed behind the state's back.
    """

    def __init__(self, handler: CanvasHandler) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.handler = handler
        self.disableAutoRange()

    def wheelEvent(self, ev, axis=None) -> None:
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            self.handler.canvas_moved()
            return
        steps = int(np.sign(ev.delta()))
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            steps *= 10
        self.handler.canvas_wheel(steps)
        ev.accept()

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            if ev.double():
                self.handler.canvas_fit()
            else:
                self.handler.canvas_click(ev.scenePos(), ev.modifiers())
            ev.accept()
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and self.handler.canvas_drag(
            ev.buttonDownScenePos(), ev.scenePos(), ev.isStart(), ev.isFinish()
        ):
            ev.accept()
            return
        super().mouseDragEvent(ev, axis)
        self.handler.canvas_moved()


class _GraphicsView(pg.GraphicsView):
    def __init__(self, handler: CanvasHandler, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=(24, 24, 24))
        self.handler = handler
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        if not self.handler.canvas_key(ev):
            super().keyPressEvent(ev)

    def leaveEvent(self, ev) -> None:
        self.handler.canvas_hover(None)
        super().leaveEvent(ev)


class SliceCanvas:
    """Items of one view: the image, the overlays, the crosshair and the brush outline."""

    def __init__(self, axis: int, handler: CanvasHandler, parent: QWidget | None = None) -> None:
        self.axis = axis
        self.row_axis, self.col_axis = PLANE_AXES[axis]
        self.widget = _GraphicsView(handler, parent)
        self.box = _ViewBox(handler)
        self.widget.setCentralItem(self.box)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image)
        self.overlays: dict[str, pg.ImageItem] = {}
        for z, slot in enumerate(OVERLAYS, start=1):
            item = pg.ImageItem(axisOrder="row-major")
            item.setZValue(z)
            item.setVisible(False)
            self.box.addItem(item)
            self.overlays[slot] = item
        self.lines = []
        for angle, other in ((90, self.col_axis), (0, self.row_axis)):
            pen = pg.mkPen(QColor(*AXIS_COLOURS[other], 200), width=1)
            line = pg.InfiniteLine(angle=angle, movable=False, pen=pen)
            line.setZValue(10)
            self.box.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        self.brush = QGraphicsEllipseItem()
        self.brush.setPen(QPen(QColor(255, 255, 255, 220), 0))
        self.brush.setZValue(11)
        self.brush.setVisible(False)
        self.box.addItem(self.brush, ignoreBounds=True)
        self.widget.scene().sigMouseMoved.connect(lambda pos: handler.canvas_hover(QPointF(pos)))

    # -- placing --------------------------------------------------------------------------------
    def extent(self, shape: tuple[int, int, int], voxel: tuple[float, float, float]) -> QRectF:
        """The plane's physical rectangle (nm): columns across, rows down."""
        return QRectF(
            0,
            0,
            shape[self.col_axis] * voxel[self.col_axis],
            shape[self.row_axis] * voxel[self.row_axis],
        )

    def place(self, item: pg.ImageItem, scale: tuple[float, float, float]) -> None:
        """Scale an item so that one of its pixels covers one voxel of ``scale`` (nm)."""
        transform = QTransform.fromScale(scale[self.col_axis], scale[self.row_axis])
        if item.transform() != transform:
            item.setTransform(transform)

    def set_crosshair(self, cursor: tuple[int, int, int], voxel: tuple[float, ...]) -> None:
        self.lines[0].setValue((cursor[self.col_axis] + 0.5) * voxel[self.col_axis])
        self.lines[1].setValue((cursor[self.row_axis] + 0.5) * voxel[self.row_axis])

    def show_brush(self, centre: QPointF | None, radii_nm: tuple[float, float]) -> None:
        if centre is None:
            self.brush.setVisible(False)
            return
        rr, rc = radii_nm
        self.brush.setRect(QRectF(centre.x() - rc, centre.y() - rr, 2 * rc, 2 * rr))
        self.brush.setVisible(True)

    # -- mapping --------------------------------------------------------------------------------
    def to_plane(self, scene_pos: QPointF, voxel: tuple[float, ...]) -> tuple[float, float]:
        """(row, column) in voxels of level 0, continuous (voxel r spans r..r+1)."""
        point = self.box.mapSceneToView(scene_pos)
        return point.y() / voxel[self.row_axis], point.x() / voxel[self.col_axis]

    def to_view(self, scene_pos: QPointF) -> QPointF:
        return self.box.mapSceneToView(scene_pos)

    def size_px(self) -> tuple[float, float]:
        """The drawing area in screen pixels (width, height)."""
        size = self.box.size()
        return max(1.0, size.width()), max(1.0, size.height())

    def show_camera(self, centre_x: float, centre_y: float, zoom: float) -> None:
        """Show the area of ``zoom`` nm per pixel around (centre_x, centre_y) nm."""
        width, height = self.size_px()
        half_w, half_h = width * zoom / 2, height * zoom / 2
        self.box.setRange(
            QRectF(centre_x - half_w, centre_y - half_h, 2 * half_w, 2 * half_h), padding=0
        )

    def camera(self) -> tuple[float, float, float]:
        """(centre x, centre y, nm per pixel) of what is shown now."""
        rect = self.box.viewRect()
        return rect.center().x(), rect.center().y(), rect.width() / self.size_px()[0]
