"""What the project panel's context menu does: rename, delete (confirmed), export, provenance.

Export runs ``emstudio export`` in a child process (it opens the project read-only, so it may
run while this window holds the project), with a progress dialog.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QPlainTextEdit,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.errors import EmstudioError
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.manage import delete_volume, rename_volume
from emstudio.gui.volume_table import format_shape
from emstudio.jobs import launch

EXPORT_DIR_KEY = "paths/last_export_dir"
EXPORT_FILTERS = "TIFF (*.tif);;OME-Zarr (*.zarr);;HDF5 (*.h5)"
PERCENT = re.compile(r"(\d{1,3})%")


class VolumeActions(QObject):
    """Carries out panel requests on the open project; ``changed`` after a catalog change."""

    changed = Signal()
    aboutToDelete = Signal(object)  # VolumeRecord: release it before its files go
    message = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.project: Project | None = None
        self.exports: list[QProcess] = []

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
        answer = QMessageBox.question(
            self.parent_widget,
            "Delete volume",
            f"Delete {record.name!r} ({record.kind}, {format_shape(record.shape)} voxels)?\n\n"
            "Its data is removed from the project folder. This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        dependents = self.project.catalog.volume_dependents(record.id)
        if dependents:
            QMessageBox.critical(
                self.parent_widget,
                "Cannot delete",
                f"{record.name!r} has items that belong to it: {', '.join(dependents)}. "
                "Delete those first.",
            )
            return
        self.aboutToDelete.emit(record)
        try:
            delete_volume(self.project, record)
        except (EmstudioError, OSError) as exc:
            QMessageBox.critical(self.parent_widget, "Cannot delete", str(exc))
        else:
            self.message.emit(f"Deleted {record.name!r}")
        self.changed.emit()

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
        self._run_export(record.name, target)

    def provenance(self, title: str, details: dict) -> None:
        show_details(self.parent_widget, f"Provenance of {title}", details)

    def stop(self) -> None:
        """Kill running exports (the window is closing)."""
        for process in self.exports:
            process.kill()
            process.waitForFinished(5000)
        self.exports.clear()

    def _run_export(self, name: str, target: str) -> None:
        assert self.project is not None
        command = launch.emstudio_command("export", str(self.project.path), name, "--out", target)
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        dialog = QProgressDialog(f"Exporting {name!r}…", "Cancel", 0, 100, self.parent_widget)
        dialog.setWindowTitle("Export")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.canceled.connect(process.kill)
        output: list[str] = []

        def read() -> None:
            text = bytes(process.readAllStandardOutput().data()).decode("utf-8", "replace")
            output.extend(line for line in re.split(r"[\r\n]", text) if line.strip())
            found = PERCENT.findall(text)
            if found:
                dialog.setValue(min(100, int(found[-1])))

        def done(code: int, status: QProcess.ExitStatus) -> None:
            read()
            dialog.hide()
            dialog.deleteLater()
            if process in self.exports:
                self.exports.remove(process)
            process.deleteLater()
            if status == QProcess.ExitStatus.NormalExit and code == 0:
                self.message.emit(f"Exported {name!r} to {target}")
            elif not dialog.wasCanceled():
                QMessageBox.critical(
                    self.parent_widget, "Export failed", "\n".join(output[-8:]) or f"exit {code}"
                )

        process.readyReadStandardOutput.connect(read)
        process.finished.connect(done)
        self.exports.append(process)
        process.start(command[0], command[1:])


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
