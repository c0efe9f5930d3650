"""Import files into a project: detect the format, check, convert, stream, register."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo, VoxelSize
from emstudio.core.io.dtypes import needs_value_range, plan_conversion, scan_value_range
from emstudio.core.io.open_source import open_source
from emstudio.core.progress import Progress, no_progress, scaled
from emstudio.core.project import provenance
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import check_new_name, check_outside_project, import_source

SCAN_SHARE = 20  # percent of the progress bar for the value-range pass (non-uint8/16 data)
MIN_PLAUSIBLE_NM = 0.1  # a voxel size below this was surely given in µm
MANY_CLASSES = 32  # labels with more classes were probably an image or object ids


def import_files(
    project: Project,
    paths: Sequence[str | Path],
    *,
    name: str,
    kind: str = "image",
    voxel_size: VoxelSize | None = None,
    like: str | None = None,
    class_names: dict[int, str] | None = None,
    recode: dict[int, int] | None = None,
    object_class: str | None = None,
    job_id: str | None = None,
    progress: Progress = no_progress,
    log: Callable[[str], None] = print,
) -> VolumeRecord:
    """Import one volume from ``paths`` (a file, a folder of slices, or a list of slices).

    Voxel size: labels (and a segmentation of an image) take the image's; otherwise the user's
    value wins, then the file's metadata; else 1,1,1 is recorded as unknown and the user is
    told. Labels get the classes they hold (after ``recode``: ``{old value: new value}``),
    named by ``class_names`` where it names them, else "class N"; what training will make of
    them is said. A segmentation (object ids, e.g. from another tool) needs no image; its
    objects are ``object_class`` (else named after the volume).
    """
    name = check_new_name(project, name)
    check_outside_project(project, paths)
    image = project.catalog.volume(like) if like else _default_image(project, kind)
    with open_source(paths) as source:
        info = source.info
        if image is not None and kind != "image" and tuple(info.shape) != tuple(image.shape):
            raise InputFileError(
                info.path,
                f"labels have shape {_fmt(info.shape)} (z, y, x) but image {image.name!r} has "
                f"{_fmt(image.shape)}; labels must match their image voxel for voxel.",
            )
        size = _choose_voxel_size(voxel_size, info, image if kind != "image" else None, log)
        if not size.known:
            log(
                f"{info.path}: no voxel size in the file's metadata; recorded 1 x 1 x 1 as "
                "unknown. Set it with --voxel-size Z,Y,X (nm) for physical measurements."
            )
        for note in info.notes:
            log(f"{info.path}: {note}")
        stats = None
        offset = 0
        if needs_value_range(info, kind):
            scan = scaled(progress, 0, SCAN_SHARE, 100)
            stats = scan_value_range(source, lambda done, total: scan(done, total, "scanning"))
            offset = SCAN_SHARE
        conversion = plan_conversion(info, kind, stats)
        if recode:
            if kind != "labels":
                raise InputFileError("--recode", "recodes the values of labels: add --kind labels.")
            try:
                conversion = conversion.with_recode(recode)
            except ValueError as exc:
                raise InputFileError(info.path, str(exc)) from None
        if conversion.rule:
            log(f"{info.path}: {conversion.rule}")
        params = {
            "name": name,
            "kind": kind,
            "voxel_size_nm": list(size.zyx),
            "voxel_size_known": size.known,
            "like": like,
            "classes": {str(k): v for k, v in (class_names or {}).items()},
            "recode": {str(k): v for k, v in (recode or {}).items()},
            "class": object_class,
        }
        attrs = {"class": (object_class or name).strip()} if kind == "segmentation" else None
        record = import_source(
            project,
            source,
            conversion,
            name=name,
            kind=kind,
            voxel_size=size,
            image=image,
            attrs=attrs,
            class_names=class_names,
            provenance=provenance.record(
                "import",
                job_id=job_id,
                params=params,
                inputs=[provenance.describe_input(p) for p in paths],
            ),
            progress=scaled(progress, offset, 100 - offset, 100),
        )
    if kind == "labels":
        for note in label_notes(record):
            log(f"{info.path}: {note}")
    return record


def label_notes(record: VolumeRecord) -> list[str]:
    """What training will make of imported labels, where it may not be what the file meant:
    255 is "not labelled here", and a label set of 0 and 255 alone has no class."""
    notes = []
    unlabelled = float(record.attrs.get("unlabelled_fraction") or 0.0)
    classes = {k: v for k, v in (record.attrs.get("classes") or {}).items() if k != "0"}
    if unlabelled:
        notes.append(
            f"value 255 means 'not labelled here' (training ignores it); it covers "
            f"{100 * unlabelled:.1f} % of the voxels. If 255 is a structure in this file, "
            "recode it to a free value, e.g. --recode 255=2 --classes 2=NAME."
        )
    absent = [f"{v}={classes.get(str(v), v)}" for v in record.attrs.get("absent_classes", [])]
    if absent:
        notes.append(
            f"no voxel holds the value of {', '.join(absent)} (named by --classes): check the "
            "file's values (info --json lists the classes); a class without voxels cannot be "
            "learned."
        )
    if len(classes) > MANY_CLASSES:
        notes.append(
            f"these labels hold {len(classes)} classes: is this an image, or object ids? Labels "
            "mark a few classes (1 = membrane, 2 = mitochondria...); import an image with --kind "
            "image, objects made elsewhere with --kind segmentation."
        )
    if not classes:
        notes.append(
            "these labels hold no class: 0 is background and 255 not labelled. If the file marks "
            "a structure with 0 or 255 (ISBI 2012: 0 = membrane, 255 = the rest), import it "
            "with --recode 0=1,255=0 --classes 1=membrane."
        )
    return notes


def _default_image(project: Project, kind: str) -> VolumeRecord | None:
    """Labels without --like belong to the project's only image, if there is exactly one."""
    if kind != "labels":
        return None
    images = project.catalog.volumes("image")
    if len(images) == 1:
        return images[0]
    names = ", ".join(v.name for v in images) or "none yet"
    raise InputFileError(
        "--like", f"labels need the image they belong to: give --like IMAGE (images: {names})."
    )


def _choose_voxel_size(
    user: VoxelSize | None,
    info: SourceInfo,
    image: VolumeRecord | None,
    log: Callable[[str], None],
) -> VoxelSize:
    """Labels take their image's voxel size (they match it voxel for voxel); otherwise the
    user's value wins over the file's, and a disagreement is said."""
    from_file = info.voxel_size
    if image is not None and image.voxel_size.known:
        ours = image.voxel_size.zyx
        if user is not None and not np.allclose(user.zyx, ours):
            raise InputFileError(
                "--voxel-size",
                f"labels take the voxel size of their image {image.name!r} ({_nm(ours)}); "
                "leave --voxel-size out.",
            )
        if from_file.known and not np.allclose(from_file.zyx, ours):
            log(
                f"{info.path}: the file says {_nm(from_file.zyx)}; the labels take their "
                f"image's {_nm(ours)}."
            )
        return VoxelSize(*ours, known=True, origin=f"image {image.name!r}")
    if user is not None:
        if from_file.known and not np.allclose(user.zyx, from_file.zyx):
            log(
                f"{info.path}: the file says {_nm(from_file.zyx)} ({from_file.origin}); "
                f"recorded {_nm(user.zyx)} as given."
            )
        if min(user.zyx) < MIN_PLAUSIBLE_NM:
            log(
                f"note: {_nm(user.zyx)} is smaller than any electron microscope resolves; "
                "--voxel-size is in nm (10 nm = 0.01 µm)."
            )
        return user
    return from_file if from_file.known else VoxelSize()


def _nm(zyx: Sequence[float]) -> str:
    return " x ".join(f"{v:g}" for v in zyx) + " nm (z, y, x)"


def _fmt(shape: Sequence[int]) -> str:
    return " x ".join(str(s) for s in shape)
