"""Qt face of the Qt-free ``JobQueue``: a timer drives it, signals report what happened."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from emstudio.core.project import Project
from emstudio.jobs.queue import JobQueue
from emstudio.jobs.spec import JobSpec

TICK_MS = 200


class JobManager(QObject):
    """Runs the project's jobs in their own processes; the GUI thread only watches files."""

    job_event = Signal(str, dict)  # job id, event
    job_status = Signal(str, str, str)  # job id, status, message
    jobs_changed = Signal()
    job_submitted = Signal(str)  # job id of a job just submitted (after jobs_changed)

    def __init__(
        self,
        project: Project,
        parent: QObject | None = None,
        command_for: Callable[[JobSpec], list[str] | None] | None = None,
    ) -> None:
        super().__init__(parent)
        settings = QSettings()
        self.queue = JobQueue(
            project,
            accelerator_slots=int(settings.value("jobs/accelerator_slots", 1)),
            cpu_slots=int(settings.value("jobs/cpu_slots", 2)),
            command_for=command_for,
        )
        self.queue.adopt_running()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()

    @property
    def project(self) -> Project:
        return self.queue.project

    def submit(self, spec: JobSpec) -> str:
        self.queue.submit(spec)
        self.jobs_changed.emit()
        self.job_submitted.emit(spec.id)
        self.tick()
        return spec.id

    def cancel(self, job_id: str) -> None:
        self.queue.cancel(job_id)
        self.jobs_changed.emit()

    def rerun(self, job_id: str) -> str:
        """The same kind, inputs and parameters as a new job."""
        old = self.project.catalog.job(job_id).spec
        spec = JobSpec.from_json({k: v for k, v in old.items() if k != "id"})
        return self.submit(spec)

    def active(self) -> list[str]:
        return [s.id for s in self.queue.queued] + list(self.queue.running)

    def tick(self) -> None:
        changed = False
        for update in self.queue.tick():
            for event in update.events:
                self.job_event.emit(update.job_id, event)
            if update.status:
                self.job_status.emit(update.job_id, update.status, update.message or "")
                changed = True
        if changed:
            self.jobs_changed.emit()

    def confirm_close(self, parent: QWidget | None) -> bool:
        """Ask what to do with running jobs; False when the user keeps the app open."""
        if not self.active():
            self.shutdown(keep_running=False)
            return True
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Jobs are still running")
        box.setText(f"{len(self.active())} job(s) are queued or running.")
        box.setInformativeText(
            "Cancel them, or keep the running ones going in the background? Their results "
            "appear in the project when you open it again. Queued jobs start next time."
        )
        cancel = box.addButton("Cancel jobs", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Don't close", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        clicked = box.clickedButton()
        if clicked not in (cancel, keep):
            return False
        self.shutdown(keep_running=clicked is keep)
        return True

    def shutdown(self, keep_running: bool) -> None:
        """Stop watching; cancel everything first unless ``keep_running``."""
        self._timer.stop()
        if keep_running:
            self.queue.detach()
        else:
            self.queue.cancel_all()

    def outputs(self, job_id: str) -> dict[str, Any]:
        return self.project.catalog.job(job_id).outputs or {}
