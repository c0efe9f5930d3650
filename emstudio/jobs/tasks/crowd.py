"""Job kinds "crowd_import" (an export, or stored tracings, into a label set) and
"crowd_simulate" (an export traced by simulated volunteers from a label set).

crowd_import spec: inputs {"classifications": CSV, "subjects": CSV | None} or {"tracings_from":
LABELSET}; params {"image", "name", "workflow", "version", "mapping": SubjectMapping JSON,
"method", "min_volunteers", "outline_nm", "outline_side", "exclude": [...], "min_reliability",
"class_name", "expert", "expert_class"}.
crowd_simulate spec: inputs {"labels": LABELSET}; params {"out", "volunteers", "careless",
"adversarial", "scale", "seed", "slices", "class"}.
"""

from __future__ import annotations

from typing import Any

from emstudio.core.crowd.aggregate import ConsensusOptions
from emstudio.core.crowd.importer import CrowdSource, import_crowd
from emstudio.core.crowd.mapping import SubjectMapping
from emstudio.core.crowd.simulate import SimulationOptions
from emstudio.core.crowd.simulate_labels import simulate_from_labels
from emstudio.core.project import Project
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec


def consensus_options(params: dict[str, Any]) -> ConsensusOptions:
    return ConsensusOptions(
        method=params.get("method", "mean"),
        min_volunteers=int(params.get("min_volunteers", 5)),
        outline_nm=params.get("outline_nm"),
        outline_side=params.get("outline_side", "centre"),
        exclude=tuple(params.get("exclude") or ()),
        min_reliability=params.get("min_reliability"),
    )


def run_crowd_import(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    p, i = spec.params, spec.inputs
    source = CrowdSource(
        classifications=i.get("classifications"),
        subjects=i.get("subjects"),
        tracings_from=i.get("tracings_from"),
        workflow=p.get("workflow"),
        version=p.get("version"),
    )
    result = import_crowd(
        project,
        source,
        image=p["image"],
        name=p["name"],
        mapping=SubjectMapping.from_json(p.get("mapping")),
        options=consensus_options(p),
        class_name=p.get("class_name"),
        expert=p.get("expert"),
        expert_class=p.get("expert_class"),
        job_id=spec.id,
        progress=events.progress,
        log=events.log,
    )
    scores = result.aggregation.volunteers.values()
    return {
        "labels": result.record.name,
        "id": result.record.id,
        "summary": result.report.to_json(),
        "slices_labelled": len(result.aggregation.labelled),
        "volunteers": len(scores),
        "excluded": sorted(v.id for v in scores if v.excluded),
    }


def run_crowd_simulate(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    p = spec.params
    options = SimulationOptions(
        volunteers=int(p.get("volunteers", 10)),
        careless=float(p.get("careless", 0.1)),
        adversarial=float(p.get("adversarial", 0.1)),
        scale=float(p.get("scale", 1.0)),
        seed=int(p.get("seed", 0)),
    )
    return simulate_from_labels(
        project,
        spec.inputs["labels"],
        p["out"],
        options,
        class_value=p.get("class"),
        slices=p.get("slices", 10),
        progress=events.progress,
    )
