"""Registering a prediction set: one ``prediction`` volume per output, named ``{out}-{class}``
(``{out}-boundary`` for a boundary output; ``{out}-{class}-{axis}`` for kept per-axis maps).

All stores are written first (z slab by z slab, or column by column: ``PredictionSet``); then
they are committed one after the other, and if any commit fails the ones already committed are
deleted again: a prediction set is registered whole or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emstudio.core.project import atomic
from emstudio.core.project.manage import delete_volume
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import check_free_space, check_new_name
from emstudio.core.seg.workers import cpu_count
from emstudio.core.volume.boxprocess import BoxWriterProcess, shared_memory_room
from emstudio.core.volume.store import VolumeWriter, write_boxes

# Chunk-writing threads per map. Maps are written while the model runs, and the thread that
# drives the model gives up the GIL at every torch call: each chunk thread that takes it
# meanwhile delays the next call. On the 2-core development machine, while three 517 x 1024 x
# 1024 maps were written, a thread making small torch calls made 8-18k calls/s beside 4 chunk
# threads per map, 20-38k beside 1 (180-260k alone); the maps took 6.0-7.8 s to write instead
# of 5.3-7.3 s (this disk takes 254 MB/s). Column by column, the maps go to a process of
# their own instead (``BoxWriterProcess``), with the cores the job's own threads leave: the
# thread driving the model, and the image reader with its copier threads (``JOB_BUSY_CORES``).
MAP_WRITE_THREADS = 1
JOB_BUSY_CORES = 4
MAX_MAP_WRITE_THREADS = 4


def map_write_threads(maps: int, cores: int) -> int:
    """Chunk-writing threads for each of ``maps`` maps written by a process of their own beside
    a GPU job on ``cores`` cores: the cores the job's threads leave, shared among the maps, at
    least ``MAP_WRITE_THREADS`` and at most ``MAX_MAP_WRITE_THREADS``."""
    spare = (cores - JOB_BUSY_CORES) // max(1, maps)
    return max(MAP_WRITE_THREADS, min(MAX_MAP_WRITE_THREADS, spare))


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


class PredictionSet:
    """The planned volumes of a prediction being written, registered together by ``commit``.

    Each is staged in its own store: a fresh temporary one under the project's data folder, or,
    given ``folder``, ``folder/<name>.zarr``, which a resumed job opens again to go on filling.
    ``in_boxes``: the volumes are filled by ``write_box`` (their chunks keep their full depth).
    Given ``box_bytes``, the most bytes one ``write_box`` brings (all volumes together), boxes
    are written by a child process where shared memory holds that much, else by threads here.
    """

    def __init__(
        self,
        project: Project,
        planned: list[OutputVolume],
        image: VolumeRecord,
        attrs: dict[str, Any],
        prov: dict[str, Any],
        folder: Path | None = None,
        in_boxes: bool = False,
        box_bytes: int = 0,
    ) -> None:
        self.project = project
        self.staged: list[tuple[Path, VolumeWriter, VolumeRecord, OutputVolume]] = []
        self._process: BoxWriterProcess | None = None
        try:
            for item in planned:
                path = folder / f"{item.name}.zarr" if folder else project.staging_path()
                writer, record = self._stage(path, item, image, attrs, prov, in_boxes)
                self.staged.append((path, writer, record, item))
            if box_bytes and shared_memory_room(box_bytes):
                self._process = BoxWriterProcess(
                    [writer.pyramid_boxes for _path, writer, _record, _item in self.staged],
                    box_bytes,
                    map_write_threads(len(self.staged), cpu_count()),
                )
        except BaseException:
            self.close(remove=True)
            raise

    @property
    def writes_in_child(self) -> bool:
        """Whether ``write_box`` hands the boxes to a child process."""
        return self._process is not None

    @staticmethod
    def _stage(
        path: Path, item: OutputVolume, image: VolumeRecord, attrs: dict, prov: dict, boxes: bool
    ):
        """A writer for one planned volume (``boxes``: filled by ``write_box``), and its
        catalog record."""
        writer = VolumeWriter(
            path,
            image.shape,
            "uint8",
            image.voxel_size,
            "prediction",
            item.name,
            reopen=True,
            threads=MAP_WRITE_THREADS,
            in_boxes=boxes,
        )
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
        return writer, record

    def _maps(self, combined: dict, per_axis: dict) -> Iterator[tuple[VolumeWriter, Any]]:
        """(writer, its map) for every staged volume."""
        for _path, writer, _record, item in self.staged:
            yield writer, per_axis[item.output][item.axis] if item.axis else combined[item.output]

    def write_slab(self, z0: int, combined: dict, per_axis: dict) -> None:
        """The next planes of every volume ({output: map}, {output: {axis: map}})."""
        for writer, block in self._maps(combined, per_axis):
            writer.write_slab(z0, block)

    def write_box(self, y0: int, x0: int, combined: dict, per_axis: dict) -> dict[str, float]:
        """A box of every volume through all its planes (``VolumeWriter.write_box``), the
        volumes side by side (their pyramids are computed on the way); durable once the next
        ``write_box`` or ``flush`` has returned. The seconds its parts took (by a child:
        ``BoxWriterProcess.write``)."""
        writers, blocks = zip(*self._maps(combined, per_axis), strict=True)
        if self._process is None:
            start = time.perf_counter()
            write_boxes(list(writers), y0, x0, list(blocks))
            return {"durably": time.perf_counter() - start}
        seconds = self._process.write(y0, x0, list(blocks))
        for writer in writers:
            writer.adopt(len(writer.level_writers), ())
        return seconds

    def flush(self) -> None:
        """Return once every box written is durable."""
        if self._process is not None:
            self._process.flush()

    def commit(self) -> list[VolumeRecord]:
        """Finish every store, then register them all, or none."""
        committed: list[VolumeRecord] = []
        try:
            self.flush()
            for _path, writer, record, _item in self.staged:
                writer.finalize({"source": record.source, **record.attrs})
            for path, _writer, record, _item in self.staged:
                committed.append(self.project.commit_volume(path, record))
            return committed
        except BaseException:
            for record in committed:
                delete_volume(self.project, record)
            raise

    def close(self, remove: bool) -> None:
        """Stop the writers; ``remove``: delete the stores not committed."""
        if self._process is not None:
            self._process.close()
        for path, writer, _record, _item in self.staged:
            writer.close(abort=remove)
            if remove:
                atomic.remove_tree(path)


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
    outputs = PredictionSet(project, planned, image, attrs, prov)
    try:
        for slab in slabs:
            outputs.write_slab(*slab)
        return outputs.commit()
    finally:
        outputs.close(remove=True)
