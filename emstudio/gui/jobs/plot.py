"""Live plot of a job's metrics (training loss, validation Dice...), one curve per metric
(a training's, per epoch)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
TITLES = {  # the names jobs report, as the legend says them
    "train_loss": "training loss",
    "val_dice": "validation Dice (mean)",
    "val_iou": "validation IoU (mean)",
}
CLASS_DICE_PREFIX = "val_dice_"


def metric_title(name: str) -> str:
    """The legend's words for a metric: 'val_dice_nuclear_envelope' -> 'Dice: nuclear
    envelope'."""
    if name in TITLES:
        return TITLES[name]
    if name.startswith(CLASS_DICE_PREFIX):
        return "Dice: " + name.removeprefix(CLASS_DICE_PREFIX).replace("_", " ")
    return name.replace("_", " ")


class MetricPlot(pg.PlotWidget):
    """Curves keyed by metric name; ``add(name, step, value)`` appends a point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setLabel("bottom", "epoch")
        self.getAxis("bottom").setTickSpacing(levels=[(5, 0), (1, 0)])  # whole epochs
        self.showGrid(x=True, y=True, alpha=0.3)
        self.addLegend(
            offset=(-10, 10),
            brush=pg.mkBrush(255, 255, 255, 220),
            pen=pg.mkPen("#999999"),
            labelTextColor="#202020",
        )
        self._points: dict[str, tuple[list[float], list[float]]] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}

    def clear_metrics(self) -> None:
        for curve in self._curves.values():
            self.removeItem(curve)
        self._curves.clear()
        self._points.clear()
        legend = self.getPlotItem().legend
        if legend is not None:
            legend.clear()

    def add(self, name: str, step: float, value: float) -> None:
        xs, ys = self._points.setdefault(name, ([], []))
        xs.append(float(step))
        ys.append(float(value))
        if name not in self._curves:
            colour = COLOURS[len(self._curves) % len(COLOURS)]
            self._curves[name] = self.plot(
                pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4, name=metric_title(name)
            )
        self._curves[name].setData(xs, ys)

    def names(self) -> list[str]:
        return list(self._curves)
