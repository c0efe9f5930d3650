"""Registering a prediction set: one ``prediction`` volume per output, named ``{out}-{class}``
(``{out}-boundary`` for a boundary output; ``{out}-{class}-{axis}`` for kept per-axis maps).

All stores are written first; then they are committed one after the other, and if any commit
fails the ones already committed are deleted again: a prediction set is registered whole or
not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emstudio.core.project import atomic
from emstudio.core.project.manage import delete_volume
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import check_free_space, check_new_name
from emstudio.core.volume.store import VolumeWriter


@dataclass(frozen=True)
class OutputVolume:
    name: str
    output: str  # class name or "boundary"
    axis: str | None  # None: the combined map


def plan_outputs(
    out: str, outputs: list[str], axes: list[str], keep_axes: bool
) -> list[OutputVolume]:
    planned = [OutputVolume(f"{out}-{o}", o, None) for o in outputs]
    if keep_axes and len(axes) > 1:
        planned += [OutputVolume(f"{out}-{o}-{a}", o, a) for o in outputs for a in axes]
    return planned


def check_outputs(project: Project, planned: list[OutputVolume], shape) -> None:
    """Before any work: every name is free and the disk can hold the outputs."""
    for item in planned:
        check_new_name(project, item.name, "--out")
    z, y, x = shape
    check_free_space(project, z * y * x * len(planned))


def _stage(project: Project, item: OutputVolume, image: VolumeRecord, attrs: dict, prov: dict):
    """A writer for one planned volume in a staging folder, and its catalog record."""
    path = project.staging_path()
    writer = VolumeWriter(path, image.shape, "uint8", image.voxel_size, "prediction", item.name)
    record_attrs = {**attrs, "class": item.output, **({"axis": item.axis} if item.axis else {})}
    record = VolumeRecord.new_of(
        image,
        item.name,
        "prediction",
        f"prediction of {image.name!r} by model {attrs.get('model')!r}",
        attrs=record_attrs,
        provenance=prov,
    )
    record.take_layout(writer)
    return path, writer, record


def write_prediction_set(
    project: Project,
    planned: list[OutputVolume],
    slabs: Iterable[tuple[int, dict, dict]],
    image: VolumeRecord,
    attrs: dict[str, Any],
    prov: dict[str, Any],
) -> list[VolumeRecord]:
    """Write the planned volumes from ``slabs`` ((z0, combined, per_axis) in z order), then
    register them together."""
    staged: list[tuple[Path, VolumeWriter, VolumeRecord, OutputVolume]] = []
    committed: list[VolumeRecord] = []
    try:
        for item in planned:
            staged.append((*_stage(project, item, image, attrs, prov), item))
        for z0, combined, per_axis in slabs:
            for _path, writer, _record, item in staged:
                by_axis = per_axis[item.output]
                writer.write_slab(z0, by_axis[item.axis] if item.axis else combined[item.output])
        for _path, writer, record, _item in staged:
            writer.finalize({"source": record.source, **record.attrs})
        for path, _writer, record, _item in staged:
            committed.append(project.commit_volume(path, record))
        return committed
    except BaseException:
        for record in committed:
            delete_volume(project, record)
        raise
    finally:
        for path, writer, _record, _item in staged:
            writer.close()
            atomic.remove_tree(path)
