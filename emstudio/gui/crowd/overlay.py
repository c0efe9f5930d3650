"""The crowd layer of the slice views: the volunteers' outlines (all shown ones thin, the chosen
one bold) and the agreement map (the share of volunteers whose outline holds a pixel, in the
probability colours), for the slice each view shows.

The items join each view's canvas like its volume overlays (nm scene coordinates, above the
overlay slots, below the crosshair); the consensus itself is the label set, shown in the
labels slot. The layer observes the ViewState and never talks to the views. Agreement maps
are computed in a worker thread (20 volunteers over 1000 x 1000 pixels take ~0.5 s) and drawn
when ready; the outlines are drawn at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QTransform

from emstudio.core.crowd.agreement import SliceAgreement, slice_agreement
from emstudio.core.crowd.mapping import AXES, PLANE_AXES
from emstudio.core.crowd.sidecar import CrowdTracings
from emstudio.core.crowd.tracings import SliceKey
from emstudio.gui import colors
from emstudio.gui.crowd.background import Background
from emstudio.gui.slice_canvas import SliceCanvas
from emstudio.gui.viewstate import CURSOR, VOLUME, ViewState

TRACINGS = ("all", "chosen", "none")  # whose outlines are drawn: every shown volunteer, ...
Z_AGREEMENT, Z_OUTLINES, Z_CHOSEN = 4, 5, 6  # above the overlay slots (1..3), below lines (10)
OUTLINE_PEN = pg.mkPen(QColor(255, 225, 70, 190), width=1)
CHOSEN_PEN = pg.mkPen(QColor(255, 60, 60), width=2.5)
AGREEMENT_LUT = colors.probability_lut(1)  # no volunteer: transparent


@dataclass(frozen=True)
class CrowdLook:
    """What the crowd layer draws. ``shown``: the volunteers counted (outlines, agreement);
    None: all of them."""

    tracings: str = "all"
    chosen: str | None = None
    agreement: bool = False
    opacity: float = 0.6
    shown: frozenset[str] | None = None


@dataclass
class _ViewItems:
    canvas: SliceCanvas
    agreement: pg.ImageItem
    outlines: pg.PlotCurveItem
    chosen: pg.PlotCurveItem
    key: SliceKey | None = None
    drawn: dict[str, Any] = field(default_factory=dict)  # outline counts, agreement shown


class CrowdOverlay(QObject):
    """Draws one crowd label set's tracings on the canvases of ``canvases`` (one per axis)."""

    def __init__(
        self, state: ViewState, canvases: Sequence[SliceCanvas], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.data: CrowdTracings | None = None
        self.look = CrowdLook()
        self._agreements: dict[SliceKey, SliceAgreement | None] = {}  # of look.shown
        self._pending: set[SliceKey] = set()
        self._background = Background(self)
        self.items = [self._add_items(canvas) for canvas in canvases]
        state.subscribe(self._on_state)

    # -- settings -------------------------------------------------------------------------------
    def set_data(self, data: CrowdTracings | None) -> None:
        self.data = data
        self._forget()
        self.redraw()

    def set_look(self, **changes: Any) -> None:
        look = replace(self.look, **changes)
        if look.tracings not in TRACINGS:
            raise ValueError(f"tracings must be one of {TRACINGS}")
        if look.shown != self.look.shown:
            self._forget()
        self.look = look
        self.redraw()

    def agreement(self, key: SliceKey) -> SliceAgreement | None:
        """The shown volunteers' agreement on slice ``key`` if computed (else it will be, and
        the views showing ``key`` redraw)."""
        if self.data is None or key not in self.data.tracings.slices:
            return None
        if key not in self._agreements and key not in self._pending:
            self._pending.add(key)
            data, shown = self.data, self.look.shown
            self._background.submit(
                lambda: slice_agreement(data.tracings, key, shown),
                lambda result: self._computed(data, shown, key, result),
            )
        return self._agreements.get(key)

    def _computed(
        self,
        data: CrowdTracings,
        shown: frozenset[str] | None,
        key: SliceKey,
        result: SliceAgreement | Exception | None,
    ) -> None:
        if data is not self.data or shown != self.look.shown:
            return  # another set or other volunteers by now
        self._pending.discard(key)
        if isinstance(result, Exception):
            raise result
        self._agreements[key] = result
        for axis, view in enumerate(self.items):
            if view.key == key:
                self._draw(axis, view)

    def _forget(self) -> None:
        self._agreements.clear()
        self._pending.clear()

    def detach(self) -> None:
        """Take the items off the canvases and stop observing the state and computing."""
        self.state.unsubscribe(self._on_state)
        self._background.close()
        for view in self.items:
            for item in (view.agreement, view.outlines, view.chosen):
                view.canvas.box.removeItem(item)
        self.items = []

    # -- drawing --------------------------------------------------------------------------------
    def redraw(self) -> None:
        for axis, view in enumerate(self.items):
            self._draw(axis, view)

    def _fits(self) -> bool:
        return self.data is not None and tuple(self.data.tracings.image_shape) == tuple(
            self.state.shape
        )

    def _draw(self, axis: int, view: _ViewItems) -> None:
        view.key = (AXES[axis], self.state.cursor[axis]) if self._fits() else None
        look = self.look
        others: list[np.ndarray] = []
        chosen: list[np.ndarray] = []
        if view.key is not None and self.data is not None:
            for tracing in self.data.tracings.slices.get(view.key, []):
                if tracing.volunteer == look.chosen and look.tracings != "none":
                    chosen.extend(tracing.outlines)
                elif look.tracings == "all" and (
                    look.shown is None or tracing.volunteer in look.shown
                ):
                    others.extend(tracing.outlines)
        self._set_curve(view, view.outlines, others, axis)
        self._set_curve(view, view.chosen, chosen, axis)
        view.drawn["outlines"], view.drawn["chosen"] = len(others), len(chosen)
        shown = self.agreement(view.key) if look.agreement and view.key is not None else None
        view.agreement.setVisible(shown is not None)
        view.drawn["agreement"] = shown
        if shown is not None:
            self._set_agreement(view, shown, axis)

    def _set_curve(
        self, view: _ViewItems, curve: pg.PlotCurveItem, loops: list[np.ndarray], axis: int
    ) -> None:
        if not loops:
            curve.setData([], [])
            curve.setVisible(False)
            return
        assert view.key is not None
        closed = [np.vstack([loop, loop[:1], [[np.nan, np.nan]]]) for loop in loops]
        x, y = self._to_scene(np.vstack(closed), view.key[0], axis)
        curve.setData(x, y, connect="finite")
        curve.setVisible(True)

    def _to_scene(self, points: np.ndarray, key_axis: str, axis: int) -> tuple[np.ndarray, ...]:
        """Plane pixels (row, column; centres at integers) -> scene nm (x, y) of view ``axis``."""
        canvas = self.items[axis].canvas
        voxel = self.state.voxel_size
        along = dict(zip(PLANE_AXES[key_axis], (points[:, 0], points[:, 1]), strict=True))
        x = (along[canvas.col_axis] + 0.5) * voxel[canvas.col_axis]
        y = (along[canvas.row_axis] + 0.5) * voxel[canvas.row_axis]
        return x, y

    def _set_agreement(self, view: _ViewItems, shown: SliceAgreement, axis: int) -> None:
        assert view.key is not None
        canvas, voxel = view.canvas, self.state.voxel_size
        rows_axis = PLANE_AXES[view.key[0]][0]
        r0, _, c0, _ = shown.box
        image = shown.as_uint8()
        origin = {rows_axis: r0, PLANE_AXES[view.key[0]][1]: c0}
        if rows_axis != canvas.row_axis:  # YZ: the plane's rows (z) run across the view
            image = np.ascontiguousarray(image.T)
        sx, sy = voxel[canvas.col_axis], voxel[canvas.row_axis]
        view.agreement.setImage(image, autoLevels=False, levels=(0, 255), lut=AGREEMENT_LUT)
        view.agreement.setTransform(
            QTransform(sx, 0, 0, sy, origin[canvas.col_axis] * sx, origin[canvas.row_axis] * sy)
        )
        view.agreement.setOpacity(self.look.opacity)

    # -- state ----------------------------------------------------------------------------------
    def _on_state(self, topic: str) -> None:
        if topic == VOLUME:
            self.redraw()
        elif topic == CURSOR:
            for axis, view in enumerate(self.items):
                if view.key != ((AXES[axis], self.state.cursor[axis]) if self._fits() else None):
                    self._draw(axis, view)

    def hover_text(self) -> str:
        """'k of n volunteers' under the mouse, on a traced slice through the hovered voxel."""
        hover = self.state.hover
        if hover is None or not self._fits():
            return ""
        for axis, name in enumerate(AXES):
            shown = self.agreement((name, hover.voxel[axis]))
            if shown is not None:
                row, col = (hover.voxel[a] for a in PLANE_AXES[name])
                return (
                    f"{shown.at(row, col)} of {shown.volunteers} volunteers here "
                    f"({name} = {hover.voxel[axis]})"
                )
        return ""

    def _add_items(self, canvas: SliceCanvas) -> _ViewItems:
        agreement = pg.ImageItem(axisOrder="row-major")
        agreement.setZValue(Z_AGREEMENT)
        agreement.setVisible(False)
        outlines = pg.PlotCurveItem(pen=OUTLINE_PEN)
        outlines.setZValue(Z_OUTLINES)
        chosen = pg.PlotCurveItem(pen=CHOSEN_PEN)
        chosen.setZValue(Z_CHOSEN)
        for item in (agreement, outlines, chosen):
            item.setVisible(False)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            canvas.box.addItem(item, ignoreBounds=True)
        return _ViewItems(canvas, agreement, outlines, chosen)
