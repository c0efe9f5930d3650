"""The Measurements dock's content: which structures (segmentations) to list, the sortable
table with its histogram, and Export CSV."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.measure.csv_table import to_csv
from emstudio.core.project.atomic import atomic_write_text
from emstudio.core.text import counted
from emstudio.gui.look import fill_check_menu, menu_button, muted
from emstudio.gui.measure_table import MeasureTable

EMPTY_TEXT = "No measurements yet: Run ▸ Measure… lists every object of a segmentation here."


class MeasurePanel(QWidget):
    """``structures_changed(names)`` when the user ticks structures on or off."""

    structures_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.structures = menu_button("Structures", "The segmentations whose objects are listed")
        self.summary = muted(QLabel(EMPTY_TEXT))
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the rows as shown (in this order) to a CSV file")
        self.export_button.clicked.connect(self._ask_export)
        self.table = MeasureTable()
        bar = QHBoxLayout()
        bar.addWidget(self.structures)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.set_rows([])

    def set_choices(self, names: list[str], checked: list[str]) -> None:
        """The measured structures, ``checked`` ones listed (no signal)."""
        fill_check_menu(
            self.structures, names, checked, lambda *_: self.structures_changed.emit(self.checked())
        )

    def checked(self) -> list[str]:
        return [a.text() for a in self.structures.menu().actions() if a.isChecked()]

    def set_rows(self, rows: list[dict[str, str]]) -> None:
        self.table.set_rows(rows)
        names = self.checked()
        objects = counted(len(rows), "object")
        self.summary.setText(f"{objects} of {', '.join(names)}" if names else EMPTY_TEXT)
        self.export_button.setEnabled(bool(rows))

    def export_csv(self, path: str | Path) -> Path:
        """Write the rows as shown to ``path`` (atomically)."""
        path = Path(path)
        atomic_write_text(path, to_csv(self.table.shown_rows()))
        return path

    def _ask_export(self) -> None:
        name = "-".join(self.checked()) or "measurements"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export measurements", f"{name}.csv", "CSV (*.csv)"
        )
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            QMessageBox.critical(self, "Export measurements", f"{path}: {exc.strerror or exc}.")
