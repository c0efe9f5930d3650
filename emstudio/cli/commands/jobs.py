"""`emstudio job run SPEC` (what a job process executes) and `emstudio jobs PROJECT`."""

from __future__ import annotations

import argparse
import json
import sys

from emstudio.core.project import Project
from emstudio.jobs.runner import run_job
from emstudio.jobs.spec import JobSpec


def register(commands: argparse._SubParsersAction) -> None:
    job = commands.add_parser("job", help="run a job spec")
    sub = job.add_subparsers(dest="job_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="execute a job spec (JSON); events go to stdout as JSON lines")
    run.add_argument("spec", metavar="SPEC")
    run.set_defaults(run=run_spec)

    history = commands.add_parser("jobs", help="list a project's jobs")
    history.add_argument("project", metavar="PROJECT")
    history.add_argument("--json", action="store_true")
    history.set_defaults(run=run_history)


def run_spec(args: argparse.Namespace) -> int:
    run_job(JobSpec.load(args.spec), stream=sys.stdout)
    return 0


def run_history(args: argparse.Namespace) -> int:
    with Project.open(args.project, mode="read") as project:
        jobs = [j.to_json() for j in project.catalog.jobs()]
    if args.json:
        print(json.dumps(jobs, indent=2))
        return 0
    for j in jobs:
        message = j["message"] or ""
        print(f"{j['id']}  {j['kind']:<8} {j['status']:<11} {j['created_at']}  {message}")
    return 0
