"""Painting into a label set (Qt-free): brush, eraser, 2D flood fill, undo/redo, painted planes.

Edits go into whole chunks held in memory (loaded from the store on first touch); the views
draw the stored plane patched with the edited chunks, and saving writes those chunks back
(``core.project.labels``). Positions are in a view's display orientation: (row, column) of
the plane across ``axis`` (see ``viewstate.PLANE_AXES``).

A flood fill can cover a whole 2048 x 2048 plane (256 chunks to load and change, ~1 s): it is
split into ``fill_changes``, which changes nothing and may run in a worker thread, and
``apply_fill`` (a few tens of ms), on the thread that owns the editor.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.project.labels import AXIS_NAMES, ChunkKey, labelled_slices, read_chunk
from emstudio.gui.layers import Layer
from emstudio.gui.viewstate import PLANE_AXES

MAX_UNDO = 100


@dataclass
class _Change:
    """Voxels of one chunk changed by one step: flat indices, values before and after."""

    key: ChunkKey
    flat: np.ndarray
    old: np.ndarray
    new: np.ndarray


@dataclass
class _Step:
    changes: list[_Change]
    painted_before: dict[str, set[int]]
    painted_after: dict[str, set[int]]


@dataclass
class Fill:
    """What a flood fill changes (``LabelEditor.fill_changes``), not applied yet."""

    axis: int
    index: int
    changes: list[_Change] = field(default_factory=list)  # for undo
    chunks: dict[ChunkKey, np.ndarray] = field(default_factory=dict)  # changed chunks, whole
    refused: str | None = None  # why nothing is filled, for the user


class LabelEditor:
    """Edits of one label set, with an undo history of ``MAX_UNDO`` steps (strokes, fills)."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self.volume = layer.volume
        self.shape = self.volume.shape
        self.chunk_shape = self.volume.chunks
        self.painted = labelled_slices(layer.record)
        self._chunks: dict[ChunkKey, np.ndarray] = {}
        self._modified: dict[ChunkKey, int] = {}  # chunk -> generation of its last change
        self._generation = 0
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._before: dict[ChunkKey, np.ndarray] | None = None  # chunks as the step found them
        self._painted_before: dict[str, set[int]] = {}

    # -- state ----------------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return bool(self._modified)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_steps(self) -> int:
        return len(self._undo)

    # -- painting -------------------------------------------------------------------------------
    def begin_step(self) -> None:
        """Start a stroke (or a fill): everything until ``end_step`` is one undo step."""
        self._before = {}
        self._painted_before = copy.deepcopy(self.painted)

    def end_step(self) -> bool:
        """Close the step; returns whether it changed any voxel."""
        before, self._before = self._before or {}, None
        changes = []
        for key, old_chunk in before.items():
            new_chunk = self._chunks[key]
            flat = np.flatnonzero(old_chunk != new_chunk).astype(np.uint32)
            if flat.size:
                changes.append(_Change(key, flat, old_chunk.flat[flat], new_chunk.flat[flat]))
        if not changes:
            self.painted = self._painted_before
            return False
        self._undo.append(_Step(changes, self._painted_before, copy.deepcopy(self.painted)))
        del self._undo[:-MAX_UNDO]
        self._redo.clear()
        return True

    def brush(
        self,
        axis: int,
        index: int,
        start: tuple[float, float],
        end: tuple[float, float],
        radii: tuple[float, float],
        value: int,
        background_only: bool = False,
    ) -> bool:
        """Paint a brush of ``radii`` (rows, columns; voxels) along start..end (voxel units,
        continuous: voxel (r, c) spans r..r+1). Returns whether a voxel changed."""
        rr, rc = max(radii[0], 0.5), max(radii[1], 0.5)
        length = float(np.hypot(end[0] - start[0], end[1] - start[1]))
        steps = max(1, int(np.ceil(length / max(0.5, min(rr, rc) / 2))))
        centres = np.linspace(start, end, steps + 1)
        rows, cols = self._plane_size(axis)
        r0 = max(0, int(np.floor(centres[:, 0].min() - rr)))
        r1 = min(rows, int(np.ceil(centres[:, 0].max() + rr)) + 1)
        c0 = max(0, int(np.floor(centres[:, 1].min() - rc)))
        c1 = min(cols, int(np.ceil(centres[:, 1].max() + rc)) + 1)
        if r0 >= r1 or c0 >= c1:
            return False
        grid_r = np.arange(r0, r1)[:, None] + 0.5
        grid_c = np.arange(c0, c1)[None, :] + 0.5
        mask = np.zeros((r1 - r0, c1 - c0), bool)
        for cr, cc in centres:
            mask |= ((grid_r - cr) / rr) ** 2 + ((grid_c - cc) / rc) ** 2 <= 1.0
        return self._write(axis, index, (r0, c0), mask, value, background_only)

    def fill(
        self,
        axis: int,
        index: int,
        seed: tuple[int, int],
        plane: np.ndarray,
        value: int,
        background_only: bool = False,
    ) -> bool:
        """Flood-fill at once, as one undo step (see ``fill_changes``)."""
        return self.apply_fill(self.fill_changes(axis, index, seed, plane, value, background_only))

    def fill_changes(
        self,
        axis: int,
        index: int,
        seed: tuple[int, int],
        plane: np.ndarray,
        value: int,
        background_only: bool = False,
    ) -> Fill:
        """The voxels a 4-connected flood fill of ``seed``'s region (in this plane) with
        ``value`` would change; ``plane`` is the label plane as displayed (level 0, edits
        included). Changes nothing: safe in a worker thread while the editor is not edited."""
        from scipy import ndimage  # only here: importing it costs ~0.4 s at start-up

        fill = Fill(axis, index)
        target = plane[seed]
        if target == value or (background_only and target != 0):
            return fill
        regions, _ = ndimage.label(plane == target)
        region = regions == regions[seed]
        if region.all():  # no outline around the click: one click would label a whole slice
            fill.refused = (
                "Nothing filled: no outline encloses that point, so the whole slice would "
                "take this class. Draw a closed outline with the brush first, then fill inside."
            )
            return fill
        box = ndimage.find_objects(region.astype(np.uint8))[0]
        flat_index = np.arange(np.prod(self.chunk_shape), dtype=np.uint32).reshape(self.chunk_shape)
        pieces = self._pieces(axis, index, (box[0].start, box[1].start), region[box])
        for key, rows, cols, sub in pieces:
            chunk = self._chunks.get(key)
            chunk = read_chunk(self.volume, key) if chunk is None else chunk.copy()
            view = self._plane_view(chunk, axis, index, rows, cols)
            select = _selected(view, sub, value, background_only)
            if select.any():
                flat = self._plane_view(flat_index, axis, index, rows, cols)[select]
                new = np.full(flat.size, value, chunk.dtype)
                fill.changes.append(_Change(key, flat, view[select], new))
                view[select] = value
                fill.chunks[key] = chunk
        return fill

    def apply_fill(self, fill: Fill) -> bool:
        """Make a fill computed by ``fill_changes`` one undo step (it swaps in the changed
        chunks: no per-voxel work); whether a voxel changed."""
        if not fill.changes:
            return False
        self._generation += 1
        for key, chunk in fill.chunks.items():
            self._chunks[key] = chunk
            self._modified[key] = self._generation
        painted_before = copy.deepcopy(self.painted)
        self.painted[AXIS_NAMES[fill.axis]].add(int(fill.index))
        self._undo.append(_Step(fill.changes, painted_before, copy.deepcopy(self.painted)))
        del self._undo[:-MAX_UNDO]
        self._redo.clear()
        return True

    def undo(self) -> bool:
        if not self._undo:
            return False
        step = self._undo.pop()
        self._apply(step, new=False)
        self._redo.append(step)
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        step = self._redo.pop()
        self._apply(step, new=True)
        self._undo.append(step)
        return True

    # -- reading --------------------------------------------------------------------------------
    def plane(self, axis: int, index: int, base: np.ndarray) -> np.ndarray:
        """The stored plane ``base`` (display orientation) with this editor's edits."""
        keys = [k for k in self._modified if k[axis] == index // self.chunk_shape[axis]]
        if not keys:
            return base
        out = np.array(base)
        row_axis, col_axis = PLANE_AXES[axis]
        for key in keys:
            r0, c0 = (
                key[row_axis] * self.chunk_shape[row_axis],
                key[col_axis] * self.chunk_shape[col_axis],
            )
            view = self._plane_view(self._chunks[key], axis, index)
            rows = min(view.shape[0], out.shape[0] - r0)
            cols = min(view.shape[1], out.shape[1] - c0)
            out[r0 : r0 + rows, c0 : c0 + cols] = view[:rows, :cols]
        return out

    # -- saving ---------------------------------------------------------------------------------
    def snapshot(self) -> tuple[dict[ChunkKey, np.ndarray], dict[str, set[int]], int]:
        """Copies of the modified chunks, the painted planes and the generation they are at."""
        chunks = {key: self._chunks[key].copy() for key in self._modified}
        return chunks, copy.deepcopy(self.painted), self._generation

    def add_prior_slices(self, slices: dict[str, set[int]]) -> None:
        """Planes that held labels before this session's edits (found when a label set that had
        recorded none is first saved): labelled in every state, undone or redone, too."""
        states = [self.painted, self._painted_before]
        states += [
            s for step in self._undo + self._redo for s in (step.painted_before, step.painted_after)
        ]
        for state in states:
            for axis, planes in slices.items():
                state.setdefault(axis, set()).update(planes)

    def mark_saved(self, generation: int) -> None:
        """Chunks saved at ``generation`` (and not changed since) are no longer modified."""
        self._modified = {k: g for k, g in self._modified.items() if g > generation}

    # -- internals ------------------------------------------------------------------------------
    def _plane_size(self, axis: int) -> tuple[int, int]:
        row_axis, col_axis = PLANE_AXES[axis]
        return self.shape[row_axis], self.shape[col_axis]

    def _chunk(self, key: ChunkKey) -> np.ndarray:
        chunk = self._chunks.get(key)
        if chunk is None:
            chunk = self._chunks[key] = read_chunk(self.volume, key)
        return chunk

    def _plane_view(
        self,
        chunk: np.ndarray,
        axis: int,
        index: int,
        rows: slice = slice(None),
        cols: slice = slice(None),
    ) -> np.ndarray:
        """A writable 2D view of a chunk's part of plane ``index``, in display orientation."""
        row_axis, col_axis = PLANE_AXES[axis]
        key: list[object] = [slice(None)] * 3
        key[axis] = index % self.chunk_shape[axis]
        key[row_axis], key[col_axis] = rows, cols
        view = chunk[tuple(key)]
        return view.T if row_axis > col_axis else view

    def _write(
        self,
        axis: int,
        index: int,
        origin: tuple[int, int],
        mask: np.ndarray,
        value: int,
        background_only: bool,
    ) -> bool:
        """Set the voxels of ``mask`` (placed at ``origin`` in the plane) to ``value``."""
        changed = False
        self._generation += 1
        for key, rows, cols, sub in self._pieces(axis, index, origin, mask):
            chunk = self._chunk(key)
            view = self._plane_view(chunk, axis, index, rows, cols)
            select = _selected(view, sub, value, background_only)
            if not select.any():
                continue
            if self._before is not None and key not in self._before:
                self._before[key] = chunk.copy()
            view[select] = value
            self._modified[key] = self._generation
            changed = True
        if changed:
            self.painted[AXIS_NAMES[axis]].add(int(index))
        return changed

    def _pieces(
        self, axis: int, index: int, origin: tuple[int, int], mask: np.ndarray
    ) -> Iterator[tuple[ChunkKey, slice, slice, np.ndarray]]:
        """The chunks that ``mask`` (placed at ``origin`` in plane ``index``) touches: key,
        rows and columns of the plane within the chunk, and the part of the mask there."""
        row_axis, col_axis = PLANE_AXES[axis]
        cr, cc = self.chunk_shape[row_axis], self.chunk_shape[col_axis]
        r0, c0 = origin
        r1, c1 = r0 + mask.shape[0], c0 + mask.shape[1]
        for ir in range(r0 // cr, -(-r1 // cr)):
            for ic in range(c0 // cc, -(-c1 // cc)):
                a0, a1 = max(r0, ir * cr), min(r1, (ir + 1) * cr)
                b0, b1 = max(c0, ic * cc), min(c1, (ic + 1) * cc)
                sub = mask[a0 - r0 : a1 - r0, b0 - c0 : b1 - c0]
                if not sub.any():
                    continue
                key = [0, 0, 0]
                key[axis] = index // self.chunk_shape[axis]
                key[row_axis], key[col_axis] = ir, ic
                rows = slice(a0 - ir * cr, a1 - ir * cr)
                yield tuple(key), rows, slice(b0 - ic * cc, b1 - ic * cc), sub  # type: ignore[misc]

    def _apply(self, step: _Step, new: bool) -> None:
        self._generation += 1
        for change in step.changes:
            chunk = self._chunk(change.key)
            chunk.reshape(-1)[change.flat] = change.new if new else change.old  # a view
            self._modified[change.key] = self._generation
        self.painted = copy.deepcopy(step.painted_after if new else step.painted_before)


def _selected(view: np.ndarray, mask: np.ndarray, value: int, background_only: bool) -> np.ndarray:
    """The voxels of ``mask`` that painting ``value`` changes."""
    select = mask & (view != value)
    if background_only and value != 0:
        select &= view == 0
    return select
