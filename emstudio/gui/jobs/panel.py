"""The job panel (a dock): every job of the project, and the selected one's progress, log,
metrics and actions (Cancel, Re-run, Show spec, Open result)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.progress import describe_duration
from emstudio.core.project import JobRecord
from emstudio.gui.jobs.history import job_events, summarise_inputs
from emstudio.gui.jobs.manager import JobManager
from emstudio.gui.jobs.plot import MetricPlot

COLUMNS = ("Job", "Kind", "Inputs", "Status", "Started", "Duration", "Device")
STATUS_COLOURS = {
    "failed": "#b3261e",
    "interrupted": "#b3261e",
    "cancelled": "#7a7a7a",
    "running": "#1a5fb4",
    "done": "#26734d",
}
LOG_LINES = 2000


class JobPanel(QWidget):
    """Lists the project's jobs; shows and controls the selected one."""

    open_result = Signal(dict)  # the outputs of a finished job (e.g. {"volume": "raw"})

    def __init__(self, manager: JobManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self._jobs: list[JobRecord] = []
        self._selected: str | None = None
        self.table = self._make_table()
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.eta = QLabel("")
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.plot = MetricPlot()
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel_selected)
        self.rerun_button = QPushButton("Re-run", clicked=self.rerun_selected)
        self.spec_button = QPushButton("Show spec", clicked=self.show_spec)
        self.result_button = QPushButton("Open result", clicked=self.open_selected_result)
        self.cancel_button.setToolTip("Stop the selected job (what it has written is removed)")
        self.rerun_button.setToolTip("Run the selected job again with the same settings")
        self.spec_button.setToolTip("Show every setting of the selected job")
        self.result_button.setToolTip("Show what the selected job made in the viewers")
        self._layout()
        manager.jobs_changed.connect(self.refresh)
        manager.job_submitted.connect(self.select)  # show the job just started, not an old one
        manager.job_event.connect(self._on_event)
        manager.job_status.connect(self._on_status)
        self._clock = QTimer(self, interval=1000, timeout=self._update_durations)
        self._clock.start()
        self.refresh()

    # -- building ---------------------------------------------------------------------------
    def _make_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        for column in range(len(COLUMNS)):  # the short columns as wide as their text
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Inputs"), QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(header.fontMetrics().horizontalAdvance("Inputs") + 24)
        table.itemSelectionChanged.connect(self._on_selection)
        return table

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        for button in (self.cancel_button, self.rerun_button, self.spec_button, self.result_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        status = QHBoxLayout()
        status.addWidget(self.progress, 1)
        status.addWidget(self.eta)
        self.details = QSplitter(Qt.Orientation.Horizontal)
        self.details.addWidget(self.log)
        self.details.addWidget(self.plot)
        self.plot.hide()  # until the job shown has metrics (no empty axes)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addLayout(status)
        lower_layout.addWidget(self.details, 1)
        lower_layout.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setStretchFactor(0, 1)  # the job list and the log share the height evenly
        split.setStretchFactor(1, 1)
        self.table.setMinimumHeight(4 * self.table.verticalHeader().defaultSectionSize())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

    # -- filling ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the jobs from the catalog (newest first), keeping the selection."""
        self._jobs = list(reversed(self.manager.project.catalog.jobs()))
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._jobs))
        running = set(self.manager.queue.running)
        for row, job in enumerate(self._jobs):
            if job.id in running:  # the process runs even before it has said so in the catalog
                job.status = "running"
            cells = (
                job.id[:8],
                job.kind.replace("_", " "),  # "model_import" reads "model import"
                summarise_inputs(job.spec),
                job.status,
                _clock_time(job.started_at),
                _duration(job),
                job.device or "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 3 and job.status in STATUS_COLOURS:
                    item.setForeground(Qt.GlobalColor.white)
                    item.setBackground(_colour(STATUS_COLOURS[job.status]))
                if column == 3 and job.message:
                    item.setToolTip(job.message)
                self.table.setItem(row, column, item)
            if job.id == self._selected:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        if self._selected is None and self._jobs:
            self.select(self._jobs[0].id)
        self._update_buttons()

    def select(self, job_id: str) -> None:
        for row, job in enumerate(self._jobs):
            if job.id == job_id:
                self.table.selectRow(row)
                return

    def selected_job(self) -> JobRecord | None:
        return next((j for j in self._jobs if j.id == self._selected), None)

    def _on_selection(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        self._selected = self._jobs[rows.pop()].id if rows else None
        self._show_history()
        self._update_buttons()

    def _show_history(self) -> None:
        self.log.clear()
        self.plot.clear_metrics()
        self.plot.hide()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")  # not the message of the job shown before
        self.eta.setText("")
        job = self.selected_job()
        if job is None:
            return
        for event in job_events(self.manager.project.jobs_dir / job.id):
            self._apply(event)
        if job.status == "done":
            self.progress.setValue(100)
            if not self.log.toPlainText():  # a job that logged nothing: what it gave
                self.log.appendPlainText(f"[done] {outputs_line(job.outputs or {})}")
        if job.message and job.status != "done":
            self.log.appendPlainText(f"[{job.status}] {job.message}")

    def _on_event(self, job_id: str, event: dict) -> None:
        if job_id == self._selected:
            self._apply(event)

    def _on_status(self, job_id: str, status: str, message: str) -> None:
        if job_id == self._selected and status not in ("running", "done") and message:
            self.log.appendPlainText(f"[{status}] {message}")

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "progress":
            total = max(int(event.get("total") or 1), 1)
            self.progress.setValue(int(100 * int(event.get("done") or 0) / total))
            self.progress.setFormat(f"%p%  {event.get('message', '')}")
            eta = event.get("eta")
            self.eta.setText(f"{describe_duration(eta)} left" if eta else "")
        elif kind == "metric":
            self.plot.add(str(event["name"]), event.get("step", 0), event.get("value", 0.0))
            self._reveal_plot()
        elif kind in ("log", "error", "cancelled"):
            self.log.appendPlainText(str(event.get("message", "")))
        elif kind == "done":
            self.progress.setValue(100)
            self.eta.setText("")

    def _reveal_plot(self) -> None:
        """Show the plot beside the log, each half of the width (a hidden splitter widget
        comes back at its smallest)."""
        if self.plot.isHidden():
            self.plot.show()
            total = sum(self.details.sizes()) or self.details.width()
            self.details.setSizes([total // 2, total - total // 2])

    def _update_durations(self) -> None:
        for row, job in enumerate(self._jobs):
            if job.status != "running" or self.table.item(row, 5) is None:
                continue
            if not job.started_at:  # its process records the start a moment after launch
                job.started_at = self.manager.project.catalog.job(job.id).started_at
                self.table.item(row, 4).setText(_clock_time(job.started_at))
            self.table.item(row, 5).setText(_duration(job))

    def _update_buttons(self) -> None:
        job = self.selected_job()
        active = job is not None and job.id in self.manager.active()
        self.cancel_button.setEnabled(active)
        self.rerun_button.setEnabled(job is not None and not active)
        self.spec_button.setEnabled(job is not None)
        self.result_button.setEnabled(job is not None and job.status == "done")

    # -- actions ----------------------------------------------------------------------------
    def cancel_selected(self) -> None:
        if self._selected:
            self.manager.cancel(self._selected)

    def rerun_selected(self) -> None:
        if self._selected:
            self._selected = self.manager.rerun(self._selected)
            self.refresh()

    def show_spec(self) -> None:
        job = self.selected_job()
        if job is not None:
            QMessageBox.information(self, f"Job {job.id[:8]}", json.dumps(job.spec, indent=2))

    def open_selected_result(self) -> None:
        job = self.selected_job()
        if job is not None and job.status == "done":
            self.open_result.emit(self.manager.outputs(job.id))


def _clock_time(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")


def _duration(job: JobRecord) -> str:
    if not job.started_at:
        return ""
    start = datetime.fromisoformat(job.started_at)
    end = datetime.fromisoformat(job.finished_at) if job.finished_at else datetime.now(UTC)
    return _seconds((end - start).total_seconds())


def _seconds(value: float) -> str:
    value = max(0, round(value))
    hours, rest = divmod(value, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _colour(hex_code: str) -> QColor:
    return QColor(hex_code)


def outputs_line(outputs: dict) -> str:
    """A finished job's plain outputs in one line ("objects: 32; csv: /path/m.csv")."""
    plain = [f"{k}: {v}" for k, v in outputs.items() if isinstance(v, str | int | float)]
    return "; ".join(plain) or "finished"
