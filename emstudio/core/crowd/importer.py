"""``crowd import``: a Zooniverse export (or a label set's stored tracings) into a label set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from emstudio.core.crowd.aggregate import Aggregation, ConsensusOptions, ExpertFn, aggregate
from emstudio.core.crowd.classes import pick_class
from emstudio.core.crowd.export import read_classifications, read_subjects
from emstudio.core.crowd.labelset import write_label_set
from emstudio.core.crowd.mapping import AXES, SubjectMapping
from emstudio.core.crowd.raster import Box
from emstudio.core.crowd.report import ImportReport
from emstudio.core.crowd.sidecar import read_sidecar, sidecar_json
from emstudio.core.crowd.tracings import SliceKey, TracingSet, collect_tracings
from emstudio.core.errors import EmstudioError
from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.project import provenance
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import check_new_name
from emstudio.core.volume.store import Volume


class CrowdImportError(EmstudioError):
    """Nothing usable came out of the export (the summary says why)."""


@dataclass
class CrowdSource:
    """Where the tracings come from: an export (+ subject export), or a crowd label set."""

    classifications: str | None = None
    subjects: str | None = None
    tracings_from: str | None = None
    workflow: str | None = None
    version: str | None = None


@dataclass
class CrowdImport:
    record: VolumeRecord
    report: ImportReport
    aggregation: Aggregation


def import_crowd(
    project: Project,
    source: CrowdSource,
    *,
    image: str,
    name: str,
    mapping: SubjectMapping | None = None,
    options: ConsensusOptions | None = None,
    class_name: str | None = None,
    expert: str | None = None,
    expert_class: str | None = None,
    job_id: str | None = None,
    progress: Progress = no_progress,
    log: Callable[[str], None] = lambda message: None,
) -> CrowdImport:
    """Read, map, join, rasterise, take the consensus, and save it as label set ``name``.
    ``expert``: a label set to score volunteers against too (its class ``expert_class``, by
    default as ``pick_class`` chooses, holes filled)."""
    mapping = mapping or SubjectMapping()
    options = options or ConsensusOptions()
    image_record = _image(project, image)
    check_new_name(project, name)
    expert_fn = _expert(project, expert, expert_class, image_record) if expert else None
    voxel = image_record.voxel_size
    if options.outline_nm is not None and not voxel.known:
        raise CrowdImportError(
            f"The voxel size of {image!r} is unknown, so an outline width in nm has no meaning: "
            "set the image's voxel size first."
        )
    report = ImportReport()
    reading = scaled(progress, 0, 40, 100)
    tracings = _tracings(project, source, mapping, image_record, report, reading)
    if not tracings.slices:
        raise CrowdImportError(f"{_why_no_tracing(report, image)}\n" + "\n".join(report.lines()))
    placed = sum(len(t.subjects) for ts in tracings.slices.values() for t in ts)
    if report.counts["subject_past_plane"] >= placed:  # every one: not this image's subjects
        raise CrowdImportError(
            f"The subjects' images are larger than the slices of {image!r} "
            f"({' x '.join(map(str, image_record.shape[1:][::-1]))} px): is {image!r} the image "
            "they show? If it is, give the scale (--scale, or --scale fit to fit each subject "
            "to the slice).\n" + "\n".join(report.lines())
        )
    result = aggregate(tracings, options, voxel.zyx, expert_fn, scaled(progress, 40, 40, 100))
    for s in result.slices:
        if not s.labelled:
            report.add("too_few_volunteers", f"{s.key[0]} = {s.key[1]}: {s.volunteers} volunteers")
    if not result.labelled:
        most = max(s.volunteers for s in result.slices)
        left_out = sum(v.excluded for v in result.volunteers.values())
        advice = (
            f"{left_out} of {len(result.volunteers)} volunteers were left out (--exclude, "
            "--min-reliability): leave out fewer, or lower the minimum number of volunteers."
            if left_out
            else "lower the minimum number of volunteers."
        )
        raise CrowdImportError(
            f"No slice was traced by {options.min_volunteers} or more volunteers counted (the "
            f"most was {most}): {advice}\n" + "\n".join(report.lines())
        )
    report.count("slices labelled", len(result.labelled))
    for line in report.lines():
        log(line)
    params = {"source": source.__dict__, "mapping": mapping.to_json(), "options": options.__dict__,
              "expert": expert, "expert_class": expert_class}  # fmt: skip
    record = write_label_set(
        project,
        image_record,
        name,
        result,
        class_name=class_name or ("nuclear_envelope" if options.outline_nm else "nucleus"),
        crowd=_crowd_attrs(source, mapping, options, report, result)
        | {"expert": expert, "expert_class": expert_class},
        sidecar=sidecar_json(tracings, result),
        provenance=provenance.record(
            "crowd_import", job_id=job_id, params=params, inputs=_inputs(source)
        ),
        progress=scaled(progress, 80, 20, 100),
    )
    return CrowdImport(record, report, result)


def _why_no_tracing(report: ImportReport, image: str) -> str:
    """The headline of an import that found no tracing to place: what kept them out."""
    if not report.stats["classifications"] and report.counts["other_workflow"]:
        return (
            "No classification is of the workflow asked for (--workflow); see the export's below."
        )
    if not report.stats["classifications"] and report.counts["other_version"]:
        return (
            "No classification is of the workflow version asked for (--workflow-version); see "
            "the export's below."
        )
    if report.counts["unmapped_subject"] and not report.counts["slice_out_of_range"]:
        return (
            f"No subject says which slice of {image!r} it shows: name the metadata field that "
            "does (--slice-key FIELD, with --slice-offset if it counts from 1) or the pattern of "
            "the file names (--file-pattern); each subject's reason is below."
        )
    return f"No tracing in the export maps to a slice of {image!r}."


def _image(project: Project, name: str) -> VolumeRecord:
    record = project.catalog.volume(name)
    if record.kind != "image":
        raise CrowdImportError(f"{name!r} is {record.kind_phrase}: give the image it labels.")
    return record


def _tracings(
    project: Project,
    source: CrowdSource,
    mapping: SubjectMapping,
    image: VolumeRecord,
    report: ImportReport,
    progress: Progress,
) -> TracingSet:
    if source.tracings_from:
        labels = project.catalog.volume(source.tracings_from)
        if labels.image_id != image.id:
            raise CrowdImportError(f"{source.tracings_from!r} does not label {image.name!r}.")
        stored = read_sidecar(project.resolve(labels.path), labels.attrs)
        old = ImportReport.from_json(labels.attrs.get("crowd", {}).get("summary", {}))
        old.counts.pop("too_few_volunteers", None)
        old.examples.pop("too_few_volunteers", None)
        old.stats.pop("slices labelled", None)
        report.counts, report.examples, report.stats = old.counts, old.examples, old.stats
        return stored.tracings
    if not source.classifications:
        raise CrowdImportError("Give a classification export (or a crowd label set) to import.")
    subjects = read_subjects(source.subjects) if source.subjects else None
    rows = read_classifications(
        source.classifications,
        report,
        workflow=source.workflow,
        version=source.version,
        subjects=subjects,
        progress=progress,
    )
    return collect_tracings(rows, mapping, image.shape, report)


def _expert(project: Project, name: str, wanted: str | None, image: VolumeRecord) -> ExpertFn:
    """The expert's masks of one class, holes filled, on the slices the expert labelled."""
    record = project.catalog.volume(name)
    if record.kind != "labels" or tuple(record.shape) != tuple(image.shape):
        raise CrowdImportError(f"{name!r} is not a label set of {image.name!r}'s shape.")
    value = pick_class(record, wanted)
    volume = Volume(project.resolve(record.path))
    labelled = record.attrs.get("labelled_slices")

    def expert(key: SliceKey, box: Box) -> np.ndarray | None:
        axis, index = key
        if isinstance(labelled, dict) and index not in labelled.get(axis, []):
            return None
        mask = ndimage.binary_fill_holes(volume.plane(AXES.index(axis), index) == value)
        r0, r1, c0, c1 = box
        return mask[r0:r1, c0:c1]

    return expert


def _crowd_attrs(
    source: CrowdSource,
    mapping: SubjectMapping,
    options: ConsensusOptions,
    report: ImportReport,
    result: Aggregation,
) -> dict[str, Any]:
    agreements = [s.agreement for s in result.labelled if s.agreement is not None]
    return {
        "source": source.tracings_from or str(source.classifications),
        "workflow": source.workflow,
        "version": source.version,
        "method": options.method,
        "min_volunteers": options.min_volunteers,
        "outline_nm": options.outline_nm,
        "outline_side": options.outline_side,
        "excluded": sorted(v.id for v in result.volunteers.values() if v.excluded),
        "min_reliability": options.min_reliability,
        "mapping": mapping.to_json(),
        "volunteers": len(result.volunteers),
        "slices_labelled": len(result.labelled),
        "slices_skipped": len(result.slices) - len(result.labelled),
        "mean_agreement": round(float(np.mean(agreements)), 4) if agreements else None,
        "summary": report.to_json(),
    }


def _inputs(source: CrowdSource) -> list[dict[str, Any]]:
    paths = [p for p in (source.classifications, source.subjects) if p]
    return [provenance.describe_input(Path(p)) for p in paths]
