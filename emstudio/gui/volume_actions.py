"""What the project panel's context menu does: rename, delete (confirmed) volumes, mesh sets
and models, export, provenance; and models to and from ``.emmodel`` files (a model's Export…,
Project ▸ Import model…), to move them between projects and workstations.

Exports and model imports are jobs of the project's job queue (``jobRequested``): each runs in
its own process and shows its progress in the Jobs dock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.errors import DestinationError, EmstudioError
from emstudio.core.io.export import export_format
from emstudio.core.ml.card import MODEL_SUFFIX
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.manage import (
    delete_mesh_set,
    delete_model,
    delete_volume,
    rename_volume,
)
from emstudio.gui.volume_table import format_shape
from emstudio.jobs.spec import JobSpec

EXPORT_DIR_KEY = "paths/last_export_dir"
EXPORT_FILTERS = "TIFF (*.tif);;OME-Zarr (*.zarr);;HDF5 (*.h5)"
MODEL_DIR_KEY = "paths/last_model_dir"
MODEL_FILTER = f"emstudio models (*{MODEL_SUFFIX})"


class VolumeActions(QObject):
    """Carries out panel requests on the open project; ``changed`` after a catalog change."""

    changed = Signal()
    aboutToDelete = Signal(object)  # VolumeRecord: release it before its files go
    message = Signal(str)
    jobRequested = Signal(object)  # a JobSpec for the project's job queue

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.project: Project | None = None

    def rename(self, record: VolumeRecord) -> None:
        if self.project is None:
            return
        name, ok = QInputDialog.getText(
            self.parent_widget, "Rename", f"New name for {record.name!r}:", text=record.name
        )
        if not ok or name.strip() == record.name:
            return
        try:
            renamed = rename_volume(self.project, record, name)
        except EmstudioError as exc:
            QMessageBox.critical(self.parent_widget, "Cannot rename", str(exc))
            return
        self.message.emit(f"Renamed {record.name!r} to {renamed.name!r}")
        self.changed.emit()

    def delete(self, record: VolumeRecord) -> None:
        if self.project is None:
            return
        dependents = self.project.catalog.volume_dependents(record.id)
        if dependents:  # said before asking, so a "Yes" is never refused
            QMessageBox.critical(
                self.parent_widget,
                "Cannot delete",
                f"{record.name!r} has items that belong to it: {', '.join(dependents)}. "
                "Delete those first (mesh sets too: right-click them in the Meshes group).",
            )
            return
        if not self._confirm(
            "Delete volume",
            f"Delete {record.name!r} ({record.kind}, {format_shape(record.shape)} voxels)?",
        ):
            return
        self.aboutToDelete.emit(record)
        self._remove(record.name, lambda: delete_volume(self.project, record))

    def delete_item(self, what: str, name: str) -> None:
        """Delete a mesh set (``what`` "mesh") or a model ("model"), once confirmed."""
        if self.project is None:
            return
        catalog = self.project.catalog
        title, record, remove = {
            "mesh": ("mesh set", catalog.mesh_set, delete_mesh_set),
            "model": ("model", catalog.model, delete_model),
        }[what]
        if self._confirm(f"Delete {title}", f"Delete the {title} {name!r}?"):
            self._remove(name, lambda: remove(self.project, record(name)))

    def _remove(self, name: str, remove: Callable[[], None]) -> None:
        """Run ``remove``; say how it went; the catalog changed either way (refresh)."""
        try:
            remove()
        except (EmstudioError, OSError) as exc:
            QMessageBox.critical(self.parent_widget, "Cannot delete", str(exc))
        else:
            self.message.emit(f"Deleted {name!r}")
        self.changed.emit()

    def _confirm(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(
            self.parent_widget,
            title,
            f"{question}\n\nIts data is removed from the project folder. This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def export(self, record: VolumeRecord) -> None:
        if self.project is None:
            return
        start = QSettings().value(EXPORT_DIR_KEY, str(Path.home()))
        target, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
            f"Export {record.name}",
            str(Path(str(start)) / f"{record.name}.tif"),
            EXPORT_FILTERS,
        )
        if not target:
            return
        QSettings().setValue(EXPORT_DIR_KEY, str(Path(target).parent))
        try:
            export_format(Path(target))
            if Path(target).exists():
                raise DestinationError(f"{target} already exists: choose another name.")
        except EmstudioError as exc:
            QMessageBox.critical(self.parent_widget, "Cannot export", str(exc))
            return
        self._submit("export", {"volume": record.name}, {"out": target})
        self.message.emit(f"Exporting {record.name!r} to {target} (see the Jobs dock)")

    def export_model(self, name: str) -> None:
        """Ask where to write model ``name``, then export it there (never over a file)."""
        if self.project is None:
            return
        chosen, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
            f"Export model {name}",
            str(_last_model_folder() / f"{name}{MODEL_SUFFIX}"),
            MODEL_FILTER,
        )
        if not chosen:
            return
        target = Path(chosen)
        if target.suffix.lower() != MODEL_SUFFIX:
            target = target.with_name(target.name + MODEL_SUFFIX)
        if target.parent.is_dir():  # the next dialog opens there
            QSettings().setValue(MODEL_DIR_KEY, str(target.parent))
        if target.exists():
            refusal = f"{target} already exists: choose another name."
            QMessageBox.critical(self.parent_widget, "Cannot export", refusal)
            return
        self._submit("model_export", {"model": name}, {"out": str(target)})
        self.message.emit(f"Exporting model {name!r} to {target} (see the Jobs dock)")

    def import_model(self) -> None:
        """Ask for a model file, then add its model to the project (under its own name, with
        a number added where that name is taken)."""
        if self.project is None:
            return
        chosen, _ = QFileDialog.getOpenFileName(
            self.parent_widget, "Import a model", str(_last_model_folder()), MODEL_FILTER
        )
        if not chosen:
            return
        QSettings().setValue(MODEL_DIR_KEY, str(Path(chosen).parent))
        self._submit("model_import", {"file": chosen}, {})
        self.message.emit(f"Importing the model of {chosen} (see the Jobs dock)")

    def _submit(self, kind: str, inputs: dict, params: dict) -> None:
        assert self.project is not None
        spec = JobSpec(kind=kind, project=str(self.project.path), inputs=inputs, params=params)
        self.jobRequested.emit(spec)

    def provenance(self, title: str, details: dict) -> None:
        show_details(self.parent_widget, f"Provenance of {title}", details)


def _last_model_folder() -> Path:
    """Where a model file was last exported or imported (the home folder at first)."""
    return Path(str(QSettings().value(MODEL_DIR_KEY, str(Path.home()))))


def show_details(parent: QWidget, title: str, details: dict) -> None:
    """A read-only, selectable JSON view (provenance, attributes)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    text = QPlainTextEdit(json.dumps(details, indent=2, sort_keys=True, default=str))
    text.setReadOnly(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(buttons)
    dialog.resize(640, 480)
    dialog.exec()
    dialog.deleteLater()
