"""One slice view (XY, XZ or YZ): title, canvas and slice slider, observing the ViewState.

The view asks the plane loader for the planes of its slice, at the resolution level its zoom
needs, draws those in the cache at once and the others when the reader thread has them; until
then it draws the coarser plane of the loader's in-memory overview, so a slice change never
leaves the old image (or nothing) on screen. It changes only the ViewState (cursor, hover),
the label session (painting) and the proofreading session (selection, seeds); the other
views follow through the state.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.project.labels import AXIS_NAMES
from emstudio.gui import colors
from emstudio.gui.instance_colours import Coloured, Colouring
from emstudio.gui.label_session import LabelSession
from emstudio.gui.layers import Layer, LayerSet
from emstudio.gui.plane_loader import PlaneLoader
from emstudio.gui.planes import PlaneKey
from emstudio.gui.proofread_session import ProofreadSession
from emstudio.gui.seed_marks import SeedMarks
from emstudio.gui.slice_canvas import AXIS_COLOURS, SliceCanvas
from emstudio.gui.slice_slider import SliceSlider
from emstudio.gui.viewstate import (
    AXIS_TITLES,
    CAMERA,
    CONTRAST,
    CURSOR,
    LAYERS,
    OVERLAYS,
    PLANE_AXES,
    SELECTION,
    TOOL,
    VOLUME,
    Hover,
    ViewState,
)

SLOTS = ("image", *OVERLAYS)
CLASS_LUT = colors.class_lut()
INSTANCE_LUT = colors.instance_lut()
STEP_KEYS = {
    Qt.Key.Key_Up: 1,
    Qt.Key.Key_Right: 1,
    Qt.Key.Key_PageUp: 1,
    Qt.Key.Key_Down: -1,
    Qt.Key.Key_Left: -1,
    Qt.Key.Key_PageDown: -1,
}


class SliceView(QWidget):
    """The view across ``axis`` (0: XY at z, 1: XZ at y, 2: YZ at x)."""

    def __init__(
        self,
        axis: int,
        state: ViewState,
        layers: LayerSet,
        loader: PlaneLoader,
        labels: LabelSession,
        proofread: ProofreadSession,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.axis = axis
        self.row_axis, self.col_axis = PLANE_AXES[axis]
        self.state = state
        self.layers = layers
        self.loader = loader
        self.labels = labels
        self.proofread = proofread
        self.canvas = SliceCanvas(axis, self, self)
        self.title = QLabel()
        self.title.setStyleSheet(f"color: rgb{AXIS_COLOURS[axis]}; font-weight: bold;")
        self.position = QLabel()
        self.slider = SliceSlider()
        self.slider.setToolTip("Move through the slices (ticks mark painted slices)")
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(lambda value: state.set_slice(axis, value))
        self._wanted: dict[str, PlaneKey] = {}  # slot -> plane it should show
        self._shown: dict[str, PlaneKey] = {}  # slot -> plane it shows
        self._stand_ins: dict[str, PlaneKey] = {}  # slot -> overview plane while wanted loads
        self._data: dict[str, tuple[np.ndarray, tuple[int, int, int]]] = {}  # for hover values
        self._drag_last: tuple[float, float] | None = None
        self._hover_pos: QPointF | None = None
        self._levels: dict[str, int] = {}
        self._edits = 0  # proofreading edits seen: part of what an instance colouring shows
        self.fit_requested = lambda: None  # set by the grid: fit every view
        self._build()
        state.subscribe(self._on_state)
        loader.ready.connect(self._on_ready)
        loader.coloured.connect(self._on_coloured)
        labels.edited.connect(self._redraw_labels)
        labels.stateChanged.connect(self._update_marks)
        self.seed_marks = SeedMarks(self.canvas.box, self.row_axis, self.col_axis)
        proofread.edited.connect(self._on_edited)
        proofread.seedsChanged.connect(self._show_seeds)
        self.canvas.box.sigResized.connect(self._show_camera)

    # -- public ---------------------------------------------------------------------------------
    @property
    def index(self) -> int:
        return self.state.cursor[self.axis]

    @property
    def settled(self) -> bool:
        """Whether every wanted plane is drawn (screenshots and benchmarks wait for this)."""
        return all(self._shown.get(slot) == key for slot, key in self._wanted.items())

    @property
    def drawn(self) -> bool:
        """Whether every wanted plane is drawn, at full resolution or as its overview stand-in."""
        return all(
            self._shown.get(slot) in (key, self._stand_ins.get(slot))
            for slot, key in self._wanted.items()
        )

    def zoom_to_fit(self) -> float:
        """The zoom (nm per pixel) that shows this view's whole plane."""
        rect = self.canvas.extent(self.state.shape, self.state.voxel_size)
        width, height = self.canvas.size_px()
        return max(rect.width() / width, rect.height() / height)

    def refresh(self) -> None:
        """Draw (or request) the planes of every visible layer at the current slice."""
        wanted: dict[str, PlaneKey] = {}
        for slot in SLOTS:
            layer = self.layers.layer(slot)
            item = self._item(slot)
            if layer is None or (slot != "image" and not self.state.overlays[slot].visible):
                item.setVisible(False)
                self._shown.pop(slot, None)
                self._data.pop(slot, None)
                continue
            wanted[slot] = self._key(slot, layer)
        self._wanted = wanted
        self._stand_ins.clear()
        for slot, key in wanted.items():
            if self._shown.get(slot) == key:
                continue
            plane = self.loader.get(key)
            if plane is not None:
                self._show(slot, key, plane)
            elif slot != "labels" or self.labels.editor_of(self.layers.layer(slot)) is None:
                self._show_stand_in(slot, key)
        if wanted:
            self.loader.request(list(wanted.values()), group=self.axis)
        self._update_title()

    # -- drawing --------------------------------------------------------------------------------
    def _level(self, slot: str, layer: Layer) -> int:
        """The resolution level for the current zoom (labels being painted: always 0)."""
        if slot == "labels" and self.labels.editor_of(layer) is not None:
            return 0
        return layer.level_for((self.row_axis, self.col_axis), self.state.zoom)

    def _key(self, slot: str, layer: Layer) -> PlaneKey:
        level = self._levels[slot] = self._level(slot, layer)
        index = layer.index_at(self.axis, self.index, level)
        return self.loader.key(layer.path, self.axis, index, level)

    def _show_stand_in(self, slot: str, key: PlaneKey) -> None:
        """Draw the overview's coarser plane while ``key``'s plane is read (labels being
        painted never: their edits exist at full resolution only)."""
        stand_in = self.loader.overview(key)
        if stand_in is not None:
            self._stand_ins[slot] = stand_in[0]
            if self._shown.get(slot) != stand_in[0]:
                self._show(slot, *stand_in)

    def _item(self, slot: str) -> pg.ImageItem:
        return self.canvas.image if slot == "image" else self.canvas.overlays[slot]

    def _on_ready(self, key: PlaneKey) -> None:
        for slot, wanted in self._wanted.items():
            if wanted == key and self._shown.get(slot) != key:
                plane = self.loader.get(key)
                if plane is not None:
                    self._show(slot, key, plane)

    def _show(self, slot: str, key: PlaneKey, plane: np.ndarray | None) -> None:
        """Draw a cached plane (in display orientation: YZ is already transposed); an instance
        plane once it is coloured (``plane`` None: only if it is)."""
        layer = self.layers.layer(slot)
        if layer is None:
            return
        item = self._item(slot)
        if slot == "instances":
            coloured = self._coloured(layer, key, plane)
            if coloured is None:
                return  # drawn by _on_coloured when the colourer has it
            plane = coloured.ids
            item.setImage(coloured.indices, autoLevels=False, levels=(0, 255), lut=INSTANCE_LUT)
        elif slot == "image":
            levels, lut = colors.grey_lut(self.state.contrast)
            item.setImage(plane, autoLevels=False, levels=levels, lut=lut)
        else:
            plane = self._draw_overlay(slot, layer, item, plane)
        factor = layer.factor(key.level)
        scale = tuple(v * f for v, f in zip(self.state.voxel_size, factor, strict=True))
        self.canvas.place(item, scale)  # type: ignore[arg-type]
        if slot != "image":
            item.setOpacity(self.state.overlays[slot].opacity)
        item.setVisible(True)
        self._shown[slot] = key
        self._data[slot] = (plane, factor)  # type: ignore[assignment]

    def _draw_overlay(
        self, slot: str, layer: Layer, item: pg.ImageItem, display: np.ndarray
    ) -> np.ndarray:
        """Draw a labels (with the strokes being painted) or probability plane."""
        if slot == "labels":
            editor = self.labels.editor_of(layer)
            if editor is not None:
                display = editor.plane(self.axis, self.index, display)
            shown = (
                display if display.dtype == np.uint8 else np.minimum(display, 255).astype(np.uint8)
            )
            item.setImage(shown, autoLevels=False, levels=(0, 255), lut=CLASS_LUT)
        else:
            lut = colors.probability_lut(self.state.overlays[slot].threshold)
            item.setImage(display, autoLevels=False, levels=(0, 255), lut=lut)
        return display

    def _coloured(self, layer: Layer, key: PlaneKey, plane: np.ndarray | None) -> Coloured | None:
        """The colouring of an instance plane as shown now, if done; else it is asked for (the
        colourer's thread draws the proofreading edits in and colours it)."""
        overlay = self.state.overlays["instances"]
        colouring = Colouring(key, overlay.outlines, tuple(self.state.selection), self._edits)
        coloured = self.loader.colours.get(colouring)
        if coloured is None and plane is not None:

            def patch(ids: np.ndarray) -> np.ndarray:
                return self.proofread.instance_plane(layer, ids, self.axis, key.index, key.level)

            self.loader.colours.request(self.axis, colouring, plane, patch)
        return coloured

    def _on_coloured(self, colouring: Colouring) -> None:
        key = colouring.key
        wanted = (self._wanted.get("instances"), self._stand_ins.get("instances"))
        if key in wanted and self._shown.get("instances") != key:
            self._show("instances", key, None)

    def _on_edited(self) -> None:
        self._edits += 1
        self._redraw_instances()

    def _redraw_instances(self) -> None:
        self._shown.pop("instances", None)
        self.refresh()

    def _show_seeds(self) -> None:
        self.seed_marks.show(
            self.proofread.seeds_in_plane(self.axis, self.index), self.state.voxel_size
        )

    def _redraw_labels(self) -> None:
        self._shown.pop("labels", None)
        self.refresh()

    def _apply_contrast(self) -> None:
        levels, lut = colors.grey_lut(self.state.contrast)
        self.canvas.image.setLevels(levels)
        self.canvas.image.setLookupTable(lut)

    # -- state ----------------------------------------------------------------------------------
    def _on_state(self, topic: str) -> None:
        if topic == VOLUME:
            self.slider.blockSignals(True)
            self.slider.setRange(0, self.state.shape[self.axis] - 1)
            self.slider.blockSignals(False)
            self._shown.clear()
            self._update_marks()
        elif topic == CURSOR:
            self.canvas.set_crosshair(self.state.cursor, self.state.voxel_size)
            if self.slider.value() != self.index:
                self.slider.blockSignals(True)
                self.slider.setValue(self.index)
                self.slider.blockSignals(False)
            self.refresh()
            self._show_seeds()
        elif topic == SELECTION:
            self._redraw_instances()
        elif topic == LAYERS:
            for slot in OVERLAYS:
                self._shown.pop(slot, None)
            self._update_marks()
            self.refresh()
        elif topic == CAMERA:
            self._show_camera()
            if any(self._level(slot, layer) != level for slot, level, layer in self._levels_now()):
                self.refresh()
        elif topic == CONTRAST:
            self._apply_contrast()
        elif topic == TOOL:
            self._update_brush()

    def _levels_now(self) -> list[tuple[str, int, Layer]]:
        """(slot, level drawn, layer) of the layers drawn now."""
        now = []
        for slot, level in list(self._levels.items()):
            layer = self.layers.layer(slot)
            if layer is not None:
                now.append((slot, level, layer))
        return now

    def _show_camera(self) -> None:
        centre, zoom = self.state.centre, self.state.zoom
        self.canvas.show_camera(centre[self.col_axis], centre[self.row_axis], zoom)

    def _update_title(self) -> None:
        name = AXIS_NAMES[self.axis]
        size = self.state.shape[self.axis]
        nm = self.index * self.state.voxel_size[self.axis]
        self.title.setText(AXIS_TITLES[self.axis])
        self.position.setText(f"{name} = {self.index}  (of {size})   {nm:,.0f} nm")

    def _update_marks(self) -> None:
        editor = self.labels.current_editor()
        if editor is not None:
            self.slider.set_marks(editor.painted[AXIS_NAMES[self.axis]])
        else:
            layer = self.layers.layer("labels")
            painted = (layer.record.attrs.get("labelled_slices") or {}) if layer else {}
            self.slider.set_marks({int(i) for i in painted.get(AXIS_NAMES[self.axis], [])})

    # -- gestures (SliceCanvas handler) -----------------------------------------------------------
    def _voxel(self, pos: QPointF) -> tuple[float, float] | None:
        row, col = self.canvas.to_plane(pos, self.state.voxel_size)
        rows, cols = self.state.shape[self.row_axis], self.state.shape[self.col_axis]
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def _voxel3d(self, row: float, col: float) -> tuple[int, int, int]:
        voxel = list(self.state.cursor)
        voxel[self.row_axis], voxel[self.col_axis] = int(row), int(col)
        return tuple(voxel)  # type: ignore[return-value]

    def canvas_click(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        self.canvas.widget.setFocus()
        point = self._voxel(pos)
        if point is None:
            return
        tool = self.state.paint.tool
        shift = modifiers & Qt.KeyboardModifier.ShiftModifier
        control = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        if self.proofread.seed_colour is not None and not shift:
            self.proofread.seed_stroke(self.axis, self.index, point, point)
        elif tool == "navigate":  # select the object clicked (Ctrl: add to the selection)
            if not control:
                self.state.set_cursor(self._voxel3d(*point))
            self.proofread.select_at(self._voxel3d(*point), add=control)
        elif shift:
            self.state.set_cursor(self._voxel3d(*point))
        elif tool == "fill":
            self.labels.fill(
                self.axis, self.index, (int(point[0]), int(point[1])), self._label_plane()
            )
        else:
            self.labels.stroke(self.axis, self.index, [point, point])

    def canvas_drag(self, start: QPointF, pos: QPointF, first: bool, last: bool) -> bool:
        point = self.canvas.to_plane(pos, self.state.voxel_size)
        if self.proofread.seed_colour is not None:  # painting the seeds of a split
            begin = self.canvas.to_plane(start, self.state.voxel_size) if first else None
            self._drag_last = begin or self._drag_last or point
            self.proofread.seed_stroke(self.axis, self.index, self._drag_last, point)
            self._drag_last = None if last else point
            return True
        if self.state.paint.tool not in ("brush", "eraser"):
            return False
        if first:
            self._drag_last = self.canvas.to_plane(start, self.state.voxel_size)
            self.labels.begin_stroke()
        if self._drag_last is not None:
            self.labels.paint(self.axis, self.index, self._drag_last, point)
        self._drag_last = point
        if last:
            self._drag_last = None
            self.labels.end_stroke()
        self.canvas_hover(pos)
        return True

    def canvas_moved(self) -> None:
        """The user panned or zoomed this view: move the shared camera."""
        x, y, zoom = self.canvas.camera()
        centre = list(self.state.centre)
        centre[self.col_axis], centre[self.row_axis] = x, y
        self.state.set_camera(tuple(centre), zoom)  # type: ignore[arg-type]

    def canvas_fit(self) -> None:
        self.fit_requested()

    def canvas_wheel(self, steps: int) -> None:
        self.state.step_slice(self.axis, steps)

    def canvas_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key in STEP_KEYS:
            self.state.step_slice(self.axis, STEP_KEYS[key] * (10 if shift else 1))
        elif key == Qt.Key.Key_Home:
            self.state.set_slice(self.axis, 0)
        elif key == Qt.Key.Key_End:
            self.state.set_slice(self.axis, self.state.shape[self.axis] - 1)
        else:
            return False
        return True

    def canvas_hover(self, pos: QPointF | None) -> None:
        self._hover_pos = pos
        point = self._voxel(pos) if pos is not None else None
        self._update_brush()
        if point is None:
            if self.state.hover is not None:
                self.state.set_hover(None)
            return
        row, col = int(point[0]), int(point[1])
        values = {}
        for slot, (array, factor) in self._data.items():
            r, c = row // factor[self.row_axis], col // factor[self.col_axis]
            if r < array.shape[0] and c < array.shape[1]:
                values[slot] = array[r, c].item()
        self.state.set_hover(Hover(self._voxel3d(row, col), values))

    def _update_brush(self) -> None:
        tool = self.state.paint.tool
        if self._hover_pos is None or tool not in ("brush", "eraser"):
            self.canvas.show_brush(None, (0, 0))
            return
        rows, cols = self.labels.radii(self.axis)
        voxel = self.state.voxel_size
        self.canvas.show_brush(
            self.canvas.to_view(self._hover_pos),
            (rows * voxel[self.row_axis], cols * voxel[self.col_axis]),
        )

    def _label_plane(self) -> np.ndarray | None:
        """The label plane as displayed at level 0 (for flood fill), if it is drawn."""
        key = self._wanted.get("labels")
        if key is None or key.level != 0 or self._shown.get("labels") != key:
            return None
        return self._data["labels"][0]

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.position)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.canvas.widget, 1)
        layout.addWidget(self.slider)
