"""What the result docks show, read from the project: which segmentations have meshes or
measurements (catalog: GUI thread), their rows and meshes (files: worker threads)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from emstudio.core.measure.csv_table import read_csv
from emstudio.core.mesh.export import load_meshes
from emstudio.core.project import Project
from emstudio.gui.measure_table import STRUCTURE

if TYPE_CHECKING:
    from emstudio.gui.surfaces import Surfaces


def rows_of(tables: list[tuple[str, Path | None]]) -> list[dict[str, str]]:
    """The rows of stored measurement tables (structure name, path), each row led by its
    structure's name."""
    return [
        {STRUCTURE: name, **row}
        for name, path in tables
        if path is not None
        for row in read_csv(path)
    ]


def mesh_set_folder(project: Project, segmentation: str) -> Path | None:
    """The folder of the newest mesh set of a segmentation that holds all its objects, else
    of its newest (a few objects exported with --ids); None if it has none."""
    record = project.catalog.volume(segmentation)
    sets = [m for m in project.catalog.mesh_set_records() if m.segmentation_id == record.id]
    whole = [m for m in sets if not m.attrs.get("ids")]
    chosen = (whole or sets)[-1] if sets else None
    return project.resolve(chosen.path) if chosen else None


def meshed_segmentations(project: Project) -> list[str]:
    """Names of the segmentations (or label sets) with at least one mesh set."""
    meshed = {m.segmentation_id for m in project.catalog.mesh_set_records()}
    return [v.name for v in project.catalog.volumes() if v.id in meshed]


def load_surfaces(folder: Path) -> Surfaces:
    """The meshes of a mesh set folder, made ready to draw (a worker thread's job, which also
    imports VTK off the GUI thread)."""
    from emstudio.gui.surfaces import display_surfaces

    return display_surfaces({i: (m.vertices, m.faces) for i, m in load_meshes(folder).items()})
