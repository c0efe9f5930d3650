"""Job kinds "model_export" and "model_import": a model to, and from, a portable ``.emmodel``
file (to move it between projects and workstations).

model_export: inputs {"model": NAME}; params {"out": FILE.emmodel (must not exist)}
model_import: inputs {"file": FILE.emmodel}; params {"name": NAME (default: the card's, with a
number added where that is taken; a model the project holds already is not added again)}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emstudio.core.ml.registry import export_model, import_model, import_model_once
from emstudio.core.project import Project
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def run_model_export(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    out = export_model(project, spec.inputs["model"], Path(spec.params["out"]))
    events.log(f"exported model {spec.inputs['model']!r} to {out}")
    return {"path": str(out)}


def run_model_import(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    name, file = spec.params.get("name"), spec.inputs["file"]
    if name is not None:
        record, added = import_model(project, Path(file), name, spec.id), True
    else:
        record, added = import_model_once(project, Path(file), spec.id)
    if added:
        events.log(f"imported model {record.name!r} from {file}")
    else:
        events.log(f"{file}: this model is in the project already, as {record.name!r}")
    return {"model": record.name, "added": added}
