"""The workspace of an open project: the slice views in the middle, docks around them.

Docks: Project (browser), Paint (label tools) and Proofreading (instances) on the left,
Display (image, overlays) and Contrast on the right; other widgets (jobs, 3D view,
measurements...) join with ``add_dock``. Every part observes the one Qt-free ``ViewState``
(``self.state``).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.project import Project, VolumeRecord
from emstudio.gui.contrast_panel import ContrastPanel
from emstudio.gui.import_dialog import ImportDialog
from emstudio.gui.label_session import LabelSession, unique_name
from emstudio.gui.layer_panel import LayerPanel
from emstudio.gui.layers import SLOT_KINDS, LayerSet
from emstudio.gui.new_label_set import ask_new_label_set
from emstudio.gui.paint_panel import PaintPanel
from emstudio.gui.plane_loader import PlaneLoader
from emstudio.gui.project_panel import ProjectPanel
from emstudio.gui.proofread_panel import ProofreadPanel
from emstudio.gui.proofread_session import ProofreadSession
from emstudio.gui.results.sources import meshed_segmentations
from emstudio.gui.viewer_grid import ViewerGrid
from emstudio.gui.viewstate import SELECTION, ViewState
from emstudio.gui.volume_actions import VolumeActions
from emstudio.gui.workspace_settings import restore_settings, save_settings
from emstudio.jobs.spec import JobSpec

if TYPE_CHECKING:
    from emstudio.gui.workbench import Workbench

EMPTY_TEXT = (
    "<p style='font-size: large'><b>This project has no image yet.</b></p>"
    "<p>Import a stack with <b>Project ▸ Import volume…</b> (or the Import button of the "
    "Project panel): a TIFF/OME-TIFF, MRC or HDF5 file, a Zarr store or a folder of slices.</p>"
    "<p>From a terminal, with the project closed in this window:</p>"
    '<p><code>emstudio import "{path}" STACK.tif --name raw</code></p>'  # wraps: no wide page
)
OBJECTS_ONLY_TEXT = (
    "<p style='font-size: large'><b>This project has objects but no image.</b></p>"
    "<p>{names}: {what_next}</p>"
    "<p>To see the objects on the slices, import the image they were made from, of the same "
    "size, with <b>Project ▸ Import volume…</b>.</p>"
)
MESH_THEM = (
    "<b>Run ▸ Make meshes…</b> makes the objects' meshes (they show in the 3D view), "
    "<b>Run ▸ Measure…</b> measures them."
)
SEE_THEM = (
    "their meshes are in the <b>3D view</b> (drag its title bar onto the middle of the window "
    "to see it larger); <b>Run ▸ Measure…</b> measures the objects."
)
UNREADABLE_TEXT = (
    "<p style='font-size: large'><b>The images of this project cannot be read.</b></p>"
    "<p>Their files are missing or damaged (see below). Restore the project folder from a "
    "backup, or import the stack again with <b>Project ▸ Import volume…</b>.</p>"
)
SLOT_OF_KIND = {kind: slot for slot, kind in SLOT_KINDS.items()}
DOCK_WIDTH = 300  # initial width of the side docks (px)
NEW_DOCK_HEIGHT = 200  # initial height of a dock added below (or above) the views (px)


def ask_save(parent: QWidget, title: str, text: str) -> QMessageBox.StandardButton:
    """Save / Discard / Cancel about unsaved edits (Save is the default)."""
    buttons = QMessageBox.StandardButton
    return QMessageBox.question(
        parent, title, text, buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save
    )


class ProjectPage(QMainWindow):
    """Shown inside the main window while a project is open."""

    closeRequested = Signal()
    message = Signal(str)  # for the status bar

    def __init__(self, parent: QWidget | None = None, remember: bool = True) -> None:
        """``remember``: restore the settings of the last run (off for screenshots)."""
        super().__init__(parent)
        self.setWindowFlags(Qt.WindowType.Widget)
        self.setDockNestingEnabled(True)
        self.setAnimated(False)  # docks appear at once: the views never slide under the mouse
        for corner, area in (  # the side docks run the full height; others sit under the views
            (Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea),
            (Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea),
            (Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea),
            (Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea),
        ):
            self.setCorner(corner, area)
        self.project: Project | None = None
        self.import_dialog: ImportDialog | None = None
        self.workbench: Workbench | None = None  # the project's job queue (set by Workbench)
        self.known_docks: set[str] = set()  # docks in the saved arrangement (restore_settings)
        self._said_unreadable: set[str] = set()  # volumes found damaged (said once each)
        self.state = ViewState()
        self.layers = LayerSet(self.state)
        self.loader = PlaneLoader(self)
        self.labels = LabelSession(self.state, self.layers, self.loader, self)
        self.proofread = ProofreadSession(self.state, self.layers, self)
        self.viewer = ViewerGrid(self.state, self.layers, self.loader, self.labels, self.proofread)
        self.empty_label = QLabel()
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty_label.setMargin(32)
        self.empty_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # scrolled: the long command line (the project's path) must not widen the window
        self.empty_page = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        self.empty_page.setWidget(self.empty_label)
        self.central = QStackedWidget()
        self.central.addWidget(self.empty_page)
        self.central.addWidget(self.viewer)
        self.setCentralWidget(self.central)
        self.panel = ProjectPanel()
        self.layer_panel = LayerPanel(self.state, self.layers)
        self.contrast_panel = ContrastPanel(self.state, self.layers)
        self.paint_panel = PaintPanel(self.state, self.layers, self.labels)
        self.proofread_panel = ProofreadPanel(self.state, self.proofread)
        self._undo_target: LabelSession | ProofreadSession = self.labels  # edited last
        self.actions = VolumeActions(self)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.docks = {
            "project": self.add_dock(self.panel, "Project", left),
            "paint": self.add_dock(_padded(self.paint_panel), "Paint", left),
            "proofread": self.add_dock(_padded(self.proofread_panel), "Proofreading", left),
            "display": self.add_dock(_scrolled(self.layer_panel), "Display", right),
            "contrast": self.add_dock(_padded(self.contrast_panel), "Contrast", right),
        }
        # Paint and Proofreading share a place (a saved arrangement, restored below, wins)
        self.tabifyDockWidget(self.docks["paint"], self.docks["proofread"])
        self.docks["paint"].raise_()
        # the names the start-up page had (tests and the main window use them)
        self.name_label = self.panel.name_label
        self.path_label = self.panel.path_label
        self.summary_label = self.panel.summary_label
        self._connect()
        # False: no saved dock layout, size the docks once shown
        self._sized = restore_settings(self) if remember else False

    # -- docks ----------------------------------------------------------------------------------
    def add_dock(
        self,
        widget: QWidget,
        title: str,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    ) -> QDockWidget:
        """Dock ``widget`` beside the views (its visibility toggle is ``dock.toggleViewAction``)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        below = area in (
            Qt.DockWidgetArea.BottomDockWidgetArea,
            Qt.DockWidgetArea.TopDockWidgetArea,
        )
        if dock.objectName() in self.known_docks:
            self.restoreDockWidget(dock)  # where the user left it last time
        elif below:  # new below (or above) the views: start low, the views matter most
            QTimer.singleShot(0, dock, lambda: self._make_low(dock))
        return dock

    def hide_stray_tab_bars(self) -> None:
        """Hide one-tab dock tab bars: Qt leaves one drawn at the window's corner when a saved
        arrangement names docks that are added later (a real group has two tabs or more)."""
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if bar.count() < 2:
                bar.hide()

    def _make_low(self, dock: QDockWidget) -> None:
        self.layout().activate()  # lay the new dock out first, or the size is overridden
        self.resizeDocks([dock], [NEW_DOCK_HEIGHT], Qt.Orientation.Vertical)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            docks = [self.docks["project"], self.docks["display"]]
            self.resizeDocks(docks, [DOCK_WIDTH, DOCK_WIDTH], Qt.Orientation.Horizontal)

    # -- the project ----------------------------------------------------------------------------
    def show_project(self, project: Project) -> None:
        """Show ``project``: its first image with the newest overlays, in the three views."""
        if project is not self.project:
            self.project = project
            self.actions.project = project
            self.layers.open(project)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the catalog (after a job, import, rename or delete)."""
        if self.project is None:
            return
        self.layers.reload()
        shown = {
            layer.name for layer in (self.layers.image, *self.layers.overlays.values()) if layer
        }
        self.panel.show_project(self.project, shown)
        self.layer_panel.reload()
        self.paint_panel.update_status()
        self.proofread_panel.update_status()
        has_image = self.layers.image is not None
        text = self._empty_text()
        if self.layers.problems:
            unread = (
                "<p><b>Could not read:</b><br>"
                + "<br>".join(html.escape(p) for p in self.layers.problems)
                + "</p>"
            )
            if not has_image and self.project.catalog.volumes("image"):
                text = UNREADABLE_TEXT + unread  # the images are listed: none is missing
            else:
                text += unread
            self.message.emit("Some volumes cannot be read: " + "; ".join(self.layers.problems))
        self.empty_label.setText(text)
        self.central.setCurrentWidget(self.viewer if has_image else self.empty_page)
        for panel in (self.paint_panel, self.proofread_panel):  # they work on the slice views
            panel.setEnabled(has_image)

    def _empty_text(self) -> str:
        """What the page says where there is no image to show: how to import one, or, where
        the project holds objects made elsewhere, what can be done with them."""
        assert self.project is not None
        segmentations = self.project.catalog.volumes("segmentation")
        if not segmentations:
            return EMPTY_TEXT.format(path=html.escape(str(self.project.path)))
        kind = "The segmentation" if len(segmentations) == 1 else "The segmentations"
        names = ", ".join(f"'{html.escape(r.name)}'" for r in segmentations)
        meshed = set(meshed_segmentations(self.project))
        what_next = SEE_THEM if all(r.name in meshed for r in segmentations) else MESH_THEM
        return OBJECTS_ONLY_TEXT.format(names=f"{kind} {names}", what_next=what_next)

    def clear(self) -> None:
        """Forget the project (the main window closes it)."""
        self.labels.wait()
        self.labels.discard()
        self.proofread.wait()
        self.proofread.discard()
        self.contrast_panel.wait()
        self.loader.stop()
        self.loader.cache.forget_all()
        self.actions.project = None
        self._said_unreadable.clear()
        self.layers.close()
        self.state.set_image(None, (1, 1, 1), (1.0, 1.0, 1.0))
        self.panel.clear()
        self.project = None

    @property
    def settled(self) -> bool:
        """Whether the views show every plane they want (screenshots wait for this)."""
        return self.central.currentWidget() is not self.viewer or self.viewer.settled

    def confirm_close(self, slot: str | None = None) -> bool:
        """Ask about unsaved edits (of the ``slot`` overlay, or all); False when the user
        cancels."""
        if slot in (None, "instances") and not self._confirm_proofreading():
            return False
        if slot not in (None, "labels") or not self.labels.modified():
            return True
        layer = self.labels.editor.layer if self.labels.editor else None
        answer = ask_save(
            self,
            "Unsaved labels",
            f"The label set {layer.name if layer else ''!r} has unsaved changes. Save them?",
        )
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            self.labels.save()
            self.labels.wait()
            QCoreApplication.processEvents()  # delivers the save's result (catalog update)
        else:
            self.labels.discard()
        return True

    def _confirm_proofreading(self) -> bool:
        session = self.proofread
        if not session.modified() or self.project is None:
            return True
        layer = session.layer()
        name = layer.name if layer else ""
        answer = ask_save(
            self,
            "Unsaved proofreading",
            f"The instances {name!r} have unsaved proofreading edits. Save them as a new version?",
        )
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            taken = {v.name for v in self.project.catalog.volumes()}
            session.wait()
            QCoreApplication.processEvents()  # a task that just ended reports first
            if session.save_version(unique_name(f"{name}-proofread", taken)):
                session.wait()
                QCoreApplication.processEvents()  # delivers the save's result (catalog row)
        session.discard()
        return True

    def _show_proofreading(self, topic: str) -> None:
        """Bring the Proofreading panel forward when objects get selected."""
        if topic == SELECTION and self.state.selection:
            self.docks["proofread"].raise_()

    def undo(self) -> None:
        """Undo the last edit of what was edited last (painting or proofreading)."""
        self._undo_target.undo()

    def redo(self) -> None:
        self._undo_target.redo()

    def save_settings(self) -> None:
        save_settings(self)

    # -- actions --------------------------------------------------------------------------------
    def open_import_dialog(self) -> ImportDialog | None:
        if self.project is None or self.workbench is None:
            return None
        if self.import_dialog is None:
            dialog = ImportDialog(self.project, self.workbench, self)
            dialog.imported.connect(self._imported)
            dialog.finished.connect(self._import_closed)
            self.import_dialog = dialog
        self.import_dialog.show()
        self.import_dialog.raise_()
        return self.import_dialog

    def submit_job(self, spec: JobSpec) -> None:
        """Run a job in the project's job queue (it shows in the Jobs dock)."""
        if self.workbench is not None:
            self.workbench.submit(spec)

    def new_label_set(self) -> None:
        if self.project is None or self.layers.image is None or not self.confirm_close("labels"):
            return
        existing = self.layers.layer("labels")
        chosen = ask_new_label_set(self, self.project, self.layers.image.record, existing)
        if chosen is not None:
            self.refresh()
            self.show_volume(self.project.catalog.volume(chosen))

    def show_volume(self, record: VolumeRecord) -> None:
        """Show an image, or put another volume into its overlay slot."""
        if record.kind == "image":
            if self.layers.image is None or self.layers.image.record.id != record.id:
                if not self.confirm_close():
                    return
                self.labels.discard()
                self.layers.show_image(record.name)
        else:
            slot = SLOT_OF_KIND[record.kind]
            if slot != "probability" and not self.confirm_close(slot):
                return
            if record.name not in {r.name for r in self.layers.candidates(slot)}:
                self.message.emit(f"{record.name!r} does not fit the image shown")
                return
            self.layers.assign(slot, record.name)
        self.refresh()

    def _imported(self, name: str) -> None:
        self.refresh()
        self.message.emit(f"Imported {name!r}")
        if self.layers.image is None and self.project is not None:
            self.show_volume(self.project.catalog.volume(name))

    def _import_closed(self) -> None:
        if self.import_dialog is not None:
            self.import_dialog.deleteLater()
            self.import_dialog = None

    def _before_delete(self, record: VolumeRecord) -> None:
        editor = self.labels.editor
        if editor is not None and editor.layer.record.id == record.id:
            self.labels.discard()
        self.loader.changed(str(self.project.resolve(record.path)) if self.project else "")

    def _overlay_chosen(self, slot: str, name: str) -> None:
        if slot != "probability" and not self.confirm_close(slot):
            self.layer_panel.reload()
            return
        if slot == "labels":
            self.labels.discard()
        self.layers.assign(slot, name or None)
        self.refresh()

    def show_model_card(self, model: dict) -> None:
        """A model's card (what it learned from, its validation figures, where it came from),
        beside the window; ``model``: its catalog record as JSON."""
        from emstudio.core.ml.card import project_summary
        from emstudio.gui.dialogs.model_card import ModelCardDialog

        ids = {m.id for m in self.project.catalog.models()} if self.project else set()
        rows = project_summary(model["card"], model.get("provenance") or {}, ids)
        dialog = ModelCardDialog(model["card"], self, rows)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _connect(self) -> None:
        self.docks["proofread"].visibilityChanged.connect(self._proofreading_shown)
        self.panel.closeRequested.connect(self.closeRequested)
        self.panel.importRequested.connect(self.open_import_dialog)
        self.panel.showRequested.connect(self.show_volume)
        self.panel.renameRequested.connect(self.actions.rename)
        self.panel.deleteRequested.connect(self.actions.delete)
        self.panel.deleteItemRequested.connect(self.actions.delete_item)
        self.panel.exportRequested.connect(self.actions.export)
        self.panel.provenanceRequested.connect(self.actions.provenance)
        self.panel.cardRequested.connect(self.show_model_card)
        self.panel.exportModelRequested.connect(self.actions.export_model)
        self.actions.aboutToDelete.connect(self._before_delete)
        self.actions.changed.connect(self.refresh)
        self.actions.message.connect(self.message)
        self.actions.jobRequested.connect(self.submit_job)
        self.layer_panel.imageChosen.connect(
            lambda name: self.project and self.show_volume(self.project.catalog.volume(name))
        )
        self.layer_panel.overlayChosen.connect(self._overlay_chosen)
        self.paint_panel.newLabelSetRequested.connect(self.new_label_set)
        self.labels.saved.connect(self.message)
        self.labels.saved.connect(lambda _: self.refresh())
        self.labels.failed.connect(self.message)
        self.labels.edited.connect(lambda: setattr(self, "_undo_target", self.labels))
        self.proofread.edited.connect(lambda: setattr(self, "_undo_target", self.proofread))
        self.proofread.message.connect(self.message)
        self.proofread.failed.connect(lambda text: QMessageBox.warning(self, "Proofreading", text))
        self.proofread.saved.connect(lambda _: self.refresh())
        self.state.subscribe(self._show_proofreading)
        self.loader.failed.connect(self._store_unreadable)
        self.contrast_panel.read_failed.connect(self._volume_unreadable)

    def _proofreading_shown(self, visible: bool) -> None:
        """A click in the views selects objects there: the paint tools would paint instead."""
        if visible and self.state.paint.tool != "navigate":
            self.state.set_paint(tool="navigate")

    def _store_unreadable(self, path: str, problem: str) -> None:
        layers = (self.layers.image, *self.layers.overlays.values())
        names = [layer.name for layer in layers if layer is not None and layer.path == path]
        self._volume_unreadable(names[0] if names else path, problem)

    def _volume_unreadable(self, name: str, problem: str) -> None:
        """Say once per volume and project that its files cannot be read (the views would only
        show black where it should be)."""
        self.message.emit(f"Cannot read {name!r}: {problem}")
        if name in self._said_unreadable:
            return
        self._said_unreadable.add(name)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Cannot read a volume",
            f"Part of {name!r} cannot be read: its files in the project folder are damaged or "
            "missing, and the views show black where it is.\n\nRestore the project folder "
            "from a backup, or import the volume again.",
            parent=self,
        )
        box.setDetailedText(problem)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not modal to the app: the views go on working


def _padded(widget: QWidget) -> QWidget:
    """A dock's content with a little room around it."""
    outer = QWidget()
    layout = QVBoxLayout(outer)
    layout.setContentsMargins(8, 6, 8, 6)
    layout.addWidget(widget)
    return outer


def _scrolled(widget: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidget(_padded(widget))
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll
