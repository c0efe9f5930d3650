"""Meshes of every object of a label volume larger than memory.

Objects are found blockwise (``seg.objects``); nearby objects are read in one crop, and the
crops are meshed in worker processes (``seg.workers``: marching cubes, smoothing and the mesh
checks hold the GIL); an object whose box exceeds ``crop_voxels`` is meshed in blocks here
(``surface.mesh_in_blocks``). Each object is meshed whole, so there are no block borders inside
an object's mesh. Results come in the same order whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import trimesh

from emstudio.core.errors import NotFoundError
from emstudio.core.mesh.surface import MeshOptions, described_mask, mesh_in_blocks
from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.seg.instances import Box
from emstudio.core.seg.objects import (
    ObjectBoxes,
    group_boxes,
    group_workers,
    object_boxes,
    scan_workers,
)
from emstudio.core.seg.workers import IN_PROCESS, WorkerPool, sendable

# Blocks of the object scan and the crops meshed together. Small crops let more tasks run at
# once inside the worker memory budget: on a 16-core machine's budget, 7 tasks instead of 5
# at 512 x 2048 x 2048 (64 x 512 x 512 crops: 25 Mvoxels; these: 4 Mvoxels). On 2 cores,
# meshing 128 x 2048 x 2048 took 40.0 s instead of 36.3 s, with 0.54 GiB instead of 0.91.
DEFAULT_BLOCK = (32, 256, 256)
DEFAULT_CROP_VOXELS = 32 * 2**20
GLB_UNITS = {"units": "nm", "note": "coordinates in nanometres; x 1e-9 for metres"}
BYTES_PER_MESH_VOXEL = 14  # a crop in transit and held (uint32 x 2), a mask, a float field


class MeshedObject(NamedTuple):
    """One object's mesh (vertices x, y, z in nm), or None where a worker has written it to
    its file already (``MeshFiles``), and its ``surface.describe`` facts."""

    id: int
    mesh: trimesh.Trimesh | None
    facts: dict[str, Any]


class MeshFiles(NamedTuple):
    """Where workers write each object's mesh themselves: ``{folder}/{id}.{fmt}``. The encoding
    then runs on every worker's core instead of in this process alone, which limited meshing
    on many cores (and the meshes need not travel back)."""

    folder: Path
    fmt: str


def mesh_file(folder: Path, object_id: int, fmt: str) -> Path:
    return Path(folder) / f"{object_id}.{fmt}"


def object_name(object_id: int) -> str:
    return f"object_{object_id}"


def glb_bytes(parts: Sequence[tuple[int, trimesh.Trimesh]]) -> bytes:
    """A glTF binary scene of the meshes, one named node each, saying its unit (glTF readers
    assume metres) in the scene's "extras"."""
    scene = trimesh.Scene()
    scene.metadata.update(GLB_UNITS)
    for object_id, mesh in parts:
        name = object_name(object_id)
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    return scene.export(file_type="glb")


def save_mesh(mesh: trimesh.Trimesh, files: MeshFiles, object_id: int) -> None:
    """Write an object's mesh file (none for an empty mesh)."""
    if mesh.is_empty:
        return
    path = mesh_file(files.folder, object_id, files.fmt)
    if files.fmt == "glb":
        path.write_bytes(glb_bytes([(object_id, mesh)]))
    else:
        mesh.export(path, file_type=files.fmt)


def mesh_crop(
    crop: np.ndarray | tuple[Any, Box],
    members: list[tuple[int, Box, tuple[int, int, int]]],
    voxel_size: tuple[float, float, float],
    options: MeshOptions,
    files: MeshFiles | None = None,
) -> list[tuple[int, np.ndarray | None, np.ndarray | None, dict[str, Any]]]:
    """Worker task: (id, vertices, faces, facts) of each member (id, box in the crop, origin in
    the volume) of a crop, given as pixels or as a sendable source and its box. With ``files``
    each mesh is written there instead, and vertices and faces are None."""
    region = read_padded(*crop) if isinstance(crop, tuple) else crop
    out = []
    for object_id, box, origin in members:
        mesh, facts = described_mask(region[box] == object_id, origin, voxel_size, options)
        if files is None:
            out.append((object_id, mesh.vertices, mesh.faces, facts))
        else:
            save_mesh(mesh, files, object_id)
            out.append((object_id, None, None, facts))
    return out


def read_padded(labels, box: Box) -> np.ndarray:
    """``labels[box]`` where the box may reach outside the array (outside reads as 0)."""
    shape = labels.shape
    inside = tuple(slice(max(s.start, 0), min(s.stop, n)) for s, n in zip(box, shape, strict=True))
    out = np.zeros([s.stop - s.start for s in box], labels.dtype)
    if all(s.stop > s.start for s in inside):
        target = tuple(
            slice(i.start - s.start, i.stop - s.start) for i, s in zip(inside, box, strict=True)
        )
        out[target] = np.asarray(labels[inside])
    return out


def select_objects(boxes: ObjectBoxes, ids: Sequence[int] | None) -> ObjectBoxes:
    if ids is None:
        return boxes
    missing = sorted(set(int(i) for i in ids) - set(boxes.ids.tolist()))
    if missing:
        present = boxes.ids
        span = f"ids {present.min()} to {present.max()}" if len(present) else "no objects"
        raise NotFoundError(
            f"no object with id {', '.join(map(str, missing[:10]))} in this segmentation "
            f"({len(present)} objects, {span})."
        )
    return boxes.select(ids)


def iter_meshes(
    labels,
    voxel_size: tuple[float, float, float],
    options: MeshOptions,
    boxes: ObjectBoxes,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    crop_voxels: int = DEFAULT_CROP_VOXELS,
    progress: Progress = no_progress,
    pool: WorkerPool = IN_PROCESS,
    workers: int | None = None,
    files: MeshFiles | None = None,
) -> Iterator[MeshedObject]:
    """Each object of ``boxes`` meshed, read from ``labels`` (zarr or numpy), by the ``pool``'s
    workers (``workers`` at a time; None: as many as the memory allows). With ``files``, the
    meshes are written there and yielded as None (the facts are given all the same)."""
    sizes = np.prod(boxes.hi - boxes.lo, axis=1)
    normal = np.flatnonzero(sizes <= crop_voxels)
    grouped = group_boxes(boxes.lo[normal], boxes.hi[normal], block, crop_voxels)
    groups = [normal[g] for g in grouped]
    limit = group_workers(boxes.lo, boxes.hi, groups, BYTES_PER_MESH_VOXEL, workers, pool)
    remote = pool.workers > 1 and sendable(labels)
    tasks = (_crop_task(labels, boxes, g, voxel_size, options, remote, files) for g in groups)
    done = 0
    for meshed in pool.map(mesh_crop, tasks, limit):
        for object_id, vertices, faces, facts in meshed:
            mesh = None if files else trimesh.Trimesh(vertices, faces, process=False)
            yield MeshedObject(object_id, mesh, facts)
            done += 1
            progress(done, len(boxes), f"meshed {done}/{len(boxes)} objects")
    for index in np.flatnonzero(sizes > crop_voxels).tolist():
        value = boxes.ids[index]
        mesh, facts = mesh_in_blocks(
            lambda box, v=value: read_padded(labels, box) == v,
            boxes.lo[index],
            boxes.hi[index],
            voxel_size,
            options,
            block,
        )
        yield MeshedObject(int(value), mesh, facts)
        done += 1
        progress(done, len(boxes), f"meshed {done}/{len(boxes)} objects")


def _crop_task(labels, boxes: ObjectBoxes, members: np.ndarray, voxel_size, options, remote, files):
    """The arguments of ``mesh_crop`` for a group of objects read as one crop (by the worker
    itself when ``remote``)."""
    lo, hi = boxes.lo[members].min(0), boxes.hi[members].max(0)
    region = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    listed = []
    for index in members.tolist():
        box = tuple(
            slice(int(a - o), int(b - o))
            for a, b, o in zip(boxes.lo[index], boxes.hi[index], lo, strict=True)
        )
        listed.append((int(boxes.ids[index]), box, tuple(int(v) for v in boxes.lo[index])))
    crop = (labels, region) if remote else read_padded(labels, region)
    return crop, listed, tuple(voxel_size), options, files


def mesh_objects(
    labels,
    voxel_size: tuple[float, float, float],
    options: MeshOptions = MeshOptions(),  # noqa: B008
    ids: Sequence[int] | None = None,
    block: tuple[int, int, int] = DEFAULT_BLOCK,
    crop_voxels: int = DEFAULT_CROP_VOXELS,
    progress: Progress = no_progress,
    workers: int | None = None,
    files: MeshFiles | None = None,
    known: ObjectBoxes | None = None,
) -> Iterator[MeshedObject]:
    """Find the objects (``known``: their boxes, when known already, ``object_cache``), then
    mesh them (``ids``: only these). ``workers``: processes to use (None: one per core, as far
    as the memory allows; this process only reads and collects). ``files``: as for
    ``iter_meshes``."""
    # the scan's processes load the meshing libraries (scikit-image, trimesh) as they start:
    # sized after the scan without them, the meshing pass started more processes than the
    # memory budget holds (a 16-core machine's tree peaked at 4.46 GiB)
    scan = WorkerPool(scan_workers(tuple(labels.shape), block, workers), (__name__,))
    with scan as pool:
        found = known
        if found is None:
            found = object_boxes(labels, block, scaled(progress, 0, 10, 100), pool)
        yield from iter_meshes(
            labels,
            voxel_size,
            options,
            select_objects(found, ids),
            block,
            crop_voxels,
            scaled(progress, 10, 90, 100),
            pool,
            workers,
            files,
        )
