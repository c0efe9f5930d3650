"""``crowd simulate``: a Zooniverse-style export traced by simulated volunteers over the objects
of one class of a project's label set (written next to nothing in the project)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.crowd.classes import pick_class
from emstudio.core.crowd.simulate import (
    SimulationError,
    SimulationOptions,
    export_text,
    make_subjects,
    simulate_rows,
)
from emstudio.core.destinations import check_new_file
from emstudio.core.errors import DestinationError
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project.project import Project
from emstudio.core.volume.store import Volume


def planes_with(
    volume: Volume, traced: Callable[[np.ndarray], np.ndarray], count: int | None
) -> list[int]:
    """Up to ``count`` z planes holding voxels ``traced`` marks, evenly spread (all when None)."""
    found = []
    for z0, block in volume.iter_slabs():
        found.extend(z0 + np.flatnonzero(traced(block).any(axis=(1, 2))))
    if count is None or len(found) <= count:
        return [int(z) for z in found]
    picks = np.linspace(0, len(found) - 1, count).round().astype(int)
    return [int(found[i]) for i in picks]


def simulate_from_labels(
    project: Project,
    labels: str,
    out: str | Path,
    options: SimulationOptions,
    *,
    class_value: str | None = None,
    slices: int | None = 10,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Write the export to ``out`` (atomically, never over a file); returns what was simulated.
    Volunteers trace one class of a label set, or every object of a segmentation."""
    if slices is not None and slices < 1:
        raise SimulationError(f"trace at least one slice (--slices), not {slices}.")
    out = check_new_file(out, project.path)
    record = project.catalog.volume(labels)
    if record.kind not in ("labels", "segmentation"):
        raise SimulationError(f"{labels!r} is {record.kind_phrase}, not a label set.")
    image = next((v for v in project.catalog.volumes("image") if v.id == record.image_id), None)
    if record.kind == "segmentation":
        value: int | str = record.object_class

        def traced(block: np.ndarray) -> np.ndarray:
            return block > 0

    else:
        value = pick_class(record, class_value)

        def traced(block: np.ndarray) -> np.ndarray:
            return block == value

    volume = Volume(project.resolve(record.path))
    zs = planes_with(volume, traced, slices)
    if not zs:
        raise SimulationError(f"{labels!r} has no voxel of class {value}: nothing to trace.")
    planes = ((("z", z), traced(volume.plane(0, z))) for z in zs)
    subjects = make_subjects(planes, options.scale, options.margin)
    volume_name = image.name if image else record.name
    total = len(subjects) * options.volunteers
    rows = _counted(simulate_rows(subjects, volume_name, options), total, progress)
    _write_atomic(Path(out), export_text(rows))
    return {
        "out": str(Path(out).absolute()),
        "subjects": len(subjects),
        "classifications": total,
        "class": value,
        "slices": zs,
        "volume": volume_name,
    }


def _counted(rows, total: int, progress: Progress):
    for n, row in enumerate(rows, start=1):
        yield row
        progress(n, total, f"classification {n}/{total}")


def _write_atomic(path: Path, chunks) -> None:
    """Stream text to a temporary file beside ``path``, then rename it into place."""
    if not path.parent.is_dir():
        raise DestinationError(f"{path.parent}: folder does not exist.")
    tmp = path.with_name(f".tmp-{path.name}.{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise DestinationError(f"{path}: cannot write the export ({exc.strerror}).") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
