"""Helpers shared by the command modules: parsing values and running a job with a progress bar."""

from __future__ import annotations

import sys

from emstudio.cli.progress import ProgressBar
from emstudio.core.errors import EmstudioError
from emstudio.jobs.runner import JobResult, run_job
from emstudio.jobs.spec import JobSpec


class ArgumentValueError(EmstudioError):
    """A command-line value is malformed (reported like any other bad input: exit 2)."""


def parse_triple(text: str | None, what: str, cast: type = float) -> list | None:
    """ "Z,Y,X" -> [z, y, x] of positive numbers, or None when not given."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [cast(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or any(v <= 0 for v in values):
        raise ArgumentValueError(f"{what} must be three positive numbers Z,Y,X, got {text!r}.")
    return values


def run_with_progress(spec: JobSpec) -> JobResult:
    """Run a job in this process, drawing its progress on stderr."""
    return run_job(spec, listeners=[ProgressBar(sys.stderr)])
