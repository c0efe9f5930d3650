"""Form fields shared by the post-processing dialogs (segment, mesh, measure)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from emstudio.core.destinations import check_new_file, check_new_folder
from emstudio.core.errors import DestinationError
from emstudio.core.mesh.meshset import LABEL_KINDS
from emstudio.core.project import Project, VolumeRecord

NONE = "(none)"


def destination_problem(path: Path, project: Project, folder: bool) -> str | None:
    """Why nothing may be written at ``path`` (a new file, or with ``folder`` a new or empty
    folder), as a dialog says it; None where it may."""
    if not path.is_absolute():  # it would land in whatever folder the app was started from
        return f"Give the whole path of {path} (Browse... picks one)."
    try:
        (check_new_folder if folder else check_new_file)(path, project.path)
    except DestinationError as exc:
        return str(exc)
    return None


def label_volumes(project: Project) -> list[VolumeRecord]:
    """What meshes and measurements are made of: label sets, then segmentations (so the
    newest segmentation comes last, the default of a ``names_combo``)."""
    return [r for kind in reversed(LABEL_KINDS) for r in project.catalog.volumes(kind)]


def names_combo(names: list[str], none: bool = False, tip: str = "") -> QComboBox:
    """A combo of volume names (the newest chosen), with a first "(none)" entry if asked."""
    combo = QComboBox()
    if none:
        combo.addItem(NONE, None)
    for name in names:
        combo.addItem(name, name)
    combo.setCurrentIndex(combo.count() - 1 if names and not none else 0)
    combo.setToolTip(tip)
    return combo


def chosen(combo: QComboBox) -> str | None:
    """The name chosen in a ``names_combo`` (None for "(none)" or an empty combo)."""
    return combo.currentData()


def fraction_spin(value: float, tip: str, low: float = 0.0) -> QDoubleSpinBox:
    """A 0..1 spin box (probabilities, fractions) in steps of 0.05."""
    spin = QDoubleSpinBox()
    spin.setRange(low, 1.0)
    spin.setDecimals(2)
    spin.setSingleStep(0.05)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


class PathField(QWidget):
    """A path typed or chosen with Browse… (a folder, or a file to save)."""

    changed = Signal()

    def __init__(self, caption: str, save_filter: str | None = None) -> None:
        super().__init__()
        self.caption, self.save_filter = caption, save_filter
        self.edit = QLineEdit()
        self.edit.setClearButtonEnabled(True)
        self.edit.textChanged.connect(self.changed)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        self.edit.setToolTip(caption)
        browse.setToolTip(f"Choose it in a file dialog: {caption}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text).expanduser() if text else None

    def browse(self) -> None:
        start = self.edit.text() or str(Path.home())
        if self.save_filter is None:
            path = QFileDialog.getExistingDirectory(self, self.caption, start)
        else:
            path, _ = QFileDialog.getSaveFileName(self, self.caption, start, self.save_filter)
        if path:
            self.edit.setText(path)
