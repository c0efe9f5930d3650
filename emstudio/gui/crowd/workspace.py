"""The crowd dock of an open project: which crowd label set, what the slice views show of it
(``CrowdOverlay``: outlines, agreement map) and its reliability panel.

Choosing a set puts its consensus into the labels slot (and a crowd set chosen there is shown
here); a finished crowd import or re-aggregation shows its new set; choosing a volunteer draws
their tracing bold, moving the views to a slice they traced when the views show none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from emstudio.core.crowd.agreement import traced_slices
from emstudio.core.crowd.mapping import AXES
from emstudio.core.crowd.sidecar import CrowdTracings, is_crowd_label_set, read_sidecar
from emstudio.core.errors import EmstudioError
from emstudio.core.project import Project, VolumeRecord
from emstudio.gui.crowd.background import Background
from emstudio.gui.crowd.overlay import CrowdOverlay
from emstudio.gui.crowd.reliability_panel import ReliabilityPanel
from emstudio.gui.crowd.tracing_controls import TracingControls
from emstudio.gui.jobs.manager import JobManager
from emstudio.gui.look import muted
from emstudio.gui.viewstate import HOVER, LAYERS, VOLUME
from emstudio.jobs.spec import JobSpec

if TYPE_CHECKING:
    from emstudio.gui.main_window import MainWindow

DOCK_TITLE = "Crowd reliability"
MIN_WIDTH = 260  # px, at least (wider docks only if the content needs it)
NO_SETS_TEXT = (
    "The image shown has no crowd label set. Make one with Run ▸ Import crowd tracings "
    "(or emstudio crowd import)."
)


class CrowdWorkspace(QObject):
    """Made with the project's Workbench; ``close()`` takes the dock and the overlay away."""

    def __init__(
        self,
        window: MainWindow,
        project: Project,
        manager: JobManager,
        submit: Callable[[JobSpec], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.project = project
        self.page = window.project_page
        self.state = self.page.state
        self.name: str | None = None  # the crowd label set chosen
        self.loaded: str | None = None  # the one shown (its tracings read)
        self._background = Background(self)
        self.overlay = CrowdOverlay(
            self.state, [view.canvas for view in self.page.viewer.views], self
        )
        self.chooser = QComboBox()
        self.note = muted(QLabel(NO_SETS_TEXT))
        self.note.setWordWrap(True)
        self.controls = TracingControls()
        self.panel = ReliabilityPanel()
        self.dock = window.add_dock(
            self._build(), DOCK_TITLE, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.chooser.activated.connect(
            lambda _: self.load(self.chooser.currentText(), into_slot=True)
        )
        self.controls.look_changed.connect(lambda changes: self.overlay.set_look(**changes))
        self.panel.visible_volunteers_changed.connect(
            lambda ids: self.overlay.set_look(shown=frozenset(ids))
        )
        self.panel.volunteer_chosen.connect(self.choose_volunteer)
        self.panel.slice_selected.connect(
            lambda axis, index: self.state.set_slice(AXES.index(axis), index)
        )
        self.panel.reaggregate_requested.connect(submit)
        manager.job_status.connect(self._job_status)
        self.state.subscribe(self._on_state)
        self.closed = False
        self.dock.hide()  # until placed
        # placed once the new dock is laid out (tabbing earlier leaves a stray tab bar)
        QTimer.singleShot(0, self, self._place_dock)
        self._show(None)
        self.reload()

    def _place_dock(self) -> None:
        """First time: a tab beside Contrast (the Display dock stays in view); shown, raised,
        when the image has crowd label sets."""
        if self.closed:
            return
        beside = self.page.docks.get("contrast")
        if beside is not None and self.dock.objectName() not in self.page.known_docks:
            self.page.tabifyDockWidget(beside, self.dock)
        self.page.hide_stray_tab_bars()
        if self.names():
            self.dock.show()
            self.dock.raise_()

    def _build(self) -> QScrollArea:
        widget = QWidget()
        chooser = QFormLayout()
        chooser.addRow("Crowd label set", self.chooser)
        layout = QVBoxLayout(widget)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(chooser)
        layout.addWidget(self.note)
        layout.addWidget(self.controls)
        layout.addWidget(self.panel, 1)
        scroll = QScrollArea()  # a short dock scrolls instead of squeezing the histogram
        scroll.setWidget(widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(MIN_WIDTH, widget.minimumSizeHint().width() + bar))
        return scroll

    # -- which set ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """The crowd label sets of the image shown (oldest first)."""
        image = self.page.layers.image
        if image is None:
            return []
        return [
            r.name
            for r in self.project.catalog.volumes("labels")
            if r.image_id == image.record.id and is_crowd_label_set(r)
        ]

    def reload(self, select: str | None = None) -> None:
        """List the image's crowd sets again; show ``select`` (its consensus in the labels
        slot), else the one in the labels slot, else the one shown before, else the newest (its
        consensus in the labels slot when that is empty)."""
        names = self.names()
        in_slot = self.state.overlays["labels"].volume
        wanted = next((n for n in (select, in_slot, self.name) if n in names), None)
        wanted = wanted or (names[-1] if names else None)
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems(names)
        self.chooser.setCurrentText(wanted or "")
        self.chooser.blockSignals(False)
        self.note.setText(NO_SETS_TEXT)
        self.note.setVisible(not names)
        chosen = wanted is not None and wanted == select
        self.load(wanted, force=chosen, into_slot=chosen or in_slot is None)

    def load(self, name: str | None, force: bool = False, into_slot: bool = False) -> None:
        """Show crowd label set ``name`` (None: none) in the panel and the overlay once its
        tracings are read (in the worker thread), and with ``into_slot`` its consensus in the
        labels slot."""
        if name == self.name and not force:
            if into_slot:
                self._into_slot()
            return
        self.name = name
        self.loaded = None
        self._show(None)
        if name is None:
            return
        record = self.project.catalog.volume(name)
        image = self.project.catalog.volume_by_id(record.image_id or "")
        folder = self.project.resolve(record.path)
        self._background.submit(
            lambda: read_sidecar(folder, record.attrs),
            lambda result: self._read(record, image.name, result, into_slot),
        )

    def _read(
        self,
        record: VolumeRecord,
        image: str,
        result: CrowdTracings | Exception,
        into_slot: bool,
    ) -> None:
        if record.name != self.name:
            return  # another set was asked for meanwhile
        if isinstance(result, EmstudioError):  # a damaged or missing tracings file
            self.note.setText(str(result))
            self.note.setVisible(True)
            return
        if isinstance(result, Exception):
            raise result
        self.panel.set_data(self.project.path, record, result, image)
        self.loaded = record.name
        self._show(result)
        if into_slot:
            self._into_slot()

    def _show(self, data: CrowdTracings | None) -> None:
        self.panel.setVisible(data is not None)
        self.controls.setVisible(data is not None)
        self.overlay.set_data(data)
        self.overlay.set_look(shown=frozenset(self.panel.visible_volunteers()), chosen=None)

    def _into_slot(self) -> None:
        if self.name is not None and self.state.overlays["labels"].volume != self.name:
            self.page.show_volume(self.project.catalog.volume(self.name))

    # -- volunteers -----------------------------------------------------------------------------
    def choose_volunteer(self, volunteer: str) -> None:
        """Draw ``volunteer``'s outlines bold; move to a slice they traced if none is shown."""
        if self.controls.tracings.currentData() == "none":
            self.controls.set_tracings("chosen")
        self.overlay.set_look(chosen=volunteer)
        if self.overlay.data is None:
            return
        traced = traced_slices(self.overlay.data.tracings, volunteer)
        shown = {(axis, self.state.cursor[a]) for a, axis in enumerate(AXES)}
        if traced and not shown & set(traced):
            axis, index = min(
                traced,
                key=lambda key: (
                    key[0] != "z",
                    abs(key[1] - self.state.cursor[AXES.index(key[0])]),
                ),
            )
            self.state.set_slice(AXES.index(axis), index)

    # -- events ---------------------------------------------------------------------------------
    def _on_state(self, topic: str) -> None:
        if topic == VOLUME:
            self.reload()
        elif topic == LAYERS:
            names = self.names()
            in_slot = self.state.overlays["labels"].volume
            if names != [self.chooser.itemText(i) for i in range(self.chooser.count())]:
                self.reload()
            elif in_slot in names and in_slot != self.name:
                self.chooser.setCurrentText(in_slot)
                self.load(in_slot)
        elif topic == HOVER:
            self.controls.show_here(self.overlay.hover_text())

    def _job_status(self, job_id: str, status: str, _message: str) -> None:
        if status != "done":
            return
        job = self.project.catalog.job(job_id)
        name = (job.outputs or {}).get("labels")
        if job.kind != "crowd_import" or not name or not self.project.catalog.has_volume_name(name):
            return
        record = self.project.catalog.volume(name)
        image = self.page.layers.image
        if image is None or image.record.id != record.image_id:
            self.page.show_volume(self.project.catalog.volume_by_id(record.image_id or ""))
        self.reload(select=name)
        self.dock.show()
        self.dock.raise_()

    def close(self) -> None:
        self.closed = True
        self.state.unsubscribe(self._on_state)
        self._background.close()
        self.overlay.detach()
        self.window.view_menu.removeAction(self.dock.toggleViewAction())
        self.dock.setParent(None)
        self.dock.deleteLater()
