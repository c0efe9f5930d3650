"""A minimal project overview: name, folder and the volumes in the catalog.

Placeholder for the project browser and viewers (another issue); keep it small.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.project import Project
from emstudio.gui.look import muted, scaled_font
from emstudio.gui.volume_table import VolumeTableModel

EMPTY_TEXT = (
    "This project has no volumes yet.\n\n"
    "Import an image stack (TIFF, MRC, HDF5, Zarr or a folder of slices) to begin; "
    "for now that is done on the command line with  emstudio import."
)
COLUMN_PADDING = 28  # px added to each fitted column so the table does not look cramped


class ProjectPage(QWidget):
    """Shows one open project. ``closeRequested`` asks the main window to close it."""

    closeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_label = QLabel()
        self.name_label.setFont(scaled_font(self, 1.9, bold=True))
        self.path_label = muted(QLabel())
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label = QLabel()
        self.summary_label.setFont(scaled_font(self, 1.15, bold=True))
        self.model = VolumeTableModel(self)
        self.table = self._make_table()
        empty = muted(QLabel(EMPTY_TEXT))
        empty.setWordWrap(True)
        empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._body = QStackedWidget()
        self._body.addWidget(empty)
        self._body.addWidget(self.table)
        close_button = QPushButton("Close project")
        close_button.clicked.connect(self.closeRequested)

        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.name_label)
        titles.addWidget(self.path_label)
        header.addLayout(titles, 1)
        header.addWidget(close_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(16)
        layout.addLayout(header)
        layout.addWidget(self.summary_label)
        layout.addWidget(self._body, 1)

    def show_project(self, project: Project) -> None:
        """Fill the page from the project's catalog (a quick SQLite read)."""
        volumes = project.catalog.volumes()
        self.name_label.setText(project.name)
        self.path_label.setText(str(project.path))
        self.path_label.setToolTip(str(project.path))
        count = len(volumes)
        self.summary_label.setText(f"{count} volume" + ("" if count == 1 else "s"))
        self.model.set_volumes(volumes)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount() - 1):
            header.resizeSection(column, header.sectionSize(column) + COLUMN_PADDING)
        self._body.setCurrentIndex(1 if volumes else 0)

    def clear(self) -> None:
        self.name_label.clear()
        self.path_label.clear()
        self.summary_label.clear()
        self.model.set_volumes([])

    def _make_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        header = table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        return table
