"""Live plot of a job's metrics (training loss, validation Dice...), one curve per metric."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


class MetricPlot(pg.PlotWidget):
    """Curves keyed by metric name; ``add(name, step, value)`` appends a point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setLabel("bottom", "step")
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
                pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4, name=name
            )
        self._curves[name].setData(xs, ys)

    def names(self) -> list[str]:
        return list(self._curves)
