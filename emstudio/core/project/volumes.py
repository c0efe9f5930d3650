"""Adding volumes to a project: checks first, staged write, then the catalog row (last)."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.destinations import is_inside
from emstudio.core.errors import DestinationError, InputFileError
from emstudio.core.io.base import VolumeSource, VoxelSize
from emstudio.core.io.dtypes import Conversion
from emstudio.core.ml.labels import IGNORE, named_classes
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project import atomic
from emstudio.core.project.catalog import checked_name
from emstudio.core.project.project import Project
from emstudio.core.project.records import VOLUME_KINDS, VolumeRecord
from emstudio.core.volume.ingest import ValuesSeen, ingest

SPACE_MARGIN = 1.15  # stores need a little more than the raw voxels (pyramid: ~+15 % at most)


def check_new_name(project: Project, name: str, option: str = "--name") -> str:
    """``name`` stripped; refused when empty or taken, naming the ``option`` that gives it."""
    has = project.catalog.has_volume_name
    return checked_name(name, "volume", option, has, f"choose another {option}")


def check_outside_project(project: Project, paths: Sequence[str | Path]) -> None:
    for path in paths:
        if is_inside(Path(str(path)), project.path):
            raise InputFileError(
                path, "is inside the project folder; import files from outside the project."
            )


def check_free_space(project: Project, needed_bytes: int) -> None:
    free = shutil.disk_usage(project.data_dir).free
    if needed_bytes * SPACE_MARGIN > free:
        raise DestinationError(
            f"{project.data_dir}: not enough free disk space: the volume needs about "
            f"{needed_bytes * SPACE_MARGIN / 2**30:.2f} GiB, {free / 2**30:.2f} GiB are free."
        )


def add_volume(
    project: Project,
    write: Callable[[Path], Any],
    record: VolumeRecord,
) -> VolumeRecord:
    """Run ``write(staging_path)``, then move the store into place and register it.

    Anything that goes wrong (including a full disk or Ctrl-C) removes the staging folder; an
    abrupt kill leaves a ``.tmp-*`` folder that the next ``Project.open`` removes.
    """
    staging = project.staging_path()
    try:
        write(staging)
        return project.commit_volume(staging, record)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            raise DestinationError(
                f"{project.data_dir}: cannot write the volume ({exc.strerror}); "
                "nothing was added to the project."
            ) from exc
        raise
    finally:
        atomic.remove_tree(staging)


def import_source(
    project: Project,
    source: VolumeSource,
    conversion: Conversion,
    *,
    name: str,
    kind: str,
    voxel_size: VoxelSize,
    provenance: dict[str, Any],
    image: VolumeRecord | None = None,
    attrs: dict[str, Any] | None = None,
    class_names: dict[int, str] | None = None,
    progress: Progress = no_progress,
) -> VolumeRecord:
    """Stream an opened source into the project as a new volume; labels get the classes they
    hold (``class_names`` names them)."""
    if kind not in VOLUME_KINDS:
        raise ValueError(f"kind must be one of {VOLUME_KINDS}, not {kind!r}")
    name = check_new_name(project, name)
    z, y, x = source.info.shape
    check_free_space(project, z * y * x * conversion.target_dtype.itemsize)
    record = VolumeRecord.new(
        name,
        kind,
        (z, y, x),
        conversion.target_dtype.name,
        voxel_size,
        f"{source.info.path} ({source.info.format})",
        image_id=image.id if image else None,
        attrs={"conversion": conversion.rule, "notes": source.info.notes, **(attrs or {})},
        provenance=provenance,
    )

    # a label set's classes are the values it holds, named as given (else "class N")
    small = np.dtype(conversion.target_dtype).itemsize <= 2
    seen = ValuesSeen(conversion.target_dtype) if kind == "labels" and small else None

    def write(staging: Path) -> None:
        writer = ingest(
            source,
            conversion,
            staging,
            kind=kind,
            name=name,
            voxel_size=voxel_size,
            progress=progress,
            seen=seen,
        )
        record.take_layout(writer)
        if seen is not None:
            record.attrs["classes"] = named_classes(seen.values, class_names)
            record.attrs["unlabelled_fraction"] = seen.fraction(IGNORE)
            absent = sorted(set(class_names or {}) - {int(v) for v in seen.values})
            if absent:  # named by the user, held by no voxel
                record.attrs["absent_classes"] = absent

    return add_volume(project, write, record)
