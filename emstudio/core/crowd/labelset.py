"""Writing a consensus as a label set: a ``labels`` volume the shape of its image, filled slab by
slab in z order (only labelled slices carry data), with the tracings sidecar inside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.crowd.aggregate import Aggregation, SliceResult
from emstudio.core.crowd.mapping import AXES
from emstudio.core.crowd.sidecar import SIDECAR_PATH, write_sidecar
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import add_volume, check_free_space, check_new_name
from emstudio.core.volume.store import VolumeWriter

LABEL_VALUE = 1
LABELS_COMPRESSION = 20  # label volumes are mostly zeros: a conservative space estimate


def labelled_slices(aggregation: Aggregation) -> dict[str, list[int]]:
    """{"z": [...], "y": [...], "x": [...]}: the planes with a consensus, per axis."""
    out: dict[str, list[int]] = {axis: [] for axis in AXES}
    for result in aggregation.labelled:
        out[result.key[0]].append(result.key[1])
    return {axis: sorted(indices) for axis, indices in out.items()}


def write_label_set(
    project: Project,
    image: VolumeRecord,
    name: str,
    aggregation: Aggregation,
    *,
    class_name: str,
    crowd: dict[str, Any],
    sidecar: dict[str, Any],
    provenance: dict[str, Any],
    progress: Progress = no_progress,
) -> VolumeRecord:
    """Register the consensus as a new label set of ``image`` (catalog row last)."""
    name = check_new_name(project, name)
    z, y, x = image.shape
    check_free_space(project, z * y * x // LABELS_COMPRESSION)
    attrs = {
        "classes": {"0": "background", str(LABEL_VALUE): class_name},
        "labelled_slices": labelled_slices(aggregation),
        "crowd": {**crowd, "tracings": SIDECAR_PATH},
    }
    record = VolumeRecord.new_of(
        image,
        name,
        "labels",
        str(crowd.get("source", "crowd consensus")),
        attrs=attrs,
        provenance=provenance,
    )

    def write(staging: Path) -> None:
        with VolumeWriter(staging, image.shape, "uint8", image.voxel_size, "labels", name) as w:
            step = w.slab_planes
            for z0 in range(0, z, step):
                z1 = min(z0 + step, z)
                w.write_slab(z0, _slab(aggregation.labelled, z0, z1, (y, x)))
                progress(z1, z, f"writing planes {z1}/{z}")
            w.finalize({"source": record.source, **attrs})
            record.take_layout(w)
        write_sidecar(staging, sidecar)

    return add_volume(project, write, record)


def _slab(results: list[SliceResult], z0: int, z1: int, plane: tuple[int, int]) -> np.ndarray:
    """Planes z0..z1-1 of the label volume: every labelled slice's crop that falls in them."""
    block = np.zeros((z1 - z0, *plane), dtype=np.uint8)
    for result in results:
        (axis, index), (r0, r1, c0, c1), label = result.key, result.box, result.label
        if axis == "z":
            if z0 <= index < z1:
                block[index - z0, r0:r1, c0:c1] |= label.astype(np.uint8) * LABEL_VALUE
            continue
        lo, hi = max(r0, z0), min(r1, z1)  # plane rows are z for XZ and YZ slices
        if lo >= hi:
            continue
        part = label[lo - r0 : hi - r0].astype(np.uint8) * LABEL_VALUE
        if axis == "y":
            block[lo - z0 : hi - z0, index, c0:c1] |= part
        else:
            block[lo - z0 : hi - z0, c0:c1, index] |= part
    return block
