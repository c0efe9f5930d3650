"""Small layout helpers shared by the crowd widgets."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QTableWidget, QWidget


def side_by_side(first: QWidget, second: QWidget) -> QWidget:
    """Two widgets in a row, the first one stretching."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(first, 1)
    layout.addWidget(second)
    return box


def read_only_table(columns: tuple[str, ...]) -> QTableWidget:
    """A table of whole-row selection that the user cannot edit."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.horizontalHeader().setStretchLastSection(True)
    table.setWordWrap(False)  # long volunteer ids are cut short ("..."), rows stay one line
    return table
