"""Stream a source volume into a multiscale store, slab by slab (memory bounded by the slab)."""

from __future__ import annotations

from pathlib import Path

from emstudio.core.io.base import VolumeSource, VoxelSize
from emstudio.core.io.dtypes import Conversion
from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.volume.store import VolumeWriter

PYRAMID_SHARE = 10  # percent of the progress bar given to building coarser levels


def ingest(
    source: VolumeSource,
    conversion: Conversion,
    path: Path,
    *,
    kind: str,
    name: str,
    voxel_size: VoxelSize,
    progress: Progress = no_progress,
) -> VolumeWriter:
    """Write ``source`` (converted by ``conversion``) as a new store at ``path``."""
    shape = source.info.shape
    writer = VolumeWriter(path, shape, conversion.target_dtype, voxel_size, kind, name)
    step = writer.slab_planes
    total = 100
    main = scaled(progress, 0, total - PYRAMID_SHARE, total)
    for z0 in range(0, shape[0], step):
        z1 = min(z0 + step, shape[0])
        writer.write_slab(z0, conversion.apply(source.read_slab(z0, z1)))
        main(z1, shape[0], f"writing planes {z1}/{shape[0]}")
    writer.build_pyramid(scaled(progress, total - PYRAMID_SHARE, PYRAMID_SHARE, total))
    writer.finalize(
        {"source": source.info.path, "format": source.info.format, "conversion": conversion.rule}
    )
    progress(total, total, "done")
    return writer
