"""Models to and from portable ``.emmodel`` files in the app (Project ▸ Import model…, a
model's Export… in the project panel), to move them between projects and workstations.

Each is a job of the project's queue (``jobRequested``): reading and checking a model's weights
takes longer than the window may wait, and the Jobs dock shows how it went.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from emstudio.core.ml.card import MODEL_SUFFIX
from emstudio.core.project import Project
from emstudio.jobs.spec import JobSpec

MODEL_DIR_KEY = "paths/last_model_dir"
MODEL_FILTER = f"emstudio models (*{MODEL_SUFFIX})"


class ModelActions(QObject):
    """Asks for the file and hands the job to the queue."""

    message = Signal(str)
    jobRequested = Signal(object)  # a JobSpec for the project's job queue

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.project: Project | None = None

    def export(self, name: str) -> None:
        """Ask where to write model ``name``, then export it there (never over a file)."""
        if self.project is None:
            return
        chosen, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
            f"Export model {name}",
            str(_last_folder() / f"{name}{MODEL_SUFFIX}"),
            MODEL_FILTER,
        )
        if not chosen:
            return
        target = Path(chosen)
        if target.suffix != MODEL_SUFFIX:
            target = target.with_name(target.name + MODEL_SUFFIX)
        QSettings().setValue(MODEL_DIR_KEY, str(target.parent))
        if target.exists():
            refusal = f"{target} already exists: choose another name."
            QMessageBox.critical(self.parent_widget, "Cannot export", refusal)
            return
        self._submit("model_export", {"model": name}, {"out": str(target)})
        self.message.emit(f"Exporting model {name!r} to {target} (see the Jobs dock)")

    def import_file(self) -> None:
        """Ask for a model file, then add its model to the project (under its own name, with
        a number added where that name is taken)."""
        if self.project is None:
            return
        chosen, _ = QFileDialog.getOpenFileName(
            self.parent_widget, "Import a model", str(_last_folder()), MODEL_FILTER
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


def _last_folder() -> Path:
    """Where a model file was last exported or imported (the home folder at first)."""
    return Path(str(QSettings().value(MODEL_DIR_KEY, str(Path.home()))))
