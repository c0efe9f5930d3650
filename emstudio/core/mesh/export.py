"""Writing meshes: one file per object (``{id}.{format}``) or one combined scene, and the index.

Combined scenes keep object ids: GLB has one node and geometry per object named
``object_{id}``; PLY has one mesh with a per-face ``object_id`` property. Vertices are
(x, y, z) in nm, in every format (a GLB scene says so in its extras, as glTF's own unit is the
metre).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from emstudio.core.mesh.build import (
    MeshedObject,
    MeshFiles,
    glb_bytes,
    mesh_file,
    save_mesh,
)
from emstudio.core.mesh.formats import check_format
from emstudio.core.progress import Progress, no_progress

INDEX_FILE = "index.json"


def write_meshes(
    meshes: Iterable[MeshedObject],
    folder: Path,
    fmt: str,
    combined: bool,
    info: dict[str, Any],
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Write into ``folder`` (existing, empty) and return the index (also written there).
    One file per object: a mesh given as None is in its file already (``build.MeshFiles``)."""
    fmt = check_format(fmt, combined)
    objects: dict[str, dict[str, Any]] = {}
    parts: list[tuple[int, trimesh.Trimesh]] = []
    for object_id, mesh, facts in meshes:
        entry = dict(facts)
        if combined:
            parts.append((object_id, mesh))
            entry["file"] = f"scene.{fmt}"
        else:
            entry["file"] = mesh_file(folder, object_id, fmt).name
            if mesh is not None:
                save_mesh(mesh, MeshFiles(folder, fmt), object_id)
        objects[str(object_id)] = entry
        progress(len(objects), len(objects), f"wrote {len(objects)} meshes")
    if combined:
        _write_scene(parts, folder / f"scene.{fmt}", fmt)
    index = {
        **info,
        "format": fmt,
        "combined": combined,
        "units": "nm",
        "axes": "xyz",
        "count": len(objects),
        "objects": objects,
    }
    (folder / INDEX_FILE).write_text(json.dumps(index, indent=1), encoding="utf-8")
    return index


def _write_scene(parts: list[tuple[int, trimesh.Trimesh]], path: Path, fmt: str) -> None:
    parts = [(i, m) for i, m in parts if not m.is_empty]
    if fmt == "glb":
        path.write_bytes(glb_bytes(parts))
        return
    pieces = []
    for object_id, mesh in parts:
        mesh = mesh.copy()
        mesh.face_attributes["object_id"] = np.full(len(mesh.faces), object_id, np.int64)
        pieces.append(mesh)
    joined = trimesh.util.concatenate(pieces) if pieces else trimesh.Trimesh()
    path.write_bytes(trimesh.exchange.ply.export_ply(joined, include_attributes=True))


def read_index(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / INDEX_FILE).read_text(encoding="utf-8"))


def load_meshes(folder: Path) -> dict[int, trimesh.Trimesh]:
    """Every object's mesh of a folder written by ``write_meshes`` (for viewers and tests)."""
    index = read_index(folder)
    fmt = index["format"]
    if not index["combined"]:
        return {
            int(i): trimesh.load(Path(folder) / e["file"], file_type=fmt, force="mesh")
            for i, e in index["objects"].items()
            if (Path(folder) / e["file"]).is_file()
        }
    path = Path(folder) / f"scene.{fmt}"
    if fmt == "glb":
        scene = trimesh.load(path, file_type="glb", force="scene")
        return {int(name.removeprefix("object_")): scene.geometry[name] for name in scene.geometry}
    joined = trimesh.load(path, file_type="ply", process=False)
    ids = joined.metadata["_ply_raw"]["face"]["data"]["object_id"].astype(np.int64)
    out = {}
    for object_id in np.unique(ids).tolist():
        part = joined.submesh([np.flatnonzero(ids == object_id)], append=True)
        out[int(object_id)] = part
    return out
