"""The open project's job machinery in the main window: the Jobs dock, the Run menu whose
dialogs (train, predict, segment, mesh, measure, crowd import) make jobs, a refresh of the
workspace when a job has added something to the project, the crowd dock (which follows crowd
jobs) and the result docks (3D view, measurements)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from emstudio.core.project import JobRecord, Project
from emstudio.gui.crowd.workspace import CrowdWorkspace
from emstudio.gui.jobs.manager import JobManager
from emstudio.gui.jobs.panel import JobPanel
from emstudio.gui.results.workspace import ResultsWorkspace
from emstudio.jobs.spec import JobSpec

SHOWN_WHEN_DONE = ("predict", "segment")  # their new volumes go into the views at once

if TYPE_CHECKING:
    from emstudio.gui.main_window import MainWindow


class Workbench(QObject):
    """Made when a project opens; ``close()`` (asking about running jobs) when it closes."""

    def __init__(self, window: MainWindow, project: Project) -> None:
        super().__init__(window)
        self.window = window
        self.project = project
        self.manager = JobManager(project, parent=self)
        self.panel = JobPanel(self.manager)
        self.dock = window.add_dock(self.panel, "Jobs", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.run_menu = window.menu("&Run")
        self.run_menu.clear()
        self.run_menu.addAction("Train a model…", self.train)
        self.run_menu.addAction("Predict with a model…", self.predict)
        self.results = ResultsWorkspace(window, project, self.manager, self.dock)
        self.results.add_run_actions(self.run_menu, self._run_dialog)
        self.run_menu.addSeparator()
        self.run_menu.addAction("Import crowd tracings (Zooniverse)…", self.crowd_import)
        self.manager.job_status.connect(self._on_status)
        self.crowd = CrowdWorkspace(window, project, self.manager, self.submit)
        self.panel.open_result.connect(self._open_result)
        window.project_page.workbench = self  # import and export submit their jobs here

    def submit(self, spec: JobSpec) -> None:
        self.manager.submit(spec)
        self.dock.show()
        self.dock.raise_()

    def train(self) -> None:
        from emstudio.gui.dialogs.train_dialog import TrainDialog

        state = self.window.view_state
        self._run_dialog(
            TrainDialog(self.project, self.window, state.image, state.overlays["labels"].volume)
        )

    def predict(self) -> None:
        from emstudio.gui.dialogs.predict_dialog import PredictDialog

        self._run_dialog(PredictDialog(self.project, self.window, self.window.view_state.image))

    def crowd_import(self) -> None:
        from emstudio.gui.crowd.import_dialog import CrowdImportDialog

        catalog = self.project.catalog
        labels = [v.name for v in catalog.volumes("labels")]
        self._run_dialog(
            CrowdImportDialog(
                self.project.path,
                catalog.volumes("image"),
                labels,
                self.window,
                taken=[v.name for v in catalog.volumes()],
            )
        )

    def _run_dialog(self, dialog: QDialog) -> None:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.submit(dialog.spec())
        dialog.deleteLater()

    def _on_status(self, job_id: str, status: str, message: str) -> None:
        if status == "done":
            self.window.project_page.refresh()
            job = self.project.catalog.job(job_id)
            self._show_new_volume(job)
            model = (job.outputs or {}).get("model") if job.kind == "model_import" else None
            said = f": model {model!r} is in the project" if model else ""
            self.window.statusBar().showMessage(f"Job {job_id[:8]} finished{said}", 8000)
            self._warn_if_empty(job)
        elif status in ("failed", "interrupted"):
            self.window.statusBar().showMessage(f"Job {job_id[:8]} {status}: {message}", 15000)
            if status == "failed":  # the dialog that started it has closed: say it in a box
                kind = self.project.catalog.job(job_id).kind.replace("_", " ")
                self._tell(
                    f"The {kind} job failed",
                    f"{message}\n\nNothing was added to the project; the Jobs panel keeps its log.",
                )

    def _show_new_volume(self, job: JobRecord) -> None:
        """Show what a prediction or segmentation made (as the user guide promises), so the
        next step's dialog offers it; never when that would ask about unsaved edits."""
        if job.kind in SHOWN_WHEN_DONE and not self.window.project_page.proofread.modified():
            self._open_result(job.outputs or {})

    def _warn_if_empty(self, job: JobRecord) -> None:
        """A segmentation without a single object finished, but the user has more to do: say
        so (in a box that does not wait for an answer), and what to change."""
        outputs = job.outputs or {}
        if job.kind != "segment" or outputs.get("objects") != 0:
            return
        self._tell(
            "No objects found",
            f"The segmentation {outputs.get('volume')!r} has no objects: no object passed the "
            "seed thresholds, or every one was smaller than the minimum size. Run Segment "
            "instances again with a smaller minimum size or other thresholds.",
        )

    def _tell(self, title: str, text: str) -> None:
        """A warning in a box that does not wait for an answer."""
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self.window
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _open_result(self, outputs: dict) -> None:
        names = outputs.get("volumes") or [outputs.get("volume")]
        for name in filter(None, names):
            if self.project.catalog.has_volume_name(name):
                self.window.project_page.show_volume(self.project.catalog.volume(name))
                return

    def close(self, parent: QWidget | None) -> bool:
        """Ask about running jobs; False keeps the project open."""
        if not self.manager.confirm_close(parent):
            return False
        self._dispose()
        return True

    def detach(self) -> None:
        """Another project replaces this one: its running jobs go on, unwatched."""
        self.manager.shutdown(keep_running=True)
        self._dispose()

    def _dispose(self) -> None:
        if self.window.project_page.workbench is self:
            self.window.project_page.workbench = None
        self.crowd.close()
        self.results.close()
        self.window.view_menu.removeAction(self.dock.toggleViewAction())
        self.dock.setParent(None)
        self.dock.deleteLater()
        self.run_menu.clear()
