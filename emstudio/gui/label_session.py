"""Painting in the viewers: the label editor of the shown label set, undo/redo, saving.

The first brush stroke on an image without a label set creates one ("labels", classes of the
demo's or background/foreground). Saving writes the edited chunks in a plain Python thread
(file I/O and numpy only), then records the painted slices in the catalog on the GUI thread.
A flood fill is computed in a plain Python thread too (a whole 2048 x 2048 plane takes ~1 s)
and applied on the GUI thread; until then the label set takes no other edit.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal

from emstudio.core.errors import EmstudioError
from emstudio.core.project.labels import (
    DEFAULT_CLASSES,
    create_label_set,
    set_labelled_slices,
    slices_to_record,
    write_label_chunks,
)
from emstudio.gui.label_editor import Fill, LabelEditor
from emstudio.gui.layers import Layer, LayerSet
from emstudio.gui.plane_loader import PlaneLoader
from emstudio.gui.viewstate import PLANE_AXES, ViewState

NEW_SET_NAME = "labels"


class LabelSession(QObject):
    """Owns the LabelEditor of the label set in the ``labels`` overlay slot."""

    edited = Signal()  # voxels changed: views redraw the label overlay
    stateChanged = Signal()  # modified / undo / redo / saving changed
    saved = Signal(str)  # a message for the status bar
    failed = Signal(str)
    _written = Signal(object)  # from the saving thread: (generation, error, slices)
    _filled = Signal(object)  # from the fill thread: (editor, Fill or error)

    def __init__(
        self, state: ViewState, layers: LayerSet, loader: PlaneLoader, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.layers = layers
        self.loader = loader
        self.editor: LabelEditor | None = None
        self.saving = False
        self.filling = False
        self._saving_thread: threading.Thread | None = None
        self._fill_thread: threading.Thread | None = None
        self._pending: tuple[Layer, dict] | None = None
        self._written.connect(self._on_written)
        self._filled.connect(self._on_filled)

    # -- the editor -----------------------------------------------------------------------------
    def editor_of(self, layer: Layer) -> LabelEditor | None:
        """The editor if ``layer`` is the label set being edited."""
        editor = self.editor
        return editor if editor is not None and editor.layer.record.id == layer.record.id else None

    def current_editor(self) -> LabelEditor | None:
        layer = self.layers.layer("labels")
        return self.editor_of(layer) if layer is not None else None

    @property
    def busy(self) -> bool:
        """Saving or filling: the edits cannot change now."""
        return self.saving or self.filling

    def modified(self) -> bool:
        return self.editor is not None and self.editor.modified

    def discard(self) -> None:
        """Forget unsaved edits (the label set on disk is unchanged)."""
        self.editor = None
        self.edited.emit()
        self.stateChanged.emit()

    def _ensure_editor(self) -> LabelEditor | None:
        if self.saving or self.filling:
            return None
        layer = self.layers.layer("labels")
        if layer is None:
            layer = self._create_label_set()
            if layer is None:
                return None
        if not self.state.overlays["labels"].visible:
            self.state.set_overlay("labels", visible=True)
        if self.editor_of(layer) is None:
            if self.modified():  # unsaved edits of another label set: never lose them silently
                self.failed.emit("Save or discard the edits of the other label set first.")
                return None
            self.editor = LabelEditor(layer)
            self.edited.emit()
        return self.editor

    def _create_label_set(self) -> Layer | None:
        image = self.layers.image
        project = self.layers.project
        if image is None or project is None:
            return None
        existing = self.layers.candidates("labels")
        classes = existing[-1].attrs.get("classes") if existing else None
        name = unique_name(NEW_SET_NAME, {v.name for v in project.catalog.volumes()})
        try:
            create_label_set(project, image.record, name, classes or DEFAULT_CLASSES)
        except EmstudioError as exc:
            self.failed.emit(str(exc))
            return None
        self.layers.assign("labels", name)
        self.saved.emit(f"Created label set {name!r}")
        return self.layers.layer("labels")

    # -- painting (called by the views) ---------------------------------------------------------
    def radii(self, axis: int) -> tuple[float, float]:
        """Brush radii (rows, columns) in voxels: a physically round brush of ``size`` voxels
        of the finer in-plane axis."""
        row_axis, col_axis = PLANE_AXES[axis]
        voxel = self.state.voxel_size
        radius_nm = self.state.paint.size / 2 * min(voxel[row_axis], voxel[col_axis])
        return radius_nm / voxel[row_axis], radius_nm / voxel[col_axis]

    def begin_stroke(self) -> None:
        editor = self._ensure_editor()
        if editor is not None:
            editor.begin_step()

    def paint(
        self, axis: int, index: int, start: tuple[float, float], end: tuple[float, float]
    ) -> None:
        editor = self.editor
        if editor is None or editor is not self.current_editor() or self.filling:
            return
        paint = self.state.paint
        erase = paint.tool == "eraser"
        value = 0 if erase else paint.value
        background_only = paint.background_only and not erase
        if editor.brush(axis, index, start, end, self.radii(axis), value, background_only):
            self.edited.emit()

    def end_stroke(self) -> None:
        editor = self.editor
        if editor is not None and editor.end_step():
            self.stateChanged.emit()

    def stroke(self, axis: int, index: int, points: Sequence[tuple[float, float]]) -> None:
        """A whole stroke at once (a click, or a scripted stroke)."""
        self.begin_stroke()
        for start, end in list(itertools.pairwise(points)) or [(points[0], points[0])]:
            self.paint(axis, index, start, end)
        self.end_stroke()

    def fill(self, axis: int, index: int, seed: tuple[int, int], plane: np.ndarray | None) -> None:
        """Start a flood fill in a worker thread; ``edited`` follows when it is applied."""
        if self.filling:
            self.failed.emit("The previous fill is still running.")
            return
        editor = self._ensure_editor()
        if editor is None:
            return
        if plane is None:  # the label plane is still loading (or the editor was just made)
            self.failed.emit("The label plane is still loading; click again.")
            return
        paint = self.state.paint
        self.filling = True
        self.stateChanged.emit()

        def work() -> None:
            try:
                fill = editor.fill_changes(
                    axis, index, seed, plane, paint.value, paint.background_only
                )
            except Exception as exc:  # reported to the user on the GUI thread
                logging.getLogger(__name__).exception("flood fill failed")
                self._filled.emit((editor, exc))
                return
            self._filled.emit((editor, fill))

        self._fill_thread = threading.Thread(target=work, name="flood-fill", daemon=True)
        self._fill_thread.start()

    def _on_filled(self, result: tuple[LabelEditor, Fill | BaseException]) -> None:
        editor, fill = result
        self._fill_thread = None
        self.filling = False
        if isinstance(fill, BaseException):
            self.failed.emit(f"The fill failed: {fill}")
        elif fill.refused:
            self.failed.emit(fill.refused)
        elif editor is self.editor and editor.apply_fill(fill):
            self.edited.emit()
        self.stateChanged.emit()

    def undo(self) -> None:
        if self.editor is not None and not self.busy and self.editor.undo():
            self.edited.emit()
            self.stateChanged.emit()

    def redo(self) -> None:
        if self.editor is not None and not self.busy and self.editor.redo():
            self.edited.emit()
            self.stateChanged.emit()

    # -- saving ---------------------------------------------------------------------------------
    def save(self) -> bool:
        """Start writing the edits; ``saved`` or ``failed`` follows. False if nothing to do."""
        editor = self.editor
        project = self.layers.project
        if editor is None or project is None or self.saving or not editor.modified:
            return False
        chunks, painted, generation = editor.snapshot()
        layer = editor.layer
        self.saving = True
        self._pending = (layer, painted)
        self.stateChanged.emit()
        store = project.resolve(layer.record.path)
        attrs = dict(layer.record.attrs)

        def write() -> None:
            try:
                write_label_chunks(store, chunks)
                recorded = slices_to_record(attrs, store, painted)
            except Exception as exc:  # reported to the user on the GUI thread
                logging.getLogger(__name__).exception("saving labels failed")
                self._written.emit((generation, exc, {}))
                return
            self._written.emit((generation, None, recorded))

        self._saving_thread = threading.Thread(target=write, name="save-labels", daemon=True)
        self._saving_thread.start()
        return True

    def wait(self) -> None:
        """Block until a running save has finished writing and a fill has been computed
        (closing the project)."""
        for thread in (self._saving_thread, self._fill_thread):
            if thread is not None:
                thread.join()

    def _on_written(self, result: tuple[int, BaseException | None, dict]) -> None:
        generation, error, recorded = result
        self._saving_thread = None
        self.saving = False
        layer, painted = self._pending or (None, {})
        self._pending = None
        project = self.layers.project
        if error is not None or layer is None or project is None:
            self.stateChanged.emit()
            self.failed.emit(f"The labels could not be saved: {error}")
            return
        record = set_labelled_slices(project, layer.record, recorded)
        layer.record = record
        self.loader.changed(layer.path)
        if self.editor is not None and self.editor.layer is layer:
            self.editor.mark_saved(generation)
            self.editor.add_prior_slices(
                {a: set(planes) - painted.get(a, set()) for a, planes in recorded.items()}
            )
        self.stateChanged.emit()
        self.edited.emit()
        count = sum(len(v) for v in recorded.values())
        self.saved.emit(f"Saved {record.name!r} ({count} labelled slices)")


def unique_name(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name
