"""Helper of tests in any folder: store an in-memory array as a project volume."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.volumes import add_volume
from emstudio.core.volume.store import VolumeWriter

VOXEL = VoxelSize(40, 10, 10, known=True)


def add_array(
    project: Project,
    name: str,
    kind: str,
    data: np.ndarray,
    voxel: VoxelSize = VOXEL,
    **fields,
) -> VolumeRecord:
    """Store ``data`` as a new volume of ``project`` (``fields``: image_id, attrs, ...)."""
    record = VolumeRecord.new(name, kind, data.shape, data.dtype.name, voxel, "test", **fields)

    def write(staging: Path) -> None:
        with VolumeWriter(staging, data.shape, data.dtype, voxel, kind, name) as writer:
            writer.write_slab(0, data)
            writer.finalize({})
            record.take_layout(writer)

    return add_volume(project, write, record)
