"""Run one job spec in a child process (``emstudio job run SPEC``) and report its events.

The child prints one JSON object per line on stdout (progress, log, done, error, ...); this
wrapper parses them as they come and emits Qt signals. The child inherits the project's job
environment, so it may write to the project this GUI holds open.
"""

from __future__ import annotations

import json
import logging
from collections import deque

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from emstudio.core.project import Project
from emstudio.core.project.atomic import atomic_write_text
from emstudio.jobs import launch
from emstudio.jobs.spec import JobSpec

log = logging.getLogger(__name__)
TAIL_LINES = 10
KILL_WAIT_MS = 5000


class JobProcess(QObject):
    """One job in a child process. Emits exactly one of ``finished`` or ``failed``."""

    progress = Signal(int, int, str)  # done, total, message
    log = Signal(str)
    finished = Signal(dict)  # the job's outputs
    failed = Signal(str)  # a message for a person

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spec: JobSpec | None = None
        self._buffer = b""
        self._stderr: deque[str] = deque(maxlen=TAIL_LINES)
        self._outcome: tuple[str, object] | None = None
        self._ended = False
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)

    @property
    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, spec: JobSpec, project: Project) -> None:
        """Write the spec into the project's jobs folder and start the child."""
        self.spec = spec
        job_dir = project.jobs_dir / spec.id
        job_dir.mkdir(parents=True, exist_ok=True)
        spec_path = job_dir / "spec.json"
        atomic_write_text(spec_path, json.dumps(spec.to_json(), indent=2))
        env = QProcessEnvironment.systemEnvironment()
        for name, value in {**project.job_environment(), "PYTHONUNBUFFERED": "1"}.items():
            env.insert(name, value)
        env.insert("PYTHONIOENCODING", "utf-8")
        self.process.setProcessEnvironment(env)
        command = launch.emstudio_command("job", "run", str(spec_path))
        log.info("starting job %s (%s): %s", spec.id, spec.kind, command)
        self.process.start(command[0], command[1:])

    def cancel(self) -> None:
        """Kill the child and wait for it (its partial output is cleaned by the project)."""
        if self.running:
            self._ended = True
            self.process.kill()
            self.process.waitForFinished(KILL_WAIT_MS)

    # -- child output ---------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._event(line.decode("utf-8", errors="replace").strip())

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError().data()).decode("utf-8", errors="replace")
        for line in text.splitlines():
            if line.strip():
                self._stderr.append(line.strip())

    def _event(self, line: str) -> None:
        if not line:
            return
        try:
            event = json.loads(line)
        except ValueError:
            self.log.emit(line)  # not an event: pass it on as text
            return
        if not isinstance(event, dict):
            return
        kind = event.get("event")
        if kind == "progress":
            done, total = int(event.get("done") or 0), int(event.get("total") or 0)
            self.progress.emit(done, total, str(event.get("message") or ""))
        elif kind == "log":
            self.log.emit(str(event.get("message", "")))
        elif kind == "done":
            self._outcome = ("done", event.get("outputs") or {})
        elif kind in ("error", "cancelled"):
            self._outcome = ("error", str(event.get("message") or kind))

    def _on_finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._event(self._buffer.decode("utf-8", errors="replace").strip())
        self._buffer = b""
        self._read_stderr()
        if self._ended:
            return
        self._ended = True
        if self._outcome is not None and self._outcome[0] == "done" and exit_code == 0:
            self.finished.emit(dict(self._outcome[1]))  # type: ignore[arg-type]
            return
        if self._outcome is not None and self._outcome[0] == "error":
            self.failed.emit(str(self._outcome[1]))
            return
        crashed = status != QProcess.ExitStatus.NormalExit
        reason = (
            "stopped unexpectedly (crashed or was killed)"
            if crashed
            else (f"failed (exit code {exit_code})")
        )
        message = f"The {self.spec.kind if self.spec else ''} job {reason}."
        if self._stderr:
            message += "\n\nLast output:\n" + "\n".join(self._stderr)
        self.failed.emit(message)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._ended:
            self._ended = True
            self.failed.emit(f"The job could not start: {self.process.errorString()}.")
