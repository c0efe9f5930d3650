"""A segmentation's measurements kept in the project: ``measurements/<volume id>.csv`` (and its
``-summary.csv``), recorded in the segmentation's attrs under ``measurements`` (the newest
measurement replaces the previous one). Files are written atomically before the catalog row
changes, so a crash leaves the old measurements or the new ones."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emstudio.core.measure.csv_table import summary_path, write_csv
from emstudio.core.project import provenance
from emstudio.core.project.catalog import utc_now
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord

FOLDER = "measurements"
ATTR = "measurements"


def store_measurements(
    project: Project,
    record: VolumeRecord,
    rows: list[dict[str, Any]],
    settings: dict[str, Any],
    job_id: str | None = None,
    columns: Sequence[str] = (),
) -> Path:
    """Keep ``rows`` as the measurements of segmentation ``record`` (``columns``: the header
    where there are none); returns the table's path."""
    folder = project.path / FOLDER
    folder.mkdir(exist_ok=True)
    table, summary = write_csv(rows, folder / f"{record.id}.csv", columns, record.object_class)
    info = {
        "path": table.relative_to(project.path).as_posix(),
        "summary": summary.relative_to(project.path).as_posix(),
        "objects": len(rows),
        "created_at": utc_now(),
        **settings,
        "provenance": provenance.record(
            "measure",
            job_id=job_id,
            params=settings,
            inputs=[{"volume": record.name, "id": record.id}],
        ),
    }
    current = project.catalog.volume_by_id(record.id)
    project.catalog.update_volume_attrs(record.id, {**current.attrs, ATTR: info})
    return table


def measurements_path(project: Project, record: VolumeRecord) -> Path | None:
    """The stored measurements table of a segmentation, if it has one on disk."""
    info = record.attrs.get(ATTR)
    if not isinstance(info, dict) or not info.get("path"):
        return None
    path = project.resolve(info["path"])
    return path if path.is_file() else None


def remove_measurements(project: Project, record: VolumeRecord) -> None:
    """Delete the stored measurements files of a volume (with the volume: see ``manage``)."""
    table = project.path / FOLDER / f"{record.id}.csv"
    for path in (table, summary_path(table)):
        path.unlink(missing_ok=True)


def measured_segmentations(project: Project) -> list[VolumeRecord]:
    """The segmentations (and label sets) with stored measurements, oldest first."""
    return [
        r
        for kind in ("segmentation", "labels")
        for r in project.catalog.volumes(kind)
        if measurements_path(project, r) is not None
    ]
