"""What each job kind does: one module per kind maps a spec onto the core function.

To add a kind: write ``emstudio/jobs/tasks/<kind>.py`` with ``run_<kind>(project, spec, events)
-> dict`` (the outputs, JSON-serialisable) and add it to ``TASKS`` below. A kind's module is
imported when a job of that kind runs, so the ``emstudio`` command, and every worker process a
job starts (which imports it again), loads only the libraries its work needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from emstudio.core.project import Project
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec

Task = Callable[[Project, JobSpec, EventLog], dict[str, Any]]

TASKS: dict[str, str] = {  # kind -> "module:function" in this package
    "import": "importing:run_import",
    "export": "exporting:run_export",
    "demo": "demo:run_demo",
    "segment": "segment:run_segment",
    "mesh": "mesh:run_mesh",
    "measure": "measure:run_measure",
    "crowd_import": "crowd:run_crowd_import",
    "crowd_simulate": "crowd:run_crowd_simulate",
    "train": "train:run_train",
    "predict": "predict:run_predict",
    "model_export": "models:run_model_export",
    "model_import": "models:run_model_import",
}


def task(kind: str) -> Task:
    """The function that runs jobs of ``kind`` (a key of ``TASKS``)."""
    module, function = TASKS[kind].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)
