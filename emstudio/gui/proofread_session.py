"""Proofreading in the viewers: selection, seeds, and the edits of the shown instance volume.

The session edits the volume in the ``instances`` overlay slot through a core ``Proofreader``
(a copy-on-write layer: the stored volume never changes). Everything that reads or writes
voxels (finding the objects, each edit, undo, redo, saving) runs in a plain Python thread, one
task at a time, and reports back on the GUI thread; the views draw the stored planes patched
with the edits (``instance_plane``). The core module (scipy, scikit-image) is imported on
first use, so opening a project does not wait for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from emstudio.core.errors import EmstudioError
from emstudio.core.project import atomic
from emstudio.core.project.volumes import check_new_name
from emstudio.core.volume.store import Volume
from emstudio.gui.layers import Layer, LayerSet
from emstudio.gui.viewstate import LAYERS, PLANE_AXES, TOOL, VOLUME, ViewState

if TYPE_CHECKING:
    from emstudio.core.seg.proofread import Edit, Proofreader

log = logging.getLogger(__name__)
SEED_COLOURS = {1: (255, 60, 60), 2: (180, 90, 255)}  # the two seed colours of a split
Voxel = tuple[int, int, int]


class ProofreadSession(QObject):
    """Owns the Proofreader of the instance volume shown, the seeds and the worker thread."""

    edited = Signal()  # voxels changed: views redraw the instance overlay
    stateChanged = Signal()  # busy, undo/redo, unsaved edits changed
    seedsChanged = Signal()
    message = Signal(str)  # for the status bar
    failed = Signal(str)  # for a dialog
    saved = Signal(str)  # name of the new version
    _finished = Signal(object)  # from the worker: (generation, result or exception)
    _progress = Signal(str)

    def __init__(self, state: ViewState, layers: LayerSet, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.layers = layers
        self.reader: Proofreader | None = None
        self.layer_id: str | None = None  # catalog id of the volume ``reader`` edits
        self.busy: str | None = None  # what the worker does now
        self.flood = "distance"
        self.seed_colour: int | None = None  # painting seeds of this colour (1 or 2)
        self.seeds: dict[int, dict[Voxel, None]] = {1: {}, 2: {}}  # ordered sets of voxels
        self._thread: threading.Thread | None = None
        self._generation = 0  # results of a discarded session's worker are ignored
        self._done: Callable[[Any], None] | None = None
        self._finished.connect(self._on_finished)
        self._progress.connect(self.message)
        state.subscribe(self._on_state)

    # -- state ----------------------------------------------------------------------------------
    def layer(self) -> Layer | None:
        return self.layers.layer("instances")

    def modified(self) -> bool:
        return self.reader is not None and self.reader.modified

    def wait(self) -> None:
        """Block until the running task ends (closing the project)."""
        if self._thread is not None:
            self._thread.join()

    def discard(self) -> None:
        """Forget the edits, seeds and selection (the stored volume is unchanged)."""
        self._generation += 1
        self.reader, self.layer_id, self.busy = None, None, None
        self.seed_colour = None
        self.seeds = {1: {}, 2: {}}
        self.state.set_selection(())
        self.edited.emit()
        self.seedsChanged.emit()
        self.stateChanged.emit()

    def describe(self) -> str:
        """A line about the edits, for the panel."""
        layer = self.layer()
        if layer is None:
            return "No instance segmentation shown."
        if self.busy:
            return f"<b>{layer.name}</b>: {self.busy.lower()}…"
        reader = self.reader if self.layer_id == layer.record.id else None
        if reader is None or not reader.modified:
            return f"<b>{layer.name}</b>: no edits"
        edits, edited = len(reader.applied), reader.layer
        return (
            f"<b>{layer.name}</b>: {edits} unsaved edit{'s' * (edits != 1)} "
            f"({edited.edited_chunks} chunks, {_size(edited.edited_bytes)} in memory)"
        )

    # -- selection ------------------------------------------------------------------------------
    def select_at(self, voxel: Voxel, add: bool = False) -> None:
        """Select the object at ``voxel`` (``add``: toggle it in the selection)."""
        layer = self.layer()
        if layer is None or not self.state.overlays["instances"].visible:
            return
        object_id = self._value(layer, voxel)
        selection = list(self.state.selection)
        if add:
            if object_id in selection:
                selection.remove(object_id)
            elif object_id:
                selection.append(object_id)
        else:
            selection = [object_id] if object_id else []
        self.state.set_selection(selection)
        self.report_selection()

    def report_selection(self) -> None:
        """Say in the status bar what is selected, with voxel counts once they are known."""
        ids = self.state.selection
        if not ids:
            self.message.emit("No object selected")
            return
        if self.reader is None:
            self.message.emit(f"Selected {_ids_text(ids)} (counting voxels…)")
            self._ensure(self.report_selection)
            return
        counts = [self.reader.table.count(i) for i in ids]
        parts = [f"{i} ({n:,} voxels)" for i, n in zip(ids, counts, strict=True)]
        text = f"Selected object {parts[0]}" if len(ids) == 1 else "Selected " + ", ".join(parts)
        if len(ids) > 1:
            text += f"; {sum(counts):,} voxels in all"
        self.message.emit(text)

    # -- seeds ----------------------------------------------------------------------------------
    def set_seed_colour(self, colour: int | None) -> None:
        """Paint seeds of ``colour`` (1 or 2) with the mouse; None stops."""
        self.seed_colour = colour
        if colour is not None and self.state.paint.tool != "navigate":
            self.state.set_paint(tool="navigate")
        self.seedsChanged.emit()

    def seed_stroke(
        self, axis: int, index: int, start: tuple[float, float], end: tuple[float, float]
    ) -> None:
        """Add the voxels along start..end (plane row, column) to the seeds of the colour."""
        if self.seed_colour is None:
            return
        (r0, c0), (r1, c1) = np.floor(start), np.floor(end)
        steps = int(max(abs(r1 - r0), abs(c1 - c0))) + 1
        rows = np.round(np.linspace(r0, r1, steps)).astype(int)
        cols = np.round(np.linspace(c0, c1, steps)).astype(int)
        row_axis, col_axis = PLANE_AXES[axis]
        group = self.seeds[self.seed_colour]
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            voxel = [0, 0, 0]
            voxel[axis], voxel[row_axis], voxel[col_axis] = index, r, c
            if self.state.clamp(voxel) == tuple(voxel):  # inside the volume
                group[tuple(voxel)] = None  # type: ignore[index]
        self.seedsChanged.emit()

    def seeds_in_plane(self, axis: int, index: int) -> dict[int, list[tuple[int, int]]]:
        """The seeds on one plane, per colour, as (row, column)."""
        row_axis, col_axis = PLANE_AXES[axis]
        return {
            colour: [(v[row_axis], v[col_axis]) for v in group if v[axis] == index]
            for colour, group in self.seeds.items()
        }

    def clear_seeds(self) -> None:
        """Forget the seeds; the next click selects again (as after a split)."""
        self.seeds = {1: {}, 2: {}}
        self.seed_colour = None
        self.seedsChanged.emit()

    # -- drawing --------------------------------------------------------------------------------
    def instance_plane(
        self, layer: Layer, plane: np.ndarray, axis: int, index: int, level: int
    ) -> np.ndarray:
        """A stored instance plane (``index`` of ``level``) with the edits drawn in."""
        reader = self.reader
        if reader is None or layer.record.id != self.layer_id or not reader.modified:
            return plane
        return reader.layer.patch_plane(plane, axis, index, layer.factor(level), PLANE_AXES[axis])

    # -- edits ----------------------------------------------------------------------------------
    def merge(self) -> None:
        ids = self.state.selection
        if len(ids) < 2:
            self.failed.emit("Select two or more objects to merge: click one, Ctrl+click others.")
            return
        self._edit("Merging", lambda r: r.merge(ids), lambda e: [ids[0]])

    def delete(self) -> None:
        ids = self.state.selection
        if not ids:
            self.failed.emit("Select the objects to delete: click them (Ctrl+click for more).")
            return
        self._edit("Deleting", lambda r: r.delete(ids), lambda e: [])

    def relabel(self, new_id: int, merge: bool = False) -> None:
        ids = self.state.selection
        if len(ids) != 1:
            self.failed.emit("Select the one object to give a new id.")
            return
        self._edit("Relabelling", lambda r: r.relabel(ids[0], new_id, merge), lambda e: [new_id])

    def split(self) -> None:
        ids = self.state.selection
        if len(ids) != 1:
            self.failed.emit("Select the one object to split (click it), then paint the seeds.")
            return
        seeds = [list(self.seeds[1]), list(self.seeds[2])]
        flood = self.flood

        def parts(edit: Edit) -> list[int]:
            self.seed_colour = None  # done with seeds: the next click selects again
            self.clear_seeds()
            return [i for i, entry in edit.after.items() if entry is not None]

        self._edit("Splitting", lambda r: r.split(ids[0], seeds, flood), parts)

    def undo(self) -> None:
        if self.reader is not None and self.reader.can_undo:
            self._edit("Undoing", lambda r: r.undo(), None, "Undone: ")

    def redo(self) -> None:
        if self.reader is not None and self.reader.can_redo:
            self._edit("Redoing", lambda r: r.redo(), None, "Redone: ")

    # -- saving ---------------------------------------------------------------------------------
    def save_version(self, name: str) -> bool:
        """Write the edited volume as a new volume ``name``; ``saved`` or ``failed`` follows."""
        project, layer, reader = self.layers.project, self.layer(), self.reader
        if project is None or layer is None or reader is None or layer.record.id != self.layer_id:
            self.failed.emit("There are no edits to save.")
            return False
        try:
            name = check_new_name(project, name, "name")
        except EmstudioError as exc:
            self.failed.emit(str(exc))
            return False
        from emstudio.core.seg.proofread import Proofreader, version_record, write_version

        record = version_record(layer.record, name, reader.applied)
        staging = project.staging_path()
        progress = _Throttled(self._progress.emit)

        def write() -> None:
            try:
                write_version(reader.layer, staging, record, progress)
            except BaseException:
                atomic.remove_tree(staging)
                raise

        def commit(_: object) -> None:
            try:
                saved = project.commit_volume(staging, record)
            except Exception as exc:
                atomic.remove_tree(staging)
                self.failed.emit(f"The new version could not be registered: {exc}")
                return
            volume = Volume(project.resolve(saved.path))
            self.reader = Proofreader(volume, reader.table, reader.image)  # objects as edited
            self.layer_id = saved.id
            self.layers.assign("instances", saved.name)
            self.saved.emit(saved.name)
            self.message.emit(
                f"Saved the edits as {saved.name!r} ({len(reader.applied)} edits). Its meshes "
                "and measurements are not made yet: Run > Make meshes / Measure on it (those "
                "shown are of the version before)"
            )

        return self._run("Saving", write, commit)

    # -- internals ------------------------------------------------------------------------------
    def _value(self, layer: Layer, voxel: Voxel) -> int:
        if self.reader is not None and self.layer_id == layer.record.id:
            return self.reader.layer.value(voxel)
        z, y, x = voxel
        return int(layer.volume.arrays[0][z, y, x])

    def _edit(
        self,
        what: str,
        operation: Callable[[Proofreader], Edit | None],
        selection: Callable[[Edit], Sequence[int]] | None,
        prefix: str = "",
    ) -> None:
        """Run an edit in the worker; then select ``selection(edit)`` (None: keep what still
        exists) and report the edit in the status bar after ``prefix``."""

        def start() -> None:
            reader = self.reader
            assert reader is not None
            self._run(what, lambda: operation(reader), lambda e: self._edited(e, selection, prefix))

        self._ensure(start)

    def _edited(
        self, edit: Edit | None, selection: Callable[[Edit], Sequence[int]] | None, prefix: str
    ) -> None:
        if edit is None or self.reader is None:
            return
        if selection is not None:
            self.state.set_selection(selection(edit))
        else:  # undo, redo: objects that no longer exist leave the selection
            self.state.set_selection([i for i in self.state.selection if i in self.reader.table])
        self.edited.emit()
        text = f"{prefix}{edit.description}: {edit.voxels:,} voxels changed"
        self.message.emit(text[0].upper() + text[1:])

    def _ensure(self, then: Callable[[], None]) -> None:
        """Run ``then`` once the Proofreader of the shown instance volume exists (finding its
        objects first, in the worker, the first time)."""
        layer = self.layer()
        if layer is None:
            self.failed.emit("Show an instance segmentation first (Display panel).")
            return
        if self.reader is not None and self.layer_id == layer.record.id:
            then()
            return
        image = self.layers.image
        progress = _Throttled(self._progress.emit)

        def scan() -> Proofreader:
            from emstudio.core.seg.proofread import Proofreader

            volume = Volume(layer.volume.path)
            source = Volume(image.volume.path) if image is not None else None
            return Proofreader.open(volume, source, progress)

        def opened(reader: Proofreader) -> None:
            self.reader, self.layer_id = reader, layer.record.id
            then()

        self._run("Finding objects", scan, opened)

    def _run(self, what: str, task: Callable[[], Any], done: Callable[[Any], None]) -> bool:
        """Run ``task`` in the worker thread, then ``done(result)`` on the GUI thread."""
        if self.busy:
            self.message.emit(f"Please wait: {self.busy.lower()}…")
            return False
        self.busy = what
        self._done = done
        generation = self._generation

        def work() -> None:
            try:
                result: Any = task()
            except Exception as exc:  # reported to the user on the GUI thread
                if not isinstance(exc, EmstudioError):
                    log.exception("%s failed", what)
                result = exc
            self._finished.emit((generation, result))

        self._thread = threading.Thread(target=work, name="proofread", daemon=True)
        self._thread.start()
        self.stateChanged.emit()
        return True

    def _on_finished(self, outcome: tuple[int, Any]) -> None:
        generation, result = outcome
        if generation != self._generation:
            return
        what, done = self.busy, self._done
        self._thread, self.busy, self._done = None, None, None
        if isinstance(result, EmstudioError):
            self.failed.emit(str(result))
        elif isinstance(result, Exception):
            self.failed.emit(f"{what} failed: {result}")
        elif done is not None:
            done(result)
        self.stateChanged.emit()

    def _on_state(self, topic: str) -> None:
        if topic in (VOLUME, LAYERS):
            layer = self.layer()
            if self.layer_id is not None and (layer is None or layer.record.id != self.layer_id):
                self.discard()  # another volume is shown (the page asked about unsaved edits)
            elif topic == LAYERS:
                self.stateChanged.emit()
        elif topic == TOOL and self.state.paint.tool != "navigate" and self.seed_colour:
            self.set_seed_colour(None)


class _Throttled:
    """A progress callback that passes on a message only when the percentage changes."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.last = -1

    def __call__(self, done: int, total: int, message: str) -> None:
        percent = 100 * done // max(total, 1)
        if percent != self.last:
            self.last = percent
            self.emit(f"{message} ({percent} %)")


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MB" if nbytes >= 2**20 else f"{-(-nbytes // 1024)} KB"


def _ids_text(ids: Sequence[int]) -> str:
    return f"object {ids[0]}" if len(ids) == 1 else "objects " + ", ".join(map(str, ids))
