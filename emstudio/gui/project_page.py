"""A minimal project overview: name, folder and the volumes in the catalog.

Placeholder for the project browser and viewers (another issue); keep it small.
"""

from __future__ import annotations

import html

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
    "<p style='font-size: large'><b>This project has no volumes yet.</b></p>"
    "<p>Importing from this window comes with the project browser. Until then, close the "
    "project (File ▸ Close project) so that another program may write to it, and run in a "
    "terminal:</p>"
    '<pre>    emstudio import "{path}" STACK.tif --name raw</pre>'
    "<p>where STACK.tif is a TIFF/OME-TIFF, MRC or HDF5 file, a Zarr store or a folder of "
    "slices. Then open the project again: its volumes are listed here.</p>"
)
EMPTY_TEXT_WIDTH = 760
COLUMN_PADDING = 24  # px added to each fitted column so the table does not look cramped


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
        self.empty_label = QLabel()
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.empty_label.setMaximumWidth(EMPTY_TEXT_WIDTH)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._body = QStackedWidget()
        self._body.addWidget(self.empty_label)
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
        self.empty_label.setText(EMPTY_TEXT.format(path=html.escape(str(project.path))))
        count = len(volumes)
        self.summary_label.setText(f"{count} volume" + ("" if count == 1 else "s"))
        self.summary_label.setVisible(count > 0)
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
