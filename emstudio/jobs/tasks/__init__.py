"""What each job kind does: one module per kind maps a spec onto the core function.

To add a kind: write ``emstudio/jobs/tasks/<kind>.py`` with ``run_<kind>(project, spec, events)
-> dict`` (the outputs, JSON-serialisable) and add it to ``TASKS`` below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emstudio.core.project import Project
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec
from emstudio.jobs.tasks.crowd import run_crowd_import, run_crowd_simulate
from emstudio.jobs.tasks.demo import run_demo
from emstudio.jobs.tasks.exporting import run_export
from emstudio.jobs.tasks.importing import run_import
from emstudio.jobs.tasks.measure import run_measure
from emstudio.jobs.tasks.mesh import run_mesh
from emstudio.jobs.tasks.predict import run_predict
from emstudio.jobs.tasks.segment import run_segment
from emstudio.jobs.tasks.train import run_train

Task = Callable[[Project, JobSpec, EventLog], dict[str, Any]]

TASKS: dict[str, Task] = {
    "import": run_import,
    "export": run_export,
    "demo": run_demo,
    "segment": run_segment,
    "mesh": run_mesh,
    "measure": run_measure,
    "crowd_import": run_crowd_import,
    "crowd_simulate": run_crowd_simulate,
    "train": run_train,
    "predict": run_predict,
}
