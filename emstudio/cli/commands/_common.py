"""Helpers shared by the command modules: parsing values and running a job with a progress bar."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from emstudio.cli.progress import ProgressBar
from emstudio.core.errors import EmstudioError
from emstudio.core.project import Project
from emstudio.jobs.cancel import sigterm_interrupts
from emstudio.jobs.runner import JobResult, run_job
from emstudio.jobs.spec import JobSpec


class ArgumentValueError(EmstudioError):
    """A command-line value is malformed (reported like any other bad input: exit 2)."""


def has_display() -> bool:
    """Whether a window can be shown (on Linux: an X or Wayland display is set)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def one_line(text: str) -> str:
    """A job's message on the one line a job gets in a listing."""
    return " ".join(text.split())


def parse_triple(
    text: str | None,
    what: str,
    cast: type = float,
    invalid: Callable[[float], bool] = lambda v: not (math.isfinite(v) and v > 0),
    expected: str = "three positive numbers Z,Y,X",
) -> list | None:
    """ "Z,Y,X" -> [z, y, x] (each cast, none ``invalid``), or None when not given."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [cast(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or any(invalid(v) for v in values):
        raise ArgumentValueError(f"{what} must be {expected}, got {text!r}.")
    return values


def add_listing(
    commands: argparse._SubParsersAction,
    name: str,
    help_text: str,
    read: Callable[[Project], Any],
    show: Callable[[Any], None],
) -> argparse.ArgumentParser:
    """A command ``NAME PROJECT [--json]``: what ``read(project)`` returns (JSON-able), printed
    as JSON or by ``show``."""

    def run(args: argparse.Namespace) -> int:
        with Project.open(args.project, mode="read") as project:
            data = read(project)
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            show(data)
        return 0

    parser = commands.add_parser(name, help=help_text)
    parser.add_argument("project", metavar="PROJECT")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)
    return parser


FINISHED: list[JobResult] = []  # the job this command ran to its end (see ``main``)


def run_with_progress(spec: JobSpec) -> JobResult:
    """Run a job in this process, drawing its progress on stderr; SIGTERM cancels it (the job
    cleans up as after Ctrl-C). Once it is done, an interrupt cancels nothing: ``main`` then
    says so and exits 0."""
    with sigterm_interrupts():
        result = run_job(spec, listeners=[ProgressBar(sys.stderr)])
    FINISHED.append(result)
    return result
