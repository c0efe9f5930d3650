"""Starting a job in its own OS process, and watching that process from outside.

The child is ``emstudio job run SPEC`` in a new session/process group, so it survives the app
closing when the user chooses to keep it running. Its stdout (the JSON-lines event protocol) and
stderr go to files in the job folder: nothing breaks when the watcher goes away, and a watcher
that comes later (the app reopened) picks the events up from the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from emstudio.core.project import Project
from emstudio.core.project.atomic import atomic_write_text
from emstudio.jobs.events import EventTail
from emstudio.jobs.launch import emstudio_command
from emstudio.jobs.spec import JobSpec

STDOUT_FILE = "stdout.jsonl"
STDERR_FILE = "stderr.log"


def write_spec(project: Project, spec: JobSpec, status: str = "queued") -> Path:
    """Save ``jobs/<id>/spec.json`` and the catalog row (if new); returns the spec path."""
    job_dir = project.jobs_dir / spec.id
    job_dir.mkdir(parents=True, exist_ok=True)
    path = job_dir / "spec.json"
    atomic_write_text(path, json.dumps(spec.to_json(), indent=2))
    if not project.catalog.has_job(spec.id):
        project.catalog.add_job(spec.id, spec.kind, spec.to_json(), status=status)
    return path


@dataclass
class JobProcess:
    """A running (or finished) job process and the tail of its event stream."""

    job_id: str
    job_dir: Path
    pid: int
    popen: subprocess.Popen | None = None  # None for a process adopted from an earlier session
    started: float = field(default_factory=time.monotonic)
    tail: EventTail | None = None

    def __post_init__(self) -> None:
        self.tail = EventTail(self.job_dir / STDOUT_FILE)

    def exit_code(self) -> int | None:
        """The exit status once the process ended (negative: killed by that signal), else None.

        For an adopted process the status is unknown: 0 once it is gone.
        """
        if self.popen is not None:
            return self.popen.poll()
        try:
            proc = psutil.Process(self.pid)
            alive = proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            alive = False
        return None if alive else 0

    def terminate(self) -> None:
        """Ask politely (SIGTERM on POSIX; the cancel file does it on Windows)."""
        if os.name != "nt":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        with contextlib.suppress(psutil.Error):
            psutil.Process(self.pid).kill()
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(5)

    def stderr_tail(self, lines: int = 15) -> str:
        try:
            text = (self.job_dir / STDERR_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


JOB_NICENESS = 10  # POSIX: 0 is normal, 19 the lowest priority


def launch(project: Project, spec: JobSpec, command: list[str] | None = None) -> JobProcess:
    """Start ``spec`` in a new process; ``command`` replaces ``emstudio job run`` (tests)."""
    spec_path = write_spec(project, spec)
    job_dir = spec_path.parent
    argv = command or emstudio_command("job", "run", str(spec_path))
    env = {**os.environ, **project.job_environment(), "PYTHONUNBUFFERED": "1"}
    options: dict = {}
    if sys.platform == "win32":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True
    with open(job_dir / STDOUT_FILE, "ab") as out, open(job_dir / STDERR_FILE, "ab") as err:
        popen = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, **options
        )
    _lower_priority(popen.pid)
    return JobProcess(spec.id, job_dir, popen.pid, popen)


def _lower_priority(pid: int) -> None:
    """Let the window and the user's other programs go first when they want the CPU: a job
    uses every core, and still gets them all whenever nothing else wants them. (Its worker
    processes and threads inherit the priority.)"""
    with contextlib.suppress(psutil.Error, OSError):
        process = psutil.Process(pid)
        if sys.platform == "win32":
            process.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        else:
            process.nice(JOB_NICENESS)


def adopt(project: Project, job_id: str, pid: int) -> JobProcess:
    """Watch a job process started by an earlier session of the app (still running)."""
    return JobProcess(job_id, project.jobs_dir / job_id, pid)
