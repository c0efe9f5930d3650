"""Label sets: create an empty one for an image, and save painted chunks back into its store.

A label set is a ``labels`` volume (uint8 class per voxel) with attrs ``classes`` ({"0":
"background", ...}) and ``labelled_slices`` ({"z": [...], "y": [...], "x": [...]}: the planes a
person painted on, which training samples).

Saving writes each edited chunk of level 0 whole (temporary name, fsync, rename, so a crash
leaves every chunk file either old or new), then recomputes the touched chunks of each coarser
level the same way, and updates the catalog attrs last.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numcodecs
import numpy as np

from emstudio.core.ml.labels import labelled_z_slices
from emstudio.core.project import atomic, provenance
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import add_volume, check_new_name
from emstudio.core.volume import ngff, pyramid
from emstudio.core.volume.chunkio import fsync_file, fsync_metadata
from emstudio.core.volume.store import Volume, VolumeWriter

ChunkKey = tuple[int, int, int]
AXIS_NAMES = ("z", "y", "x")  # labelled_slices keys: the axis across the painted plane
DEFAULT_CLASSES = {"0": "background", "1": "foreground"}


def labelled_slices(record: VolumeRecord) -> dict[str, set[int]]:
    """The planes marked as painted, per axis name ("z": XY planes, "y": XZ, "x": YZ)."""
    stored = record.attrs.get("labelled_slices") or {}
    return {axis: {int(i) for i in stored.get(axis, [])} for axis in AXIS_NAMES}


def create_label_set(
    project: Project,
    image: VolumeRecord,
    name: str,
    classes: Mapping[int | str, str] | None = None,
) -> VolumeRecord:
    """A new, empty (all background) label set for ``image``: metadata only, no chunk written."""
    name = check_new_name(project, name, "name")  # asked for in the app
    class_names = {str(k): str(v) for k, v in (classes or DEFAULT_CLASSES).items()}
    attrs = {"classes": class_names, "labelled_slices": {a: [] for a in AXIS_NAMES}}
    record = VolumeRecord.new_of(
        image,
        name,
        "labels",
        f"painted in emstudio on {image.name!r}",
        attrs=attrs,
        provenance=provenance.record(
            "create-label-set",
            job_id=None,
            params={"classes": class_names},
            inputs=[{"volume": image.name, "id": image.id}],
        ),
    )

    def write(staging: Path) -> None:
        writer = VolumeWriter(staging, record.shape, "uint8", image.voxel_size, "labels", name)
        try:
            scales = [image.voxel_size.zyx]
            for f in writer.factors:
                scales.append(tuple(s * k for s, k in zip(scales[-1], f, strict=True)))
            writer.group.attrs.update(
                {
                    "multiscales": ngff.multiscales(name, scales, "subsample"),
                    "emstudio": {
                        "kind": "labels",
                        "voxel_size": image.voxel_size.to_json(),
                        "classes": class_names,
                    },
                }
            )
            fsync_metadata(staging)
            record.take_layout(writer)
        finally:
            writer.close()

    return add_volume(project, write, record)


def read_chunk(volume: Volume, key: ChunkKey, level: int = 0) -> np.ndarray:
    """One whole chunk of ``level`` (edge chunks padded with zeros to the full chunk shape)."""
    array = volume.arrays[level]
    box = _chunk_box(array.shape, array.chunks, key)
    out = np.zeros(array.chunks, array.dtype)
    region = np.asarray(array[tuple(slice(a, b) for a, b in box)])
    out[tuple(slice(0, b - a) for a, b in box)] = region
    return out


def save_label_edits(
    project: Project,
    record: VolumeRecord,
    chunks: Mapping[ChunkKey, np.ndarray],
    painted: Mapping[str, Iterable[int]],
) -> VolumeRecord:
    """Write edited chunks, then record the labelled slices (catalog last)."""
    store = project.resolve(record.path)
    write_label_chunks(store, chunks)
    attrs = project.catalog.volume_by_id(record.id).attrs
    return set_labelled_slices(project, record, slices_to_record(attrs, store, painted))


def slices_to_record(
    attrs: Mapping, store: Path, painted: Mapping[str, Iterable[int]]
) -> dict[str, list[int]]:
    """The labelled slices to record once the ``painted`` planes are saved into ``store``:
    those, and, for a label set that has recorded none (imported or ground truth: there every
    z slice holding a label counts as labelled, for training too), every such z slice as well,
    so that painting a few planes does not shrink what training learns from. Reads the whole
    volume in that case (in slabs): call it off the GUI thread."""
    recorded = {a: {int(i) for i in painted.get(a, ())} for a in AXIS_NAMES}
    if not attrs.get("labelled_slices"):
        recorded["z"].update(labelled_z_slices(Volume(store).arrays[0]))
    return {a: sorted(recorded[a]) for a in AXIS_NAMES}


def set_labelled_slices(
    project: Project, record: VolumeRecord, painted: Mapping[str, Iterable[int]]
) -> VolumeRecord:
    """Store the painted planes in the catalog attrs; returns the updated record."""
    attrs = dict(project.catalog.volume_by_id(record.id).attrs)
    attrs["labelled_slices"] = {a: sorted({int(i) for i in painted.get(a, ())}) for a in AXIS_NAMES}
    project.catalog.update_volume_attrs(record.id, attrs)
    return project.catalog.volume_by_id(record.id)


def write_label_chunks(store: Path, chunks: Mapping[ChunkKey, np.ndarray]) -> None:
    """Write whole level-0 chunks into an existing store, then refresh the coarser levels."""
    volume = Volume(store)
    _write_chunk_files(volume, 0, chunks)
    touched = set(chunks)
    for level in range(1, volume.levels):
        factor = tuple(
            max(1, round(c / f))
            for c, f in zip(volume.scales[level], volume.scales[level - 1], strict=True)
        )
        touched = _coarse_keys(volume, level, touched, factor)
        blocks = {key: _downsampled_chunk(volume, level, key, factor) for key in touched}
        _write_chunk_files(volume, level, blocks)


def _chunk_box(
    shape: tuple[int, ...], chunks: tuple[int, ...], key: ChunkKey
) -> list[tuple[int, int]]:
    return [(k * c, min((k + 1) * c, s)) for k, c, s in zip(key, chunks, shape, strict=True)]


def _coarse_keys(
    volume: Volume, level: int, fine_keys: set[ChunkKey], factor: tuple[int, ...]
) -> set[ChunkKey]:
    """Chunks of ``level`` whose voxels are computed from the given chunks of ``level - 1``."""
    fine = volume.arrays[level - 1]
    coarse = volume.arrays[level]
    keys: set[ChunkKey] = set()
    for key in fine_keys:
        ranges = []
        for (lo, hi), f, c in zip(
            _chunk_box(fine.shape, fine.chunks, key), factor, coarse.chunks, strict=True
        ):
            lo_c, hi_c = lo // f, -(-hi // f)
            ranges.append(range(lo_c // c, -(-hi_c // c)))
        keys.update((a, b, d) for a in ranges[0] for b in ranges[1] for d in ranges[2])
    return keys


def _downsampled_chunk(
    volume: Volume, level: int, key: ChunkKey, factor: tuple[int, ...]
) -> np.ndarray:
    coarse = volume.arrays[level]
    fine = volume.arrays[level - 1]
    box = _chunk_box(coarse.shape, coarse.chunks, key)
    source = tuple(
        slice(lo * f, min(hi * f, s))
        for (lo, hi), f, s in zip(box, factor, fine.shape, strict=True)
    )
    block = pyramid.downsample(np.asarray(fine[source]), factor, labels=True)
    out = np.zeros(coarse.chunks, coarse.dtype)
    out[tuple(slice(0, hi - lo) for lo, hi in box)] = block[
        tuple(slice(0, hi - lo) for lo, hi in box)
    ]
    return out


def _write_chunk_files(volume: Volume, level: int, blocks: Mapping[ChunkKey, np.ndarray]) -> None:
    """Encode whole chunks as zarr v2 does and put each file in place by rename."""
    if not blocks:
        return
    folder = volume.path / volume.arrays[level].path
    meta = json.loads((folder / ".zarray").read_text(encoding="utf-8"))
    if meta.get("zarr_format") != 2 or meta.get("order", "C") != "C":
        raise ValueError(f"{folder}: only C-order zarr v2 arrays can be edited in place")
    compressor = numcodecs.get_codec(meta["compressor"]) if meta.get("compressor") else None
    filters = [numcodecs.get_codec(f) for f in meta.get("filters") or []]
    separator = meta.get("dimension_separator", ".")
    dtype = np.dtype(meta["dtype"])
    chunk_shape = tuple(meta["chunks"])
    staged: list[tuple[Path, Path]] = []
    try:
        for key, block in blocks.items():
            if block.shape != chunk_shape:
                raise ValueError(f"chunk {key}: shape {block.shape}, expected {chunk_shape}")
            data: object = np.ascontiguousarray(block, dtype=dtype)
            for codec in filters:
                data = codec.encode(data)
            if compressor is not None:
                data = compressor.encode(data)
            final = folder / separator.join(map(str, key))
            final.parent.mkdir(parents=True, exist_ok=True)  # "/" separator: nested folders
            temp = final.with_name(f"{atomic.TMP_PREFIX}{final.name}.{os.getpid()}")
            temp.write_bytes(memoryview(data))  # type: ignore[arg-type]
            staged.append((temp, final))
            fsync_file(temp)
        for temp, final in staged:
            os.replace(temp, final)
        for parent in {final.parent for _, final in staged}:
            atomic.fsync_dir(parent)
        staged.clear()
    finally:
        for temp, _ in staged:
            atomic.remove_tree(temp)
