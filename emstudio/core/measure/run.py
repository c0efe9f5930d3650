"""Measure a project's segmentation into CSV files (what the ``measure`` job runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emstudio.core.destinations import check_new_file
from emstudio.core.errors import DestinationError, InputFileError
from emstudio.core.measure.csv_table import summary_path, write_csv
from emstudio.core.measure.params import DEFAULT_MAX_DISTANCE_NM, MeasureParamsError
from emstudio.core.measure.stored import store_measurements
from emstudio.core.measure.table import Inputs, measure_objects, table_columns
from emstudio.core.mesh.meshset import label_volume
from emstudio.core.ml.labels import IGNORE
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project.project import Project
from emstudio.core.seg.object_cache import load_boxes
from emstudio.core.volume.store import Volume

INTENSITY_KINDS = ("image", "prediction")  # what mean/std intensity may be measured in


def named_values(attrs: dict[str, Any]) -> dict[int, str]:
    """A label set's class names the user gave (not the "class N" stand-ins), by value."""
    classes = attrs.get("classes")
    if not isinstance(classes, dict):
        return {}
    return {int(v): str(n) for v, n in classes.items() if str(n) != f"class {v}"}


def column_name(name: str) -> str:
    """A volume's or class's name as a part of a column name ("nuclear-envelope" ->
    "nuclear_envelope")."""
    return "_".join(name.replace("-", " ").split())


def class_names(record) -> dict[int, str]:
    """A label set's classes (value -> name), background and "not labelled" left out."""
    classes = record.attrs.get("classes")
    if not isinstance(classes, dict):
        return {}
    values = {int(v): str(n) for v, n in classes.items() if int(v) not in (0, IGNORE)}
    return dict(sorted(values.items()))


def check_csv_destination(path: str | Path, project_root: Path | None = None) -> Path:
    """A new .csv file in a writable folder outside the project (the summary goes beside it)."""
    out = Path(path).absolute()
    if out.suffix.lower() != ".csv":
        raise DestinationError(f"{out}: the measurements file must end in .csv.")
    out = check_new_file(out, project_root)  # first: the file the user named
    check_new_file(summary_path(out), project_root)
    return out


def measure_segmentation(
    project: Project,
    segmentation: str,
    out: str | Path | None = None,
    *,
    image: str | None = None,
    other: str | None = None,
    max_distance_nm: float = DEFAULT_MAX_DISTANCE_NM,
    job_id: str | None = None,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Measure every object: the table (one row per object) and its summary (one row per
    class) are kept in the project (``stored.py``) and, with ``out``, written there too.

    ``image`` defaults to the image the segmentation belongs to, when there is one.
    """
    path = check_csv_destination(out, project.path) if out is not None else None
    if other is not None and not max_distance_nm >= 0:
        raise MeasureParamsError(
            f"The search radius for the distance to {other!r} must be 0 nm or more, "
            f"got {max_distance_nm}."
        )
    record, labels = label_volume(project, segmentation)
    inputs = Inputs(labels.boxes(), labels.voxel_size.zyx, record.object_class)
    if record.kind == "labels":  # each value is one class: named as such, 255 is no object
        inputs.class_names, inputs.skip = named_values(record.attrs), (IGNORE,)
    image_name = image
    if image_name is None and record.image_id:
        found = [v for v in project.catalog.volumes("image") if v.id == record.image_id]
        image_name = found[0].name if found else None
    if image_name is not None:
        image_record = project.catalog.volume(image_name)
        if image_record.kind not in INTENSITY_KINDS:
            raise InputFileError(
                image_name,
                f"is {image_record.kind_phrase}, not an image: give an image (or a "
                "prediction) for the intensities.",
            )
        inputs.image = _same_grid(project, image_record, labels).boxes()
    if other is not None:
        other_record, _ = label_volume(project, other)
        if other_record.id == record.id:
            raise MeasureParamsError(
                f"The distance to {other!r} is asked for within {other!r} itself: every object "
                "would be 0 nm from itself. Give another segmentation or label set."
            )
        inputs.other = _same_grid(project, other_record, labels).boxes()
        inputs.other_name = column_name(other_record.name)
        if other_record.kind == "labels":  # a distance to each class it holds
            inputs.other_classes = {
                value: column_name(name) for value, name in class_names(other_record).items()
            }
        inputs.max_distance_nm = max_distance_nm
    rows = measure_objects(inputs, progress=progress, known=load_boxes(labels))
    settings = {"image": image_name, "other": other, "max_distance_nm": max_distance_nm}
    columns = table_columns(inputs)  # the header of a table without objects
    if path is not None:  # first: if it cannot be written, the project stays as it was
        table, summary = write_csv(rows, path, columns, record.object_class)
    kept = store_measurements(project, record, rows, settings, job_id, columns)
    if path is None:
        table, summary = kept, summary_path(kept)
    return {
        "csv": str(table),
        "summary": str(summary),
        "objects": len(rows),
        "image": image_name,
        "segmentation": record.name,
        "table": str(kept),
    }


def _same_grid(project: Project, record, labels: Volume) -> Volume:
    volume = Volume(project.resolve(record.path))
    if volume.shape != labels.shape:
        raise DestinationError(
            f"{record.name!r} has shape {volume.shape}, the segmentation {labels.shape}: "
            "they must cover the same voxels."
        )
    return volume
