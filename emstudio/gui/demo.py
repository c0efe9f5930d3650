"""Build the demo project in a child process (``emstudio demo PATH``) behind a progress dialog.

The child creates the project atomically, so cancelling (which kills it) never leaves a
half-made demo where the GUI would open it.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from emstudio.core.project.catalog import CATALOG_FILE
from emstudio.jobs import launch

PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s?%")
TEXT_BAR = re.compile(r"^\[[#=>.\- ]*\]\s*")  # "[#####.....]" drawn by the CLI; we have a real bar
MAX_LABEL_CHARS = 90
TAIL_LINES = 8


class DemoBuilder(QObject):
    """Runs the child once. Emits exactly one of ``succeeded``, ``failed`` or ``cancelled``."""

    succeeded = Signal(str)  # the demo project's folder
    failed = Signal(str)  # a message for a person
    cancelled = Signal()

    def __init__(self, path: Path, parent: QWidget) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.command = launch.emstudio_command("demo", str(self.path))
        self.last_line = ""
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._buffer = ""
        self._state = "idle"  # idle -> running -> succeeded | failed | cancelled
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONIOENCODING", "utf-8")
        self.process.setProcessEnvironment(env)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        self.dialog = self._make_dialog(parent)

    @property
    def running(self) -> bool:
        return self._state == "running"

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._state = "running"
        self.dialog.show()
        self.process.start(self.command[0], self.command[1:])

    def cancel(self) -> None:
        """Kill the child (if still running) and wait for it to be gone."""
        if self._state != "running":
            return
        self._state = "cancelled"
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()
            self.process.waitForFinished(5000)
        self._finish()
        self.cancelled.emit()

    # -- child output ---------------------------------------------------------------------------
    def _read_output(self) -> None:
        data = bytes(self.process.readAllStandardOutput().data())
        self._buffer += data.decode("utf-8", errors="replace")
        *lines, self._buffer = re.split(r"[\r\n]", self._buffer)
        for line in lines:
            self._show_line(line)

    def _show_line(self, line: str) -> None:
        line = TEXT_BAR.sub("", line.strip())
        if not line:
            return
        self.last_line = line
        self._tail.append(line)
        shown = line if len(line) <= MAX_LABEL_CHARS else line[: MAX_LABEL_CHARS - 1] + "…"
        self.dialog.setLabelText(shown)
        match = PERCENT.search(line)
        if match:
            self.dialog.setRange(0, 100)
            self.dialog.setValue(min(100, int(float(match.group(1)))))

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        if self._state != "running":
            return
        self._read_output()
        self._show_line(self._buffer)
        self._buffer = ""
        crashed = exit_status != QProcess.ExitStatus.NormalExit
        if not crashed and exit_code == 0 and (self.path / CATALOG_FILE).is_file():
            self._state = "succeeded"
            self._finish()
            self.succeeded.emit(str(self.path))
            return
        if crashed:
            reason = "the demo process stopped unexpectedly (crashed or was killed)"
        elif exit_code == 0:
            reason = f"the demo process finished but did not create {self.path}"
        else:
            reason = f"the demo process failed (exit code {exit_code})"
        self._fail(reason)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if self._state == "running" and error == QProcess.ProcessError.FailedToStart:
            self._fail(f"could not start {self.command[0]} ({self.process.errorString()})")

    def _fail(self, reason: str) -> None:
        self._state = "failed"
        self._finish()
        message = f"The demo project could not be created: {reason}."
        if self._tail:
            message += "\n\nLast output:\n" + "\n".join(self._tail)
        self.failed.emit(message)

    # -- dialog ---------------------------------------------------------------------------------
    def _make_dialog(self, parent: QWidget) -> QProgressDialog:
        dialog = QProgressDialog("Starting…", "Cancel", 0, 0, parent)
        dialog.setWindowTitle("Creating the demo project")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumWidth(520)
        dialog.canceled.connect(self.cancel)
        return dialog

    def _finish(self) -> None:
        self.dialog.canceled.disconnect(self.cancel)
        self.dialog.hide()
        self.dialog.deleteLater()
