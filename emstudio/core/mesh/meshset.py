"""Mesh sets in a project: meshes/<id>/ (staged under a temporary name, then renamed), a row in
the ``meshes`` table (committed last), and optionally a copy in the user's folder."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emstudio.core.destinations import check_new_folder, is_inside
from emstudio.core.errors import (
    DestinationError,
    InputFileError,
    NameConflictError,
    NotFoundError,
)
from emstudio.core.mesh.build import DEFAULT_BLOCK, MeshFiles, mesh_objects
from emstudio.core.mesh.export import write_meshes
from emstudio.core.mesh.formats import check_format
from emstudio.core.mesh.surface import MeshOptions
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project import atomic, provenance
from emstudio.core.project.catalog import free_name, utc_now
from emstudio.core.project.project import Project
from emstudio.core.project.records import MeshSetRecord, VolumeRecord
from emstudio.core.seg.object_cache import load_boxes
from emstudio.core.volume.store import Volume

LABEL_KINDS = ("segmentation", "labels")


def check_destination(project: Project, out: str | Path | None) -> Path | None:
    """The user's export folder: outside the project, and new or empty."""
    if out is None:
        return None
    path = Path(out).absolute()
    if is_inside(path, project.path):
        raise DestinationError(
            f"{path}: is inside the project; meshes are kept in the project already. "
            "Choose a folder outside the project."
        )
    check_new_folder(path)
    probe = path.with_name(f"{atomic.TMP_PREFIX}{path.name}")  # the name copy_out writes first
    try:
        if not probe.exists():  # a leftover of a crash: copy_out replaces it
            probe.mkdir()
            probe.rmdir()
    except OSError as exc:  # before meshing, which may take long
        raise DestinationError(f"{path}: cannot write the meshes there ({exc}).") from None
    return path


def label_volume(project: Project, name: str) -> tuple[VolumeRecord, Volume]:
    record = project.catalog.volume(name)
    if record.kind not in LABEL_KINDS:
        raise InputFileError(
            name,
            f"is {record.kind_phrase}; meshes and measurements need a segmentation.",
        )
    return record, Volume(project.resolve(record.path))


def create_mesh_set(
    project: Project,
    segmentation: str,
    *,
    name: str | None = None,
    fmt: str = "ply",
    options: MeshOptions = MeshOptions(),  # noqa: B008
    ids: Sequence[int] | None = None,
    combined: bool = False,
    out: str | Path | None = None,
    job_id: str | None = None,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    progress: Progress = no_progress,
) -> MeshSetRecord:
    """Mesh ``segmentation`` into a new mesh set (and copy it to ``out`` when given). To
    export (``out`` and no ``name``), a mesh set made alike before is copied out instead."""
    fmt = check_format(fmt, combined)
    destination = check_destination(project, out)
    source, volume = label_volume(project, segmentation)
    if name and project.catalog.has_mesh_set_name(name):
        raise NameConflictError(f"A mesh set named {name!r} already exists: choose another name.")
    params = {
        "format": fmt,
        "combined": combined,
        "ids": list(ids) if ids else None,
        **options.to_json(),
    }
    made = same_mesh_set(project, source.id, params) if destination and not name else None
    if made is not None:
        copy_out(project.resolve(made.path), destination)
        return made
    name = name or free_name(project.catalog.has_mesh_set_name, f"{segmentation}-meshes")
    record = MeshSetRecord(
        id=uuid.uuid4().hex,
        name=name,
        path="",
        segmentation_id=source.id,
        format=fmt,
        count=0,
        attrs={**params, "segmentation": source.name, "voxel_size_nm": list(volume.voxel_size.zyx)},
        provenance=provenance.record(
            "mesh",
            job_id=job_id,
            params=params,
            inputs=[{"volume": source.name, "id": source.id}],
        ),
    )
    meshes_dir = project.path / "meshes"
    staging = meshes_dir / f"{atomic.TMP_PREFIX}{record.id}"
    final = meshes_dir / record.id
    try:
        staging.mkdir(parents=True)
        files = None if combined else MeshFiles(staging, fmt)
        meshes = mesh_objects(
            volume.boxes(),
            volume.voxel_size.zyx,
            options,
            ids,
            block,
            progress=progress,
            files=files,
            known=load_boxes(volume),
        )
        info = {
            "segmentation": source.name,
            "segmentation_id": source.id,
            "voxel_size_nm": list(volume.voxel_size.zyx),
            "voxel_size_known": volume.voxel_size.known,  # else the "nm" are voxels
            "options": options.to_json(),
        }
        try:
            index = write_meshes(meshes, staging, fmt, combined, info)
        except NotFoundError as exc:  # an asked id is not in it: say which segmentation
            raise NotFoundError(f"{source.name}: {exc}") from None
        atomic.fsync_tree(staging)
        os.replace(staging, final)
        atomic.fsync_dir(meshes_dir)
        if destination is not None:  # before the catalog row: a failed copy registers nothing
            copy_out(final, destination)
        record.path = final.relative_to(project.path).as_posix()
        record.count = index["count"]
        record.attrs["kept_all_faces"] = sum(
            bool(o.get("kept_all_faces")) for o in index["objects"].values()
        )
        record.created_at = utc_now()
        project.catalog.add_mesh_set(record)
    except BaseException:
        atomic.remove_tree(final)
        raise
    finally:
        atomic.remove_tree(staging)
    return record


def undecimated_note(kept: int, count: int) -> str:
    """What a person should know when objects were not decimated ("" when none)."""
    if not kept:
        return ""
    return (
        f"{kept} of {count} objects kept all their faces: decimating them would have opened "
        "their surfaces (the largest, usually); their files are as large as without --decimate."
    )


def same_mesh_set(
    project: Project, segmentation_id: str, params: dict[str, Any]
) -> MeshSetRecord | None:
    """The newest mesh set of a segmentation made with the same settings, if one is on disk."""
    for record in reversed(project.catalog.mesh_set_records()):
        made_with = {key: record.attrs.get(key) for key in params}
        found = record.segmentation_id == segmentation_id and made_with == params
        if found and project.resolve(record.path).is_dir():
            return record
    return None


def copy_out(folder: Path, destination: Path) -> None:
    """Copy a mesh set's files to the user's folder (complete, or not at all)."""
    staging = destination.with_name(f"{atomic.TMP_PREFIX}{destination.name}")
    atomic.remove_tree(staging)
    try:
        shutil.copytree(folder, staging)
        if destination.exists():
            destination.rmdir()
        os.replace(staging, destination)
    except OSError as exc:
        raise DestinationError(f"{destination}: cannot write the meshes ({exc}).") from exc
    finally:
        atomic.remove_tree(staging)
