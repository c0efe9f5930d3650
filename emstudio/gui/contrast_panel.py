"""Contrast of the image: histogram with a min/max range, auto (percentiles), gamma, invert.

The histogram is computed from the coarsest resolution level (a few MB even for a large stack)
in a plain Python thread; "Auto" puts min and max at its 0.5 and 99.5 percentiles.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.volume.store import Volume
from emstudio.gui.layers import LayerSet
from emstudio.gui.viewstate import CONTRAST, VOLUME, ViewState

log = logging.getLogger(__name__)
AUTO_PERCENTILES = (0.5, 99.5)
BINS = 256


def histogram(volume: Volume) -> tuple[np.ndarray, np.ndarray]:
    """(counts, bin edges) of the coarsest level's values."""
    level = volume.levels - 1
    data = volume.read(0, volume.level_shape(level)[0], level)
    if data.dtype == np.uint8:
        return np.bincount(data.ravel(), minlength=256).astype(float), np.arange(257.0)
    low, high = float(data.min()), float(data.max())
    counts, edges = np.histogram(data, bins=BINS, range=(low, max(high, low + 1)))
    return counts.astype(float), edges


def percentile_range(counts: np.ndarray, edges: np.ndarray) -> tuple[float, float]:
    """The values at the AUTO_PERCENTILES of a histogram."""
    cdf = np.cumsum(counts)
    if cdf[-1] <= 0:
        return float(edges[0]), float(edges[-1])
    low = np.searchsorted(cdf, cdf[-1] * AUTO_PERCENTILES[0] / 100)
    high = np.searchsorted(cdf, cdf[-1] * AUTO_PERCENTILES[1] / 100)
    return float(edges[low]), float(edges[min(high + 1, len(edges) - 1)])


class ContrastPanel(QWidget):
    """Edits ``ViewState.contrast``; the slice views follow."""

    _computed = Signal(object)  # (image name, counts, edges), from the histogram thread
    read_failed = Signal(str, str)  # image name, what went wrong reading it

    def __init__(self, state: ViewState, layers: LayerSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.layers = layers
        self.counts: np.ndarray | None = None
        self.edges: np.ndarray | None = None
        self._thread: threading.Thread | None = None
        # a bare view box and axis (a PlotWidget would leave parentless menus behind)
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setBackground(None)
        self.plot.setFixedHeight(110)
        self.box = pg.ViewBox(enableMenu=False, enableMouse=False)
        axis = pg.AxisItem("bottom")
        axis.linkToView(self.box)
        self.plot.addItem(self.box, row=0, col=0)
        self.plot.addItem(axis, row=1, col=0)
        self.curve = pg.PlotCurveItem(
            [0.0, 1.0], [0.0], stepMode="center", fillLevel=0, brush=(120, 120, 120, 160)
        )
        self.box.addItem(self.curve)
        self.region = pg.LinearRegionItem(values=(0, 255), brush=(90, 170, 255, 40))
        self.region.sigRegionChangeFinished.connect(self._region_moved)
        self.box.addItem(self.region)
        self.low = self._spin(self._bounds_edited)
        self.high = self._spin(self._bounds_edited)
        self.low.setToolTip("Grey value shown as black (darker values too)")
        self.high.setToolTip("Grey value shown as white (brighter values too)")
        self.gamma = QDoubleSpinBox()
        self.gamma.setRange(0.1, 5.0)
        self.gamma.setSingleStep(0.1)
        self.gamma.setValue(1.0)
        self.gamma.setToolTip("Below 1 brightens dark structures, above 1 darkens them")
        self.gamma.valueChanged.connect(lambda value: state.set_contrast(gamma=value))
        self.invert = QCheckBox("Invert")
        self.invert.setToolTip("Swap black and white (membranes bright instead of dark)")
        self.invert.toggled.connect(lambda on: state.set_contrast(invert=on))
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip(
            f"Stretch between the {AUTO_PERCENTILES[0]} and {AUTO_PERCENTILES[1]} percentiles"
        )
        self.auto_button.clicked.connect(self.auto)
        self._build()
        self._computed.connect(self._on_histogram)
        state.subscribe(self._on_state)
        self._show_contrast()

    def wait(self) -> None:
        """Let a running histogram thread finish (closing the project)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def auto(self) -> None:
        if self.counts is not None and self.edges is not None:
            low, high = percentile_range(self.counts, self.edges)
            self.state.set_contrast(low=low, high=high)

    # -- state ----------------------------------------------------------------------------------
    def _on_state(self, topic: str) -> None:
        if topic == VOLUME:
            self._start_histogram()
        elif topic == CONTRAST:
            self._show_contrast()

    def _start_histogram(self) -> None:
        self.counts = self.edges = None
        self.curve.setData([0, 1], [0])
        image = self.layers.image
        if image is None:
            return
        dtype = image.volume.dtype
        top = float(np.iinfo(dtype).max) if dtype.kind in "ui" else 1.0
        for spin in (self.low, self.high):
            spin.setRange(0.0 if dtype.kind == "u" else -1e9, top)
        self.state.set_contrast(low=0.0, high=top)
        name, volume = image.name, image.volume

        def compute() -> None:
            try:
                counts, edges = histogram(volume)
            except Exception as exc:  # a damaged store: said by the page, not a thread's trace
                log.warning("cannot read %s for its histogram: %r", name, exc)
                self.read_failed.emit(name, str(exc) or type(exc).__name__)
                return
            self._computed.emit((name, counts, edges))

        self.wait()
        self._thread = threading.Thread(target=compute, name="histogram", daemon=True)
        self._thread.start()

    def _on_histogram(self, result: tuple[str, np.ndarray, np.ndarray]) -> None:
        name, counts, edges = result
        if self.layers.image is None or self.layers.image.name != name:
            return
        self.counts, self.edges = counts, edges
        self.curve.setData(edges, np.log1p(counts))
        self.box.setXRange(float(edges[0]), float(edges[-1]), padding=0.01)
        self.box.setYRange(0, float(np.log1p(counts).max()) or 1.0, padding=0.05)
        self.auto()

    def _show_contrast(self) -> None:
        contrast = self.state.contrast
        for widget, value in ((self.low, contrast.low), (self.high, contrast.high)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.region.blockSignals(True)
        self.region.setRegion((contrast.low, contrast.high))
        self.region.blockSignals(False)
        self.gamma.blockSignals(True)
        self.gamma.setValue(contrast.gamma)
        self.gamma.blockSignals(False)
        self.invert.blockSignals(True)
        self.invert.setChecked(contrast.invert)
        self.invert.blockSignals(False)

    def _region_moved(self) -> None:
        low, high = self.region.getRegion()
        self.state.set_contrast(low=float(low), high=float(high))

    def _bounds_edited(self) -> None:
        self.state.set_contrast(low=self.low.value(), high=self.high.value())

    # -- layout ---------------------------------------------------------------------------------
    def _spin(self, slot: object) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setDecimals(0)
        spin.setRange(0, 255)
        spin.editingFinished.connect(slot)
        return spin

    def _build(self) -> None:
        bounds = QHBoxLayout()
        bounds.addWidget(self.low)
        bounds.addWidget(self.high)
        bounds.addWidget(self.auto_button)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Min / max", bounds)
        gamma_row = QHBoxLayout()
        gamma_row.addWidget(self.gamma)
        gamma_row.addWidget(self.invert)
        gamma_row.addStretch(1)
        form.addRow("Gamma", gamma_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addLayout(form)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)
