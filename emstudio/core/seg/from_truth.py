"""Area and boundary probability maps derived from ground-truth instances.

Before any model exists (and to check the post-processing on its own), a labelled instance
volume gives the maps a perfect network would predict: area = 255 inside objects, boundary =
255 on the voxels of an object that touch another label or the background (6-neighbours).
Segmenting these maps must give back the ground truth (AP-75 = 1.0 on the demo phantom).

``add_truth_prediction`` registers them in a project as a prediction set, named like the
deep-learning predictions: ``{set}-{class}`` and ``{set}-boundary``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

from emstudio.core.progress import Progress, no_progress
from emstudio.core.project import atomic, provenance
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import check_new_name
from emstudio.core.volume.store import Volume, VolumeWriter

BOUNDARY_CLASS = "boundary"


def border_voxels(labels: np.ndarray) -> np.ndarray:
    """Object voxels with a 6-neighbour of another label (inside the array)."""
    border = np.zeros(labels.shape, bool)
    for axis in range(labels.ndim):
        a = [slice(None)] * labels.ndim
        b = [slice(None)] * labels.ndim
        a[axis], b[axis] = slice(1, None), slice(None, -1)
        differ = labels[tuple(a)] != labels[tuple(b)]
        border[tuple(a)] |= differ
        border[tuple(b)] |= differ
    return border & (labels > 0)


def maps_from_instances(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(area, boundary) uint8 maps (0 or 255) of an instance block."""
    area = np.where(labels > 0, 255, 0).astype(np.uint8)
    boundary = np.where(border_voxels(labels), 255, 0).astype(np.uint8)
    return area, boundary


def iter_truth_maps(volume: Volume, planes: int):
    """(z0, area, boundary) slabs of a stored instance volume, with a one-plane halo."""
    depth = volume.shape[0]
    for z0 in range(0, depth, planes):
        z1 = min(z0 + planes, depth)
        lo, hi = max(z0 - 1, 0), min(z1 + 1, depth)
        area, boundary = maps_from_instances(volume.read(lo, hi))
        inner = slice(z0 - lo, z0 - lo + (z1 - z0))
        yield z0, area[inner], boundary[inner]


def add_truth_prediction(
    project: Project,
    instances: str = "truth-mito-instances",
    set_name: str = "truth",
    class_name: str = "mitochondria",
    job_id: str | None = None,
    progress: Progress = no_progress,
) -> list[VolumeRecord]:
    """Register ``{set}-{class}`` and ``{set}-boundary`` derived from an instance volume."""
    source = project.catalog.volume(instances)
    volume = Volume(project.resolve(source.path))
    names = [f"{set_name}-{class_name}", f"{set_name}-{BOUNDARY_CLASS}"]
    for name in names:
        check_new_name(project, name)
    staged: list[tuple[Path, VolumeWriter, VolumeRecord]] = []
    prov = provenance.record(
        "prediction-from-truth",
        job_id=job_id,
        params={"instances": instances, "set": set_name, "class": class_name},
        inputs=[{"volume": source.name, "id": source.id}],
    )
    try:
        for name, cls in zip(names, (class_name, BOUNDARY_CLASS), strict=True):
            path = project.staging_path()
            writer = VolumeWriter(
                path, volume.shape, "uint8", volume.voxel_size, "prediction", name
            )
            record = VolumeRecord(
                id=uuid.uuid4().hex,
                name=name,
                kind="prediction",
                path="",
                shape=volume.shape,
                dtype="uint8",
                voxel_size=volume.voxel_size,
                chunks=tuple(writer.chunks),
                levels=len(writer.arrays),
                source=f"ground truth {source.name!r}, as maps",
                image_id=source.image_id,
                attrs={"prediction_set": set_name, "class": cls, "from_truth": source.name},
                provenance=prov,
            )
            staged.append((path, writer, record))
        step = min(w.slab_planes for _, w, _ in staged)
        for z0, area, boundary in iter_truth_maps(volume, step):
            staged[0][1].write_slab(z0, area)
            staged[1][1].write_slab(z0, boundary)
            progress(z0 + len(area), volume.shape[0], "deriving maps from ground truth")
        records = []
        for path, writer, record in staged:
            writer.finalize({"source": record.source})
            records.append(project.commit_volume(path, record))
        return records
    finally:
        for path, writer, _ in staged:
            writer.close()
            atomic.remove_tree(path)
