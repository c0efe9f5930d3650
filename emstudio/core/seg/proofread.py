"""Proofreading a stored instance segmentation (Qt-free): merge, split by seeds, delete, relabel.

A ``Proofreader`` edits a copy-on-write ``EditLayer`` over the stored volume, never the store
itself, and reads only the chunks of the objects concerned (their boxes come from an
``ObjectTable``). Each operation returns an ``Edit``, the undo record: the changed voxels'
old and new values, chunk by chunk, and the object entries before and after, so undo and redo
are exact. ``save_version`` writes the edited segmentation as a new volume of the project,
with the list of edits in its provenance; the original stays as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.filters import sobel
from skimage.segmentation import watershed

from emstudio.core.errors import EmstudioError
from emstudio.core.measure.stored import ATTR as MEASUREMENTS_ATTR
from emstudio.core.progress import Progress, no_progress
from emstudio.core.project import provenance
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import add_volume, check_new_name
from emstudio.core.seg.edit_layer import ChunkChange, EditLayer
from emstudio.core.seg.object_table import Entries, ObjectTable
from emstudio.core.volume.store import Volume, VolumeWriter

MAX_UNDO = 100
SPLIT_MAX_VOXELS = 2**26  # the box of an object to split (distance map: 8 bytes per voxel)
FLOODS = ("distance", "gradient")  # what a split floods: the object's shape, or image edges

Voxel = Sequence[int]


class ProofreadError(EmstudioError):
    """A proofreading edit cannot be made (unknown id, too few seeds, id in use...)."""


@dataclass(frozen=True)
class Edit:
    """One undoable edit: changed voxels per chunk, and the object entries before and after."""

    description: str
    changes: tuple[ChunkChange, ...]
    before: Entries
    after: Entries

    @property
    def voxels(self) -> int:
        return sum(len(c.flat) for c in self.changes)


class Proofreader:
    """The edits of one segmentation volume, with ``MAX_UNDO`` steps of undo."""

    def __init__(self, volume: Volume, table: ObjectTable, image: Volume | None = None) -> None:
        """``image``: the image the segmentation covers (same grid), for splits along edges."""
        if image is not None and image.shape != volume.shape:
            raise ProofreadError(
                f"The image has shape {image.shape}, the segmentation {volume.shape}: "
                "they must cover the same voxels."
            )
        self.layer = EditLayer(volume)
        self.table = table
        self.image = image
        self.applied: list[str] = []  # descriptions of the edits in effect, oldest first
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []

    @classmethod
    def open(
        cls, volume: Volume, image: Volume | None = None, progress: Progress = no_progress
    ) -> Proofreader:
        """Find the volume's objects (scanned chunk by chunk once, then cached), then edit it."""
        return cls(volume, ObjectTable.of_volume(volume, progress), image)

    # -- state ----------------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return bool(self.applied)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # -- operations -----------------------------------------------------------------------------
    def merge(self, ids: Sequence[int], into: int | None = None) -> Edit:
        """Join objects into one; it keeps the id ``into`` (default: the first of ``ids``)."""
        ids = list(dict.fromkeys(int(i) for i in ids if int(i)))
        if len(ids) < 2:
            raise ProofreadError("Select at least two different objects to merge (Ctrl+click).")
        self._require(ids)
        target = ids[0] if into is None else int(into)
        if target not in ids:
            raise ProofreadError(f"Object {target} is not one of the objects to merge.")
        joined = self.table.get(target)
        for other in ids:
            if other != target:
                joined = joined.union(self.table.get(other))  # type: ignore[union-attr, arg-type]
        after: Entries = {i: None for i in ids}
        after[target] = joined
        others = [i for i in ids if i != target]
        return self._remap(dict.fromkeys(others, target), after, f"merge {others} into {target}")

    def delete(self, ids: Sequence[int]) -> Edit:
        """Make objects background."""
        ids = list(dict.fromkeys(int(i) for i in ids if int(i)))
        if not ids:
            raise ProofreadError("Select the objects to delete (click them).")
        self._require(ids)
        return self._remap(dict.fromkeys(ids, 0), dict.fromkeys(ids), f"delete {ids}")

    def relabel(self, old: int, new: int, merge: bool = False) -> Edit:
        """Give object ``old`` the id ``new``. An id in use is refused unless ``merge``."""
        old, new = int(old), int(new)
        self._require([old])
        if not 0 < new <= np.iinfo(self.layer.dtype).max:
            raise ProofreadError(
                f"The new id must be between 1 and {np.iinfo(self.layer.dtype).max}."
            )
        if new == old:
            raise ProofreadError(f"Object {old} already has the id {new}.")
        if new in self.table:
            if not merge:
                raise ProofreadError(
                    f"The id {new} is in use by another object: merge the two objects instead."
                )
            return self.merge([new, old])
        after: Entries = {old: None, new: self.table.get(old)}
        return self._remap({old: new}, after, f"relabel {old} as {new}")

    def split(self, obj: int, seeds: Sequence[Sequence[Voxel]], flood: str = "distance") -> Edit:
        """Split object ``obj`` by seeds: one list of voxels (z, y, x) per part, two or more.

        The object's voxels are flooded from the seeds (a watershed restricted to the object,
        in its bounding box) over its negated distance transform (``flood="distance"``: cuts
        at necks) or over the gradient of the image (``"gradient"``: cuts along edges). The
        first part keeps ``obj``, the others get new ids; voxels no seed reaches stay ``obj``.
        """
        obj = int(obj)
        self._require([obj])
        if flood not in FLOODS:
            raise ValueError(f"flood must be one of {FLOODS}, not {flood!r}")
        entry = self.table.get(obj)
        assert entry is not None
        box, lo = entry.box, np.asarray(entry.lo)
        if int(np.prod(np.asarray(entry.hi) - lo)) > SPLIT_MAX_VOXELS:
            raise ProofreadError(
                f"Object {obj} spans a box larger than {SPLIT_MAX_VOXELS:,} voxels; "
                "splitting is limited to smaller objects."
            )
        region = self.layer.read(box)
        mask = region == obj
        markers = self._markers(obj, mask, lo, seeds)
        parts = int(markers.max())
        if flood == "gradient":
            if self.image is None:
                raise ProofreadError("This segmentation has no image: split by shape instead.")
            surface = sobel(np.asarray(self.image.arrays[0][box], np.float32))
        else:
            spacing = self.layer.volume.voxel_size.zyx
            padded = ndimage.distance_transform_edt(np.pad(mask, 1), sampling=spacing)
            surface = -padded[1:-1, 1:-1, 1:-1]
        flooded = watershed(surface, markers, mask=mask)
        new_ids = self._free_ids(parts - 1)
        edited = region.copy()
        for part, new_id in enumerate(new_ids, start=2):
            edited[flooded == part] = new_id
        ids = [obj, *new_ids]
        after = ObjectTable.of_region(edited, ids, tuple(lo))
        edit = Edit(
            f"split {obj} into {ids}",
            tuple(self.layer.diff(box, edited)),
            self.table.entries(ids),
            after,
        )
        return self._commit(edit)

    def undo(self) -> Edit | None:
        if not self._undo:
            return None
        edit = self._undo.pop()
        self.layer.apply(edit.changes, forward=False)
        self.table.update(edit.before)
        self.applied.pop()
        self._redo.append(edit)
        return edit

    def redo(self) -> Edit | None:
        if not self._redo:
            return None
        edit = self._redo.pop()
        self.layer.apply(edit.changes, forward=True)
        self.table.update(edit.after)
        self.applied.append(edit.description)
        self._undo.append(edit)
        return edit

    # -- internals ------------------------------------------------------------------------------
    def _require(self, ids: Sequence[int]) -> None:
        missing = [i for i in ids if i not in self.table]
        if missing:
            raise ProofreadError(f"No object with id {', '.join(map(str, missing))}.")

    def _free_ids(self, n: int) -> list[int]:
        first = self.table.max_id() + 1
        if first + n - 1 > np.iinfo(self.layer.dtype).max:
            raise ProofreadError(f"No free ids left in this {self.layer.dtype} segmentation.")
        return list(range(first, first + n))

    def _markers(
        self, obj: int, mask: np.ndarray, lo: np.ndarray, seeds: Sequence[Sequence[Voxel]]
    ) -> np.ndarray:
        """Seed voxels on the object, numbered by part (1, 2, ...)."""
        groups = [np.asarray(g, np.int64).reshape(-1, 3) for g in seeds if len(g)]
        if len(groups) < 2:
            raise ProofreadError("Paint seeds of two colours on the object to split it.")
        markers = np.zeros(mask.shape, np.int32)
        for part, points in enumerate(groups, start=1):
            local = points - lo
            local = local[((local >= 0) & (local < mask.shape)).all(axis=1)]
            local = local[mask[tuple(local.T)]]
            if not len(local):
                raise ProofreadError(
                    f"The seeds of colour {part} do not touch object {obj}: paint them on it."
                )
            markers[tuple(local.T)] = part
        hidden = [part for part in range(1, len(groups) + 1) if not (markers == part).any()]
        if hidden:  # painted over by a later colour: that part would vanish, the object with it
            raise ProofreadError(
                f"The seeds of colour {hidden[0]} lie under seeds of another colour: paint the "
                "colours on different parts of the object."
            )
        return markers

    def _remap(self, mapping: dict[int, int], after: Entries, description: str) -> Edit:
        """Change ids by ``mapping``, reading only the chunks of the objects' boxes."""
        keys = sorted({k for i in mapping for k in self.layer.keys_in(self.table.get(i).box)})  # type: ignore[union-attr]
        sources = np.array(list(mapping), self.layer.dtype)
        changes = []
        for key in keys:
            chunk = self.layer.chunk(key)
            flat = np.flatnonzero(np.isin(chunk, sources))
            if not flat.size:
                continue
            old = chunk.flat[flat]
            new = old.copy()
            for source, target in mapping.items():
                new[old == source] = target
            changes.append(ChunkChange(key, flat.astype(np.uint32), old, new))
        before = self.table.entries(after)
        return self._commit(Edit(description, tuple(changes), before, after))

    def _commit(self, edit: Edit) -> Edit:
        self.layer.apply(edit.changes, forward=True)
        self.table.update(edit.after)
        self.applied.append(edit.description)
        self._undo.append(edit)
        del self._undo[:-MAX_UNDO]
        self._redo.clear()
        return edit


# -- saving as a new version -------------------------------------------------------------------
# what describes the source's objects as they were, not the edited ones: its measurements
# (a table of the old objects) and its object count
SOURCE_DATA_ATTRS = (MEASUREMENTS_ATTR, "objects")


def version_record(source: VolumeRecord, name: str, edits: Sequence[str]) -> VolumeRecord:
    """The catalog row of a proofread version of ``source`` (written by ``write_version``)."""
    return VolumeRecord(
        id=uuid.uuid4().hex,
        name=name,
        kind="segmentation",
        path="",
        shape=tuple(source.shape),
        dtype=source.dtype,
        voxel_size=source.voxel_size,
        chunks=(0, 0, 0),
        levels=0,
        source=f"{source.name!r}, proofread",
        image_id=source.image_id,
        attrs={
            **{k: v for k, v in source.attrs.items() if k not in SOURCE_DATA_ATTRS},
            "proofread_from": source.name,
            "edits": len(edits),
        },
        provenance=provenance.record(
            "proofread",
            job_id=None,
            params={"edits": list(edits)},
            inputs=[{"volume": source.name, "id": source.id}],
        ),
    )


def write_version(
    layer: EditLayer, path: Path, record: VolumeRecord, progress: Progress = no_progress
) -> None:
    """Write the edited volume (all levels) to a new store at ``path``, slab by slab."""
    volume = layer.volume
    with VolumeWriter(
        path, layer.shape, layer.dtype, volume.voxel_size, "segmentation", record.name
    ) as writer:
        step = writer.slab_planes
        z_size, y_size, x_size = layer.shape
        for z0 in range(0, z_size, step):
            z1 = min(z0 + step, z_size)
            writer.write_slab(z0, layer.read((slice(z0, z1), slice(0, y_size), slice(0, x_size))))
            progress(z1, z_size, f"writing {record.name!r}: plane {z1}/{z_size}")
        writer.finalize({"source": record.source})
        record.chunks, record.levels = tuple(writer.chunks), len(writer.arrays)  # type: ignore[assignment]


def save_version(
    project: Project,
    segmentation: str,
    reader: Proofreader,
    name: str,
    progress: Progress = no_progress,
) -> VolumeRecord:
    """Write ``reader``'s edits of ``segmentation`` as a new volume ``name`` of the project."""
    name = check_new_name(project, name)
    record = version_record(project.catalog.volume(segmentation), name, reader.applied)
    return add_volume(
        project, lambda staging: write_version(reader.layer, staging, record, progress), record
    )
