"""The demo project's content: the phantom image and its ground truth, written in lockstep."""

from __future__ import annotations

import uuid
from pathlib import Path

from emstudio.core.io.base import VoxelSize
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project import atomic, provenance
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import check_free_space, check_new_name
from emstudio.core.synth import CLASS_NAMES, MITOCHONDRIA, PhantomSpec, render_slab
from emstudio.core.volume.store import VolumeWriter

# name, kind, field of PhantomSlab, dtype
DEMO_VOLUMES = (
    ("em", "image", "image", "uint8"),
    ("truth-classes", "labels", "semantic", "uint8"),
    ("truth-mito-instances", "segmentation", "mito_instances", "uint32"),
)
DEFAULT_SHAPE = (32, 256, 256)


def add_demo_volumes(
    project: Project,
    shape: tuple[int, int, int] | None = None,
    seed: int = 0,
    job_id: str | None = None,
    progress: Progress = no_progress,
) -> list[VolumeRecord]:
    """Render the phantom slab by slab into three new volumes (memory: one slab)."""
    spec = PhantomSpec.create(shape=tuple(shape or DEFAULT_SHAPE), seed=seed)
    voxel = VoxelSize(*spec.voxel_size_nm, known=True, origin="phantom")
    z, y, x = spec.shape
    for name, *_ in DEMO_VOLUMES:
        check_new_name(project, name)
    check_free_space(project, z * y * x * 6)
    staged: list[tuple[Path, VolumeWriter, VolumeRecord]] = []
    params = {"shape": list(spec.shape), "seed": seed, "voxel_size_nm": list(spec.voxel_size_nm)}
    image_id = uuid.uuid4().hex
    try:
        for name, kind, _field, dtype in DEMO_VOLUMES:
            path = project.staging_path()
            writer = VolumeWriter(path, spec.shape, dtype, voxel, kind, name)
            classes = {str(k): v for k, v in CLASS_NAMES.items()}
            attrs = {"classes": classes} if kind == "labels" else {}
            if kind == "segmentation":
                attrs = {"class": CLASS_NAMES[MITOCHONDRIA]}  # its objects are mitochondria
            record = VolumeRecord.new(
                name,
                kind,
                spec.shape,
                dtype,
                voxel,
                f"synthetic phantom (seed {seed})",
                attrs=attrs,
                provenance=provenance.record("demo", job_id=job_id, params=params, inputs=[]),
                **({"id": image_id} if kind == "image" else {"image_id": image_id}),
            )
            record.take_layout(writer)
            staged.append((path, writer, record))
        step = min(w.slab_planes for _, w, _ in staged)
        for z0 in range(0, z, step):
            slab = render_slab(spec, z0, min(z0 + step, z))
            for (_, writer, _), (_, _, field, _) in zip(staged, DEMO_VOLUMES, strict=True):
                writer.write_slab(z0, getattr(slab, field))
            z1 = min(z0 + step, z)
            progress(z1, z + len(staged), f"rendering planes {z1}/{z}")
        records = []
        for i, (path, writer, record) in enumerate(staged):
            writer.finalize({"source": record.source})
            records.append(project.commit_volume(path, record))
            progress(z + i + 1, z + len(staged), f"saved {record.name}")
        return records
    finally:
        for path, writer, _ in staged:
            writer.close()
            atomic.remove_tree(path)
