"""The reliability panel of a crowd label set: per-volunteer scores (table and histogram),
per-slice agreement, which volunteers' tracings to show, and "exclude volunteers below a score,
then re-aggregate", which hands back a crowd_import job spec.

Signals for the main window: ``reaggregate_requested(JobSpec)``,
``visible_volunteers_changed(list)`` (ids whose tracings the viewers should draw; excluded
volunteers start hidden), ``volunteer_chosen(str)`` (the volunteer of the current row) and
``slice_selected(str, int)`` (axis, index of a clicked slice row).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.crowd.aggregate import VolunteerScore
from emstudio.core.crowd.consensus import METHODS
from emstudio.core.crowd.scores import exclusion_reason, ranked
from emstudio.core.crowd.sidecar import CrowdTracings, label_set_tracings
from emstudio.core.errors import EmstudioError
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.volumes import check_new_name
from emstudio.gui.crowd.layout import read_only_table, side_by_side
from emstudio.gui.look import error_label, muted
from emstudio.jobs.spec import JobSpec

VOLUNTEER_COLUMNS = ("Show", "Volunteer", "Slices", "Agreement", "Expert", "Sens.", "Spec.")
SLICE_COLUMNS = ("Slice", "Volunteers", "Agreement", "Status")
BINS = np.linspace(0.0, 1.0, 21)
KEPT, BELOW = "#4477aa", "#cc6677"
DEFAULT_THRESHOLD = 0.5
HISTOGRAM_HEIGHT, VOLUNTEERS_HEIGHT, SLICES_HEIGHT = 130, 180, 120  # px, at least
ID_WIDTH = 170  # px at most for the volunteer column (long anonymous ids; full id in the tip)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


class ReliabilityHistogram(pg.PlotWidget):
    """Reliabilities in bins of 0.05; bars below the threshold line are drawn in red."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setLabel("bottom", "agreement with the consensus (mean Dice)")
        self.setLabel("left", "volunteers")
        self.setMouseEnabled(x=False, y=False)
        self.setXRange(0, 1, padding=0.02)
        self.hideButtons()
        self.bars: list[pg.BarGraphItem] = []
        self.line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#202020", width=2))
        self.line.setBounds((0.0, 1.0))
        self.addItem(self.line)
        self._values = np.zeros(0)

    def set_values(self, values: np.ndarray) -> None:
        self._values = np.asarray(values, float)
        self.redraw()

    def redraw(self) -> None:
        for bar in self.bars:
            self.removeItem(bar)
        counts, edges = np.histogram(self._values, BINS)
        centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        below = centres < self.line.value()
        self.bars = [
            pg.BarGraphItem(x=centres[m], height=counts[m], width=0.9 * width, brush=colour)
            for m, colour in ((below & (counts > 0), BELOW), (~below & (counts > 0), KEPT))
            if m.any()
        ]
        for bar in self.bars:
            self.addItem(bar)
        self.setYRange(0, max(1, int(counts.max(initial=0))), padding=0.05)


class ReliabilityPanel(QWidget):
    """Shows one crowd label set's scores; ``load`` or ``set_data`` fills it."""

    reaggregate_requested = Signal(object)  # JobSpec
    visible_volunteers_changed = Signal(list)
    volunteer_chosen = Signal(str)
    slice_selected = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Path | None = None
        self.record: VolumeRecord | None = None
        self.image_name = ""
        self.data: CrowdTracings | None = None
        self._ids: list[str] = []
        self._build()

    def _build(self) -> None:
        self.title = QLabel("No crowd label set")
        self.summary = muted(QLabel())
        self.summary.setWordWrap(True)
        self.histogram = ReliabilityHistogram()
        self.histogram.setMinimumHeight(HISTOGRAM_HEIGHT)
        self.threshold = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.below = QLabel()
        self.volunteers = read_only_table(VOLUNTEER_COLUMNS)
        self.slices = read_only_table(SLICE_COLUMNS)
        self.method = QComboBox()
        self.method.addItems(list(METHODS))
        self.new_name = QLineEdit()
        self.new_name.textChanged.connect(self._name_changed)
        self.name_problem = error_label(QLabel())
        self.name_problem.setWordWrap(True)
        self.reaggregate = QPushButton("Re-aggregate without them")
        self.reaggregate.setToolTip("Make a new label set from the stored tracings, leaving out "
                                    "the volunteers below the score")  # fmt: skip

        filters = QFormLayout()
        filters.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow docks
        filters.addRow("Exclude volunteers below", side_by_side(self.threshold, self.below))
        filters.addRow("Method", self.method)
        filters.addRow("New label set", self.new_name)
        filters.addRow(self.name_problem)
        filters.addRow(self.reaggregate)
        self.volunteers.setMinimumHeight(VOLUNTEERS_HEIGHT)
        self.slices.setMinimumHeight(SLICES_HEIGHT)
        layout = QVBoxLayout(self)  # no splitter: a dock too short for it all scrolls instead
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.histogram, 1)
        layout.addLayout(filters)
        layout.addWidget(self.volunteers, 2)
        layout.addWidget(self.slices, 1)

        self.threshold.valueChanged.connect(self._threshold_changed)
        self.histogram.line.sigPositionChanged.connect(
            lambda line: self.threshold.setValue(round(float(line.value()), 2))
        )
        self.volunteers.itemChanged.connect(self._visibility_changed)
        self.volunteers.currentCellChanged.connect(self._volunteer_clicked)
        self.slices.cellClicked.connect(self._slice_clicked)
        self.reaggregate.clicked.connect(self._request_reaggregation)
        self._set_enabled(False)

    # -- data -------------------------------------------------------------------------------
    def load(self, project: Path, name: str) -> None:
        """Read label set ``name`` and its tracings sidecar (small files) and show them."""
        with Project.open(project, mode="read") as opened:
            record, data = label_set_tracings(opened, name)
            images = [v.name for v in opened.catalog.volumes("image") if v.id == record.image_id]
        self.set_data(project, record, data, images[0] if images else "")

    def set_data(
        self, project: Path, record: VolumeRecord, data: CrowdTracings, image_name: str
    ) -> None:
        self.project, self.record, self.data = Path(project), record, data
        self.image_name = image_name
        crowd = record.attrs.get("crowd", {})
        scores = ranked(data)
        self._ids = [s.id for s in scores]
        self.title.setText(f"<b>{record.name}</b>: crowd consensus ({crowd.get('method', '?')})")
        agreement = crowd.get("mean_agreement")
        self.summary.setText(
            f"{len(scores)} volunteers; {crowd.get('slices_labelled', 0)} slices labelled, "
            f"{crowd.get('slices_skipped', 0)} skipped (fewer than "
            f"{crowd.get('min_volunteers', '?')} volunteers); mean agreement between "
            f"volunteers {_number(agreement) or 'n/a'}; "
            f"{len(crowd.get('excluded', []))} excluded."
        )
        self.method.setCurrentText(crowd.get("method", "mean"))
        self.new_name.setText(f"{record.name}-filtered")
        self.new_name.setCursorPosition(0)  # a narrow field shows the name's start
        self._fill_volunteers(scores, crowd)
        self._fill_slices()
        values = [s.reliability for s in scores if s.reliability is not None]
        self.histogram.set_values(np.array(values))
        self._set_enabled(True)
        self._threshold_changed(self.threshold.value())

    def _fill_volunteers(self, scores: list[VolunteerScore], crowd: dict) -> None:
        table = self.volunteers
        table.blockSignals(True)
        table.setCurrentCell(-1, -1)  # no volunteer chosen in a new set
        table.setRowCount(len(scores))
        for r, s in enumerate(scores):
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            show.setCheckState(Qt.CheckState.Unchecked if s.excluded else Qt.CheckState.Checked)
            cells = (s.id + (" (excluded)" if s.excluded else ""), str(s.slices),
                     _number(s.reliability), _number(s.expert), _number(s.sensitivity),
                     _number(s.specificity))  # fmt: skip
            table.setItem(r, 0, show)
            for c, text in enumerate(cells, start=1):
                table.setItem(r, c, QTableWidgetItem(text))
            reason = exclusion_reason(s, crowd.get("min_reliability"))
            table.item(r, 1).setToolTip(f"{s.id}: excluded, {reason}" if reason else s.id)
        table.resizeColumnsToContents()
        table.setColumnWidth(1, min(table.columnWidth(1), ID_WIDTH))
        table.blockSignals(False)

    def _fill_slices(self) -> None:
        assert self.data is not None
        items = sorted(self.data.slices.items())
        self.slices.setRowCount(len(items))
        for r, ((axis, index), info) in enumerate(items):
            status = "labelled" if info.labelled else "skipped: too few volunteers"
            cells = (f"{axis} = {index}", str(info.volunteers), _number(info.agreement), status)
            for c, text in enumerate(cells):
                self.slices.setItem(r, c, QTableWidgetItem(text))
        self.slices.resizeColumnsToContents()

    # -- filter -----------------------------------------------------------------------------
    def below_threshold(self) -> list[str]:
        """Volunteers whose agreement with the consensus is under the threshold."""
        if self.data is None:
            return []
        limit = self.threshold.value()
        return sorted(v.id for v in self.data.scores.values()
                      if v.reliability is not None and v.reliability < limit)  # fmt: skip

    def _threshold_changed(self, value: float) -> None:
        if abs(self.histogram.line.value() - value) > 1e-9:
            self.histogram.line.setValue(value)
        self.histogram.redraw()
        below = set(self.below_threshold())
        self.below.setText(f"{len(below)} of {len(self._ids)} volunteers")
        for r, vid in enumerate(self._ids):
            for c in range(1, self.volunteers.columnCount()):
                item = self.volunteers.item(r, c)
                if item is not None:
                    item.setForeground(Qt.GlobalColor.darkRed if vid in below
                                       else self.palette().text().color())  # fmt: skip
        self.reaggregate.setEnabled(self.data is not None and bool(self.new_name.text().strip()))

    def reaggregation_spec(self) -> JobSpec:
        """A crowd_import job over the stored tracings, without the volunteers below the score
        (and those excluded before)."""
        assert self.record is not None and self.project is not None
        crowd = self.record.attrs.get("crowd", {})
        excluded = sorted(set(crowd.get("excluded", [])) | set(self.below_threshold()))
        return JobSpec(
            kind="crowd_import",
            project=str(self.project),
            inputs={"tracings_from": self.record.name},
            params={
                "image": self.image_name,
                "name": self.new_name.text().strip(),
                "method": self.method.currentText(),
                "min_volunteers": crowd.get("min_volunteers", 5),
                "outline_nm": crowd.get("outline_nm"),
                "outline_side": crowd.get("outline_side", "centre"),
                "class_name": self.record.attrs.get("classes", {}).get("1"),
                "expert": crowd.get("expert"),
                "expert_class": crowd.get("expert_class"),
                "exclude": excluded,
            },
        )

    def _request_reaggregation(self) -> None:
        assert self.project is not None
        try:  # a taken or unusable name is said here, not by a failed job
            with Project.open(self.project, mode="read") as opened:
                check_new_name(opened, self.new_name.text(), "name")
        except EmstudioError as exc:
            self.name_problem.setText(str(exc))
            return
        self.reaggregate_requested.emit(self.reaggregation_spec())

    def _name_changed(self, text: str) -> None:
        self.name_problem.clear()
        self.reaggregate.setEnabled(self.data is not None and bool(text.strip()))

    # -- tracings shown, slices ---------------------------------------------------------------
    def visible_volunteers(self) -> list[str]:
        return [vid for r, vid in enumerate(self._ids)
                if self.volunteers.item(r, 0).checkState() == Qt.CheckState.Checked]  # fmt: skip

    def _visibility_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self.visible_volunteers_changed.emit(self.visible_volunteers())

    def chosen_volunteer(self) -> str | None:
        row = self.volunteers.currentRow()
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def choose_volunteer(self, volunteer: str) -> None:
        """Make ``volunteer``'s row the current one (``volunteer_chosen`` follows)."""
        self.volunteers.setCurrentCell(self._ids.index(volunteer), 1)

    def _volunteer_clicked(self, row: int, *_: int) -> None:
        if 0 <= row < len(self._ids):
            self.volunteer_chosen.emit(self._ids[row])

    def _slice_clicked(self, row: int, _column: int) -> None:
        assert self.data is not None
        axis, index = sorted(self.data.slices)[row]
        self.slice_selected.emit(axis, index)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.threshold, self.method, self.new_name, self.reaggregate):
            widget.setEnabled(enabled)
