"""The result docks of an open project: "3D view" (a segmentation's meshes) and "Measurements"
(per-object rows of one or several segmentations), linked both ways with each other and with
the slice views' selection.

Files are read in a worker thread (the catalog is read here, on the GUI thread); a finished
mesh or measure job shows its result. Picking an object in 3D selects its table row, a row
selects the object in 3D, and either selects it in the slice views when the views show that
segmentation as their instance overlay (and the other way round).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QDockWidget, QMenu

from emstudio.core.errors import EmstudioError
from emstudio.core.measure.shape import centroid_voxel
from emstudio.core.measure.stored import measured_segmentations, measurements_path
from emstudio.core.project import Project
from emstudio.gui.jobs.manager import JobManager
from emstudio.gui.measure_table import STRUCTURE
from emstudio.gui.results.measure_panel import MeasurePanel
from emstudio.gui.results.sources import (
    load_surfaces,
    mesh_set_folder,
    meshed_segmentations,
    rows_of,
)
from emstudio.gui.results.view_panel import ViewPanel
from emstudio.gui.viewstate import CONTRAST, CURSOR, LAYERS, SELECTION, VOLUME

if TYPE_CHECKING:
    from emstudio.gui.main_window import MainWindow
    from emstudio.gui.surfaces import Surfaces

VIEW_TITLE = "3D view"
TABLE_TITLE = "Measurements"


class ResultsWorkspace(QObject):
    """Made with the project's Workbench; ``close()`` takes the docks away."""

    _loaded = Signal(int, object)  # request number, result (from the worker thread)

    def __init__(
        self, window: MainWindow, project: Project, manager: JobManager, jobs: QDockWidget
    ) -> None:
        super().__init__(window)
        self.window = window
        self.project = project
        self.page = window.project_page
        self.state = self.page.state
        self.shown_meshes: str | None = None  # the segmentation drawn in 3D
        self.listed: list[str] = []  # the segmentations listed in the table
        self._measured_ids: dict[str, str] = {}  # name -> volume id, as last listed
        self.closed = False
        self._requests = 0
        self._handlers: dict[int, Callable[[Any], None]] = {}
        self._threads: list[threading.Thread] = []
        self.view_panel = ViewPanel()
        self.table_panel = MeasurePanel()
        self.table = self.table_panel.table
        right, bottom = (
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.view_dock = window.add_dock(self.view_panel, VIEW_TITLE, right)
        self.table_dock = window.add_dock(self.table_panel, TABLE_TITLE, bottom)
        for dock in (self.view_dock, self.table_dock):
            dock.hide()  # until placed, and while empty
        # placed once the new Jobs dock is laid out (tabbing earlier leaves a stray tab bar)
        QTimer.singleShot(0, self, lambda: self._place_docks(jobs))
        self._loaded.connect(self._deliver)
        self.view_panel.segmentation_chosen.connect(self.show_meshes)
        self.context_shown: set[str] = set()  # segmentations drawn around the shown meshes
        self.view_panel.context_toggled.connect(self._context_toggled)
        self.view_panel.slices_toggled.connect(lambda _: self._update_slices())
        self.view_on_screen = False
        self.view_dock.visibilityChanged.connect(self._view_visible)
        self.table_panel.structures_changed.connect(self.show_measurements)
        self.table.row_selected.connect(self._row_selected)
        manager.job_status.connect(self._job_status)
        self.state.subscribe(self._on_state)
        self.reload()

    def _place_docks(self, jobs: QDockWidget) -> None:
        """First time: 3D view a tab beside Contrast, Measurements beside Jobs; each shown
        only when there is something in it."""
        if self.closed:
            return
        for dock, beside in (
            (self.view_dock, self.page.docks.get("contrast")),
            (self.table_dock, jobs),
        ):
            if beside is not None and dock.objectName() not in self.page.known_docks:
                self.page.tabifyDockWidget(beside, dock)
        self.page.hide_stray_tab_bars()
        self.view_dock.setVisible(bool(self.view_panel.chooser.count()))
        self.table_dock.setVisible(bool(self.table_panel.checked()))
        if self.view_dock.isVisible() and self.page.layers.image is None:
            self.view_dock.raise_()  # objects made elsewhere, no image: they are seen in 3D

    def add_run_actions(self, menu: QMenu, run: Callable[[QDialog], None]) -> None:
        """The Run menu's post-processing entries; ``run`` shows a dialog and submits its job."""
        from emstudio.gui.dialogs.measure_dialog import MeasureDialog
        from emstudio.gui.dialogs.mesh_dialog import MeshDialog
        from emstudio.gui.dialogs.segment_dialog import SegmentDialog

        project, window = self.project, self.window
        menu.addAction("Segment instances…", lambda: run(SegmentDialog(project, window)))
        menu.addAction(
            "Make meshes…", lambda: run(MeshDialog(project, window, segmentation=self._shown()))
        )
        menu.addAction(
            "Export meshes…",
            lambda: run(MeshDialog(project, window, export=True, segmentation=self._shown())),
        )
        menu.addAction(
            "Measure…", lambda: run(MeasureDialog(project, window, segmentation=self._shown()))
        )

    def _shown(self) -> str | None:
        """The segmentation the user looks at: the views' instance overlay, else the 3D one."""
        return self.state.overlays["instances"].volume or self.shown_meshes

    # -- what is shown --------------------------------------------------------------------------
    def reload(self, show: str | None = None) -> None:
        """Re-read which segmentations have meshes and measurements (after a job, a rename, a
        delete), keeping the choices made; ``show``: a segmentation to list too. Files are
        read again only when the choice changes."""
        meshed = meshed_segmentations(self.project)
        current = self.shown_meshes if self.shown_meshes in meshed else None
        current = current or (meshed[-1] if meshed else None)
        self.view_panel.set_choices(meshed, current)
        for gone in self.context_shown - set(meshed):  # deleted or renamed meanwhile
            self._context_toggled(gone, False)
        if current != self.shown_meshes:
            self.show_meshes(current)
        self._offer_context()
        records = measured_segmentations(self.project)
        measured = [r.name for r in records]
        ticked = {self._measured_ids.get(n) for n in self.table_panel.checked()}
        checked = [r.name for r in records if r.id in ticked]  # by id: a renamed one stays
        self._measured_ids = {r.name: r.id for r in records}
        if show in measured and show not in checked:
            checked.append(show)
        if not checked and measured:
            checked = [measured[-1]]
        self.table_panel.set_choices(measured, checked)
        if checked != self.listed:
            self.show_measurements(checked)

    def show_meshes(self, name: str | None) -> None:
        """Draw the newest mesh set of segmentation ``name`` (read in a worker thread)."""
        self.shown_meshes = name
        self.view_panel.set_choices(self.view_panel.choices(), name)
        if name in self.context_shown:  # now the structure looked at, not context
            self._context_toggled(name, False)
        self._offer_context()
        folder = mesh_set_folder(self.project, name) if name else None
        if folder is None:
            if self.view_panel.view is not None:
                self.view_panel.view.set_meshes({})
            return
        if self.view_panel.view is None and not self.view_on_screen:
            return  # read and drawn when the 3D view is first shown (``_view_visible``)
        self._read(lambda: load_surfaces(folder), lambda found: self._meshes_read(name, found))

    def _offer_context(self) -> None:
        """ "Also show" offers every meshed segmentation but the one looked at."""
        others = [n for n in self.view_panel.choices() if n != self.shown_meshes]
        self.view_panel.set_context_choices(others, self.context_shown)

    def _context_toggled(self, name: str, on: bool) -> None:
        """Draw segmentation ``name``'s meshes around the objects, or no more."""
        if not on:
            self.context_shown.discard(name)
            if self.view_panel.view is not None:
                self.view_panel.view.set_context(name, None)
            return
        folder = mesh_set_folder(self.project, name)
        if folder is None:
            return
        self.context_shown.add(name)
        self._read(lambda: load_surfaces(folder), lambda found: self._context_read(name, found))

    def _context_read(self, name: str, surfaces: Surfaces) -> None:
        if name in self.context_shown:  # not unticked meanwhile
            self.view_panel.ensure_view().set_context(name, surfaces)

    def show_measurements(self, names: list[str]) -> None:
        """List the objects of the segmentations ``names`` (their stored tables)."""
        self.listed = list(names)
        paths = [
            (n, measurements_path(self.project, self.project.catalog.volume(n))) for n in names
        ]
        self._read(lambda: rows_of(paths), self._rows_read)

    def _meshes_read(self, name: str, surfaces: Surfaces) -> None:
        if name != self.shown_meshes:
            return
        new = self.view_panel.view is None
        view = self.view_panel.ensure_view()
        if new:
            view.object_picked.connect(self._picked)
        try:
            named = self.project.catalog.volume(name).object_class
        except EmstudioError:
            named = None
        classes = {i: named for i in surfaces.polydata} if named else {}
        view.set_surfaces(surfaces, classes)
        self._colour_options()
        self._update_slices()
        self._follow_selection()

    def _rows_read(self, rows: list[dict[str, str]]) -> None:
        self.table_panel.set_rows(rows)
        self._colour_options()
        self._follow_selection()

    def _colour_options(self) -> None:
        """The 3D view may colour its objects by any measurement of its segmentation."""
        view = self.view_panel.view
        if view is not None:
            mine = [r for r in self.table.model.rows if r.get(STRUCTURE) == self.shown_meshes]
            view.set_measurements([{k: v for k, v in r.items() if k != STRUCTURE} for r in mine])

    # -- linked selection -----------------------------------------------------------------------
    def _row_selected(self, row: dict) -> None:
        structure, object_id = row.get(STRUCTURE), int(row["id"])
        if structure == self.shown_meshes and self.view_panel.view is not None:
            self.view_panel.view.select_object(object_id)
        self._go_to(structure, row)
        if structure == self.state.overlays["instances"].volume:
            self.state.set_selection([object_id])

    def _go_to(self, structure: str | None, row: dict) -> None:
        """Move the slice views to the object's centroid, where its segmentation lies on the
        grid of the image they show."""
        try:
            shape = self.project.catalog.volume(structure).shape if structure else None
        except EmstudioError:  # deleted meanwhile
            return
        voxel = centroid_voxel(row, self.state.voxel_size)
        if voxel is not None and tuple(shape or ()) == self.state.shape:
            self.state.set_cursor(voxel)

    def _picked(self, object_id: int) -> None:
        """An object clicked in 3D: its row, and the slice views at it."""
        self.table.select_object(object_id, self.shown_meshes)
        index = self.table.model.row_of(object_id, self.shown_meshes)
        if index is not None:
            self._go_to(self.shown_meshes, self.table.model.rows[index])
        if self.shown_meshes == self.state.overlays["instances"].volume:
            self.state.set_selection([object_id])

    def _follow_selection(self) -> None:
        """Show the slice views' selected object (of their instance overlay) here."""
        overlay = self.state.overlays["instances"].volume
        object_id = self.state.selection[0] if self.state.selection else None
        if overlay is None:
            return
        self.table.select_object(object_id, overlay)
        if overlay == self.shown_meshes and self.view_panel.view is not None:
            self.view_panel.view.select_object(object_id)

    def _on_state(self, topic: str) -> None:
        if topic == SELECTION:
            self._follow_selection()
        elif topic == LAYERS:  # also after the catalog changed (rename, delete)
            self.reload()
            self._update_slices()
        elif topic in (CURSOR, VOLUME, CONTRAST):
            self._update_slices()

    def _update_slices(self) -> None:
        """Orthoslices of the image shown, at the cursor, while asked for and visible."""
        view = self.view_panel.view
        if view is None:
            return
        image = self.page.layers.image
        wanted = self.view_panel.slices.isChecked() and self.view_dock.isVisible()
        if image is None or not wanted:
            if any(actor.GetVisibility() for actor in view.scene.slices):
                view.scene.show_slices(False)
                view.refresh()  # only when they were shown: a redraw can take long on a CPU
            return
        volume = image.volume
        view.set_image(volume.plane, volume.shape, volume.voxel_size.zyx, self.state.contrast)
        view.set_cursor(self.state.cursor)

    def _view_visible(self, visible: bool) -> None:
        self.view_on_screen = visible  # False also while tabbed behind another dock
        if visible and self.shown_meshes and self.view_panel.view is None:
            self.show_meshes(self.shown_meshes)

    # -- jobs -----------------------------------------------------------------------------------
    def _job_status(self, job_id: str, status: str, _message: str) -> None:
        if status != "done":
            return
        job = self.project.catalog.job(job_id)
        outputs = job.outputs or {}
        if job.kind == "mesh":
            self.reload()
            segmentation = job.spec.get("inputs", {}).get("segmentation")
            self.show_meshes(segmentation)
            self.view_dock.show()
            self.view_dock.raise_()
        elif job.kind == "measure":
            self.reload(show=outputs.get("segmentation"))
            self.show_measurements(self.table_panel.checked())  # the new table
            self.table_dock.show()
            self.table_dock.raise_()

    # -- worker thread --------------------------------------------------------------------------
    def _read(self, work: Callable[[], Any], handle: Callable[[Any], None]) -> None:
        """Run ``work`` in a thread; ``handle`` its result here (errors go to the status bar)."""
        self._requests += 1
        request = self._requests
        self._handlers[request] = handle

        def run() -> None:
            try:
                result: Any = work()
            except (EmstudioError, OSError, ValueError, KeyError) as exc:
                result = exc
            self._loaded.emit(request, result)

        thread = threading.Thread(target=run, name="results-reader", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _deliver(self, request: int, result: Any) -> None:
        handle = self._handlers.pop(request, None)
        if handle is None:
            return
        if isinstance(result, Exception):
            self.window.statusBar().showMessage(f"Cannot read results: {result}", 10000)
            return
        handle(result)

    def wait(self) -> None:
        """Let the reading threads finish (tests, closing)."""
        for thread in self._threads:
            thread.join()

    def close(self) -> None:
        self.closed = True
        self.wait()
        self._handlers.clear()
        self.state.unsubscribe(self._on_state)
        self.view_panel.close_view()
        for dock in (self.view_dock, self.table_dock):
            self.window.view_menu.removeAction(dock.toggleViewAction())
            dock.setParent(None)
            dock.deleteLater()
