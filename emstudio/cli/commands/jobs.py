"""`emstudio job run SPEC` (what a job process executes), `emstudio job cancel PROJECT JOB_ID`
and `emstudio jobs PROJECT` (the history)."""

from __future__ import annotations

import argparse
import sys
import time

import psutil

from emstudio.cli.commands._common import add_listing, one_line
from emstudio.core.errors import NotFoundError, ProjectLockedError
from emstudio.core.project import JobRecord, Project
from emstudio.core.project.project import job_as_seen
from emstudio.jobs.cancel import request_cancel, sigterm_as_interrupt
from emstudio.jobs.launcher import JobProcess
from emstudio.jobs.queue import CANCEL_GRACE_SECONDS, FINAL_STATUSES
from emstudio.jobs.runner import run_job
from emstudio.jobs.spec import JobSpec


def register(commands: argparse._SubParsersAction) -> None:
    job = commands.add_parser("job", help="run or cancel one job")
    sub = job.add_subparsers(dest="job_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="execute a job spec (JSON); events go to stdout as JSON lines")
    run.add_argument("spec", metavar="SPEC")
    run.set_defaults(run=run_spec)
    cancel = sub.add_parser("cancel", help="stop a running job (politely, then by force)")
    cancel.add_argument("project", metavar="PROJECT")
    cancel.add_argument("job_id", metavar="JOB_ID", help="the job id (or its first characters)")
    cancel.set_defaults(run=run_cancel)

    add_listing(commands, "jobs", "list a project's jobs", _jobs, show_history)


def run_spec(args: argparse.Namespace) -> int:
    spec = JobSpec.load(args.spec)
    sigterm_as_interrupt()
    run_job(spec, stream=sys.stdout)
    return 0


def find_job(project: Project, prefix: str) -> JobRecord:
    matches = [j for j in project.catalog.jobs() if j.id.startswith(prefix)]
    if len(matches) != 1:
        raise NotFoundError(
            f"No job {prefix!r} in this project."
            if not matches
            else f"{prefix!r} matches {len(matches)} jobs; give more characters of the id."
        )
    return matches[0]


def run_cancel(args: argparse.Namespace) -> int:
    with Project.open(args.project, mode="read") as project:
        job = find_job(project, args.job_id)
        job_dir = project.jobs_dir / job.id
    if job.status in FINAL_STATUSES:
        print(f"job {job.id[:8]} already ended: {job.status}")
        return 0
    request_cancel(job_dir)  # a queued job is dropped by the queue that would start it
    if job.status == "running" and job.pid and psutil.pid_exists(job.pid):
        if not stop_process(JobProcess(job.id, job_dir, job.pid)):
            print(f"job {job.id[:8]} did not stop within {CANCEL_GRACE_SECONDS:g} s: killed")
        _record_cancel(args.project)
    print(f"job {job.id[:8]} cancelled")
    return 0


def stop_process(process: JobProcess) -> bool:
    """SIGTERM, then SIGKILL after the grace period; True when it stopped by itself."""
    process.terminate()
    end = time.monotonic() + CANCEL_GRACE_SECONDS
    while process.exit_code() is None and time.monotonic() < end:
        time.sleep(0.02)
    if process.exit_code() is None:
        process.kill()
        return False
    return True


def _record_cancel(path: str) -> None:
    """Record a killed job as cancelled, unless the app holding the project does it."""
    try:
        project = Project.open(path)  # its recovery step records the job and cleans up
    except ProjectLockedError:
        return  # the holder's job queue sees the process end and the cancel request
    project.close()  # opening it recorded the dead job as cancelled and removed its leftovers


def _jobs(project: Project) -> list[dict]:
    return [job_as_seen(j) for j in project.catalog.jobs()]


def show_history(jobs: list[dict]) -> None:
    for j in jobs:
        message = one_line(j["message"] or "")
        device = f" [{j['device']}]" if j["device"] else ""
        print(f"{j['id']}  {j['kind']:<8} {j['status']:<11} {j['created_at']}{device}  {message}")
