"""Stream a source volume into a multiscale store, slab by slab (memory bounded by the slab)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from emstudio.core.io.base import VolumeSource, VoxelSize
from emstudio.core.io.dtypes import Conversion
from emstudio.core.progress import Progress, no_progress
from emstudio.core.volume.store import VolumeWriter


class ValuesSeen:
    """How often each value of a uint8 or uint16 volume occurs (labels: which classes, and how
    much is left unlabelled), slab by slab."""

    def __init__(self, dtype: np.dtype) -> None:
        self._counts = np.zeros(2 ** (8 * np.dtype(dtype).itemsize), np.int64)

    def add(self, block: np.ndarray) -> None:
        self._counts += np.bincount(block.ravel(), minlength=len(self._counts))

    @property
    def values(self) -> list[int]:
        return [int(v) for v in np.flatnonzero(self._counts)]

    def fraction(self, value: int) -> float:
        """The share of the voxels seen that hold ``value``."""
        total = int(self._counts.sum())
        return float(self._counts[value]) / total if total else 0.0


def ingest(
    source: VolumeSource,
    conversion: Conversion,
    path: Path,
    *,
    kind: str,
    name: str,
    voxel_size: VoxelSize,
    progress: Progress = no_progress,
    seen: ValuesSeen | None = None,
) -> VolumeWriter:
    """Write ``source`` (converted by ``conversion``) as a new store at ``path``; ``seen``
    takes note of the values written."""
    z = source.info.shape[0]
    with VolumeWriter(
        path, source.info.shape, conversion.target_dtype, voxel_size, kind, name
    ) as writer:
        step = writer.slab_planes

        def read(z0: int) -> np.ndarray:
            block = conversion.apply(source.read_slab(z0, min(z0 + step, z)))
            if seen is not None:
                seen.add(block)
            return block

        # the next slab is read while this one is downsampled and written
        with ThreadPoolExecutor(1, thread_name_prefix="slab-reader") as reader:
            upcoming = reader.submit(read, 0)
            for z0 in range(0, z, step):
                block = upcoming.result()
                if z0 + step < z:
                    upcoming = reader.submit(read, z0 + step)
                writer.write_slab(z0, block)
                z1 = z0 + block.shape[0]
                progress(z1, z, f"writing planes {z1}/{z}")
        info = source.info
        writer.finalize({"source": info.path, "format": info.format, "conversion": conversion.rule})
    return writer
