"""Measurements as a sortable table beside a histogram of any column (one per structure,
in colours of their own, where the table holds several).

Rows are the dictionaries ``emstudio.core.measure.table`` makes (or reads back from CSV).
Selecting a row emits ``object_selected(id)``; ``select_object(id)`` selects a row from outside
(the viewers, the 3D view) without emitting, so the link works both ways without loops.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.measure.csv_table import format_value
from emstudio.gui.colors import class_colour

SORT_ROLE = Qt.ItemDataRole.UserRole
STRUCTURE = "structure"  # the column naming a row's segmentation, when several are shown
_Index = QModelIndex | QPersistentModelIndex

ROWS_FOR_WIDTHS = 100  # column widths from this many rows: thousands of objects stay quick


def as_value(text: object) -> object:
    """CSV text to a number where it is one ('' -> NaN, 'true'/'false' -> bool)."""
    if not isinstance(text, str):
        return text
    if text in ("true", "false"):
        return text == "true"
    if text == "":
        return math.nan
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text else number


def display(value: object) -> str:
    return format_value(value, digits=4, yes="yes", no="no")


class MeasureModel(QAbstractTableModel):
    """Rows of measurements; the sort role gives numbers so columns sort numerically."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns: list[str] = []
        self.rows: list[dict[str, object]] = []

    def set_rows(self, rows: Sequence[Mapping[str, object]]) -> None:
        self.beginResetModel()
        # structures measured with different options have different columns (intensity, the
        # distance to another segmentation): show them all, missing values empty
        self.columns = list(dict.fromkeys(key for row in rows for key in row))
        self.rows = [{c: as_value(row.get(c, "")) for c in self.columns} for row in rows]
        self.endResetModel()

    def numeric_columns(self) -> list[str]:
        return [
            c
            for c in self.columns
            if c != "id" and self.rows and all(isinstance(r.get(c), int | float) for r in self.rows)
        ]

    def values(self, column: str) -> np.ndarray:
        return np.array([float(r[column]) for r in self.rows], np.float64)

    def values_by_structure(self, column: str) -> dict[str, np.ndarray]:
        """The column's finite values of each structure (rows naming none: under "")."""
        values = self.values(column)
        names = [str(r.get(STRUCTURE, "")) for r in self.rows]
        return {
            name: values[
                [n == name and math.isfinite(v) for n, v in zip(names, values, strict=True)]
            ]
            for name in dict.fromkeys(names)
        }

    def row_of(self, object_id: int, structure: str | None = None) -> int | None:
        """The row of an object (of ``structure``, when rows name their structure)."""
        return next(
            (
                i
                for i, r in enumerate(self.rows)
                if r.get("id") == object_id and (structure is None or r.get(STRUCTURE) == structure)
            ),
            None,
        )

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        value = self.rows[index.row()][self.columns[index.column()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return display(value)
        if role == SORT_ROLE:
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, float) and math.isnan(value):
                return -math.inf
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int | float):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None


class MeasureTable(QWidget):
    """The table (sortable by any column) beside a histogram of the chosen column."""

    object_selected = Signal(int)
    row_selected = Signal(object)  # the selected row (dict), by the user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = MeasureModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setResizeContentsPrecision(ROWS_FOR_WIDTHS)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.column_box = QComboBox()
        self.column_box.setToolTip("Column shown in the histogram")
        self.column_box.currentTextChanged.connect(self.show_histogram)
        # a bare view box with axes (a PlotWidget would leave parentless menus behind)
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setMinimumHeight(120)
        self.box = pg.ViewBox(enableMenu=False)
        self.left_axis = pg.AxisItem("left", text="objects")
        self.bottom_axis = pg.AxisItem("bottom")
        for axis in (self.left_axis, self.bottom_axis):
            axis.linkToView(self.box)
            axis.enableAutoSIPrefix(False)  # columns carry their units: 0.8, not 800 (x0.001)
        self.plot.addItem(self.left_axis, row=0, col=0)
        self.plot.addItem(self.box, row=0, col=1)
        self.plot.addItem(self.bottom_axis, row=1, col=1)
        self.curves: dict[str, pg.PlotCurveItem] = {}  # each structure's histogram
        self.legend = pg.LegendItem(offset=(-10, 10))
        self.legend.setParentItem(self.box)
        self._emitting = True
        lower = QWidget()
        box = QVBoxLayout(lower)
        box.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Histogram of"))
        row.addWidget(self.column_box, 1)
        box.addLayout(row)
        box.addWidget(self.plot, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)  # a wide, low dock: table, histogram
        splitter.addWidget(self.view)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def set_rows(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Show measurement rows (dicts from ``measure_objects`` or ``read_csv``)."""
        self.model.set_rows(rows)
        current = self.column_box.currentText()
        columns = self.model.numeric_columns()
        self.column_box.blockSignals(True)
        self.column_box.clear()
        self.column_box.addItems(columns)
        self.column_box.blockSignals(False)
        preferred = current if current in columns else "volume_um3"
        if preferred in columns:
            self.column_box.setCurrentText(preferred)
        self.show_histogram(self.column_box.currentText())
        self.view.resizeColumnsToContents()  # from the first rows: see ROWS_FOR_WIDTHS

    def show_histogram(self, column: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Draw the histogram of ``column``, each structure's on the same bins; returns the
        counts of all together and the bins' edges, None when there is no value."""
        for curve in self.curves.values():
            self.box.removeItem(curve)
        self.curves.clear()
        self.legend.clear()
        numeric = column in self.model.numeric_columns()
        groups = self.model.values_by_structure(column) if numeric else {}
        pooled = np.concatenate([np.empty(0), *groups.values()])
        if not len(pooled):
            return None
        edges = np.histogram_bin_edges(pooled, bins=min(30, max(5, len(pooled) // 3)))
        for k, (name, values) in enumerate(v for v in groups.items() if len(v[1])):
            colour = class_colour(k + 1) if len(groups) > 1 else (0, 150, 220)
            curve = pg.PlotCurveItem(
                edges,
                np.histogram(values, edges)[0],
                stepMode="center",
                fillLevel=0,
                pen=pg.mkPen(colour, width=1.5),
                brush=(*colour, 110),
            )
            self.box.addItem(curve)
            self.curves[name] = curve
            if len(groups) > 1:
                self.legend.addItem(curve, name)
        self.bottom_axis.setLabel(column)
        self.box.autoRange()
        return np.histogram(pooled, edges)[0], edges

    def selected_row(self) -> dict[str, object] | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.rows[self.proxy.mapToSource(rows[0]).row()]

    def selected_object(self) -> int | None:
        row = self.selected_row()
        return None if row is None else int(row["id"])

    def shown_rows(self) -> list[dict[str, object]]:
        """The rows in the order shown (sorted as the user sorted them)."""
        return [
            self.model.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()]
            for i in range(self.proxy.rowCount())
        ]

    def select_object(self, object_id: int | None, structure: str | None = None) -> None:
        """Select (and scroll to) an object's row (of ``structure``, when rows name theirs),
        without emitting ``object_selected`` / ``row_selected``."""
        self._emitting = False
        try:
            selection = self.view.selectionModel()
            row = self.model.row_of(object_id, structure) if object_id is not None else None
            if row is None:
                selection.clearSelection()
                return
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            flags = (
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows
            )
            selection.select(index, flags)
            self.view.scrollTo(index)
        finally:
            self._emitting = True

    def _selection_changed(self, *_: object) -> None:
        row = self.selected_row()
        if self._emitting and row is not None:
            self.object_selected.emit(int(row["id"]))
            self.row_selected.emit(row)
