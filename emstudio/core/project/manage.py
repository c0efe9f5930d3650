"""Renaming and deleting volumes, and deleting mesh sets and models, of a project (what the
project panel's context menu does).

Deleting removes the catalog row first, then moves the files to a temporary name and removes
them: a crash in between leaves an unreferenced folder that the next ``Project.open`` cleans up,
never a catalog row pointing at half-deleted data.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from emstudio.core.measure.stored import remove_measurements
from emstudio.core.project import atomic
from emstudio.core.project.catalog import checked_name
from emstudio.core.project.project import Project
from emstudio.core.project.records import MeshSetRecord, ModelRecord, VolumeRecord


def rename_volume(project: Project, record: VolumeRecord, name: str) -> VolumeRecord:
    """Give a volume a new (unique, usable) name; returns the updated record."""
    name = (name or "").strip()
    if name != record.name:
        name = checked_name(
            name, "volume", "name", project.catalog.has_volume_name, "choose another name"
        )
        project.catalog.rename_volume(record.id, name)
    return project.catalog.volume_by_id(record.id)


def delete_volume(project: Project, record: VolumeRecord) -> None:
    """Remove a volume from the catalog, then its files and stored measurements (refused while
    others depend on it)."""
    project.catalog.delete_volume_row(record.id)
    remove_measurements(project, record)
    _remove_unregistered(project.resolve(record.path))


def delete_mesh_set(project: Project, record: MeshSetRecord) -> None:
    """Remove a mesh set from the catalog, then its folder of meshes."""
    project.catalog.delete_mesh_set_row(record.id)
    _remove_unregistered(project.resolve(record.path))


def delete_model(project: Project, record: ModelRecord) -> None:
    """Remove a model from the catalog, then its folder (weights and card). Predictions made
    with it keep its name in their provenance."""
    project.catalog.delete_model_row(record.id)
    _remove_unregistered(project.resolve(record.path))


def _remove_unregistered(path: Path) -> None:
    """Delete the files of a row just removed: renamed first, so that they are gone at once
    from where they were, and whatever a crash leaves is a temporary name to clean up."""
    if not path.exists():
        return
    trash = path.with_name(f"{atomic.TMP_PREFIX}deleted-{uuid.uuid4().hex[:8]}-{path.name}")
    os.replace(path, trash)
    atomic.fsync_dir(path.parent)
    atomic.remove_tree(trash)
