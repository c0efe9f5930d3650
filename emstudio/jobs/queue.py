"""The job queue of one open project: starts queued jobs as slots free up, watches them,
cancels them, and records how each process ended — even when it died without a word.

Qt-free: the GUI calls ``tick()`` from a timer and shows what it returns.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emstudio.core.project import Project
from emstudio.jobs.cancel import cancel_requested, request_cancel
from emstudio.jobs.launcher import JobProcess, adopt, launch, write_spec
from emstudio.jobs.spec import JobSpec

ACCELERATOR_KINDS = frozenset({"train", "predict"})  # one at a time on the GPU by default
CANCEL_GRACE_SECONDS = 1.5  # then killed: a cancel takes under 2 s either way
FINAL_STATUSES = frozenset({"done", "failed", "cancelled", "interrupted"})


@dataclass
class JobUpdate:
    """What happened to one job since the last tick."""

    job_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None  # set when the job started or ended
    message: str | None = None


def uses_accelerator(spec: JobSpec) -> bool:
    return spec.kind in ACCELERATOR_KINDS and spec.device != "cpu"


def death_reason(code: int | None, stderr_tail: str) -> str:
    """A plain-language reason for a process that ended without reporting a result."""
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else ""
        if name == "SIGKILL":
            reason = "was killed (SIGKILL) — most often the computer ran out of memory"
        elif name == "SIGSEGV":
            reason = "crashed (segmentation fault)"
        else:
            reason = f"was stopped by signal {name or -code}"
    elif code:
        reason = f"exited with code {code} without reporting a result"
    else:
        reason = "ended without reporting a result"
    last = f" Last lines of its log:\n{stderr_tail}" if stderr_tail else ""
    return f"The job process {reason}; its partial results were removed.{last}"


class JobQueue:
    """Queued and running jobs of one project (open for writing in this process)."""

    def __init__(
        self,
        project: Project,
        accelerator_slots: int = 1,
        cpu_slots: int = 2,
        command_for: Callable[[JobSpec], list[str] | None] | None = None,
    ) -> None:
        self.project = project
        self.accelerator_slots = accelerator_slots
        self.cpu_slots = cpu_slots
        self._command_for = command_for or (lambda spec: None)
        self.queued: list[JobSpec] = []
        self.running: dict[str, tuple[JobSpec, JobProcess]] = {}
        self._cancel_deadline: dict[str, float] = {}

    # -- what the user does ---------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> None:
        """Queue ``spec`` to run on this queue's project, whatever project it names (a job
        re-run after the project was copied or moved names the old place)."""
        spec.project = str(self.project.path)
        write_spec(self.project, spec)
        self.queued.append(spec)

    def cancel(self, job_id: str) -> None:
        """Queued: dropped at once. Running: asked to stop, killed after a grace period."""
        for spec in self.queued:
            if spec.id == job_id:
                self.queued.remove(spec)
                self.project.catalog.set_job_status(job_id, "cancelled", "Cancelled before it ran.")
                return
        if job_id in self.running and job_id not in self._cancel_deadline:
            _, process = self.running[job_id]
            request_cancel(process.job_dir)
            process.terminate()
            self._cancel_deadline[job_id] = time.monotonic() + CANCEL_GRACE_SECONDS

    def cancel_all(self, wait: float = 10.0) -> None:
        """Cancel everything and wait (up to ``wait`` s) until every process has ended."""
        for spec in list(self.queued):
            self.cancel(spec.id)
        for job_id in list(self.running):
            self.cancel(job_id)
        end = time.monotonic() + wait
        while self.running and time.monotonic() < end:
            self.tick()
            time.sleep(0.05)

    def detach(self) -> list[str]:
        """Stop watching (the app closes, jobs keep running); returns the running job ids."""
        ids = list(self.running)
        self.running.clear()
        return ids

    def adopt_running(self) -> list[str]:
        """Watch jobs that an earlier session left running, and re-queue its queued jobs."""
        for job in self.project.catalog.jobs("running"):
            if job.id not in self.running and job.pid:
                self.running[job.id] = (
                    JobSpec.from_json(job.spec),
                    adopt(self.project, job.id, job.pid),
                )
        for job in self.project.catalog.jobs("queued"):
            if all(s.id != job.id for s in self.queued) and job.id not in self.running:
                self.queued.append(JobSpec.from_json(job.spec))
        return list(self.running)

    # -- the clock ----------------------------------------------------------------------------
    def tick(self) -> list[JobUpdate]:
        """Read new events, reap ended processes, enforce cancel deadlines, start jobs."""
        updates = [self._watch(job_id) for job_id in list(self.running)]
        updates += self._start_ready()
        return [u for u in updates if u.events or u.status]

    def _watch(self, job_id: str) -> JobUpdate:
        process = self.running[job_id][1]
        update = JobUpdate(job_id, process.tail.poll())
        deadline = self._cancel_deadline.get(job_id)
        if deadline is not None and time.monotonic() > deadline and process.exit_code() is None:
            process.kill()
        code = process.exit_code()
        if code is None:
            return update
        update.events += process.tail.poll()
        del self.running[job_id]
        self._cancel_deadline.pop(job_id, None)
        record = self.project.catalog.job(job_id)
        if record.status in FINAL_STATUSES:
            update.status, update.message = record.status, record.message
            if record.status != "done":
                self.project.remove_job_leftovers(job_id)
            return update
        cancelled = deadline is not None or cancel_requested(process.job_dir)
        status = "cancelled" if cancelled else "failed"
        message = (
            "Cancelled by the user (stopped after the grace period); partial results removed."
            if cancelled
            else death_reason(code, process.stderr_tail())
        )
        self.project.catalog.set_job_status(job_id, status, message)
        self.project.remove_job_leftovers(job_id)
        update.status, update.message = status, message
        return update

    def _start_ready(self) -> list[JobUpdate]:
        started = []
        for spec in list(self.queued):
            accelerator = uses_accelerator(spec)
            busy = sum(uses_accelerator(s) == accelerator for s, _ in self.running.values())
            if busy >= (self.accelerator_slots if accelerator else self.cpu_slots):
                continue
            self.queued.remove(spec)
            if cancel_requested(self.project.jobs_dir / spec.id):  # e.g. `emstudio job cancel`
                self.project.catalog.set_job_status(
                    spec.id, "cancelled", "Cancelled before it ran."
                )
                started.append(JobUpdate(spec.id, status="cancelled"))
                continue
            process = launch(self.project, spec, self._command_for(spec))
            self.running[spec.id] = (spec, process)
            started.append(JobUpdate(spec.id, status="running"))
        return started
