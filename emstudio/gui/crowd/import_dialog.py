"""The "Import crowd tracings" dialog: export file, target image, subject mapping with a live
preview of the first subjects, consensus settings. ``spec()`` is the crowd_import job."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.crowd.consensus import METHODS, SIDES
from emstudio.core.crowd.mapping import AXES, SliceRef, SubjectMapping
from emstudio.core.crowd.preview import Preview, preview_mapping
from emstudio.core.errors import EmstudioError
from emstudio.core.project import VolumeRecord
from emstudio.core.project.catalog import free_name
from emstudio.gui.crowd.layout import side_by_side
from emstudio.gui.look import error_label, muted
from emstudio.jobs.spec import JobSpec

PREVIEW_COLUMNS = ("Subject", "Frame", "Slice", "Offset (x, y)", "Scale", "Metadata")
PREVIEW_DELAY_MS = 300
CSV_FILTER = "Zooniverse export (*.csv);;All files (*)"


class CrowdImportDialog(QDialog):
    """Asks what to import and how; the preview shows where the first subjects land."""

    def __init__(
        self,
        project: Path,
        images: Sequence[VolumeRecord],
        label_sets: Sequence[str] = (),
        parent: QWidget | None = None,
        taken: Collection[str] = (),
    ) -> None:
        """``taken``: the project's volume names (the new label set needs another)."""
        super().__init__(parent)
        self.setWindowTitle("Import crowd tracings (Zooniverse)")
        self.project = Path(project)
        self._images = {r.name: r for r in images}
        self._taken = set(taken)
        self._preview_problem = ""  # why the export cannot be read as it is set up
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.update_preview)
        self._build(label_sets)
        self._explain()
        self._connect()
        self._update_ok()

    # -- layout -----------------------------------------------------------------------------
    def _build(self, label_sets: Sequence[str]) -> None:
        self.export = QLineEdit(placeholderText="classification export (.csv)")
        self.subjects = QLineEdit(placeholderText="optional: subject export (.csv)")
        self.image = QComboBox()
        self.image.addItems(list(self._images))
        self.name = QLineEdit(free_name(self._taken.__contains__, "crowd-labels"))
        self.workflow = QLineEdit(placeholderText="all")
        self.version = QLineEdit(placeholderText="all (e.g. 13 or 13.19)")
        files = QFormLayout()
        files.addRow("Classifications", self._with_browse(self.export, "export"))
        files.addRow("Subjects", self._with_browse(self.subjects, "subjects"))
        files.addRow("Image", self.image)
        files.addRow("New label set", self.name)
        files.addRow("Workflow", self.workflow)
        files.addRow("Workflow version", self.version)

        self.slice_key = QLineEdit(placeholderText="automatic: #slice, or Image N file names")
        self.slice_offset = QSpinBox(minimum=-100000, maximum=100000)
        self.file_key = QLineEdit(SubjectMapping().file_key)
        self.file_pattern = QLineEdit(SubjectMapping().file_pattern)
        self.axis = QComboBox()
        self.axis.addItems(list(AXES))
        self.scale = QLineEdit(placeholderText="from the metadata, else 1; or a number, or fit")
        self.x0 = QLineEdit(placeholderText="from the metadata, else 0")
        self.y0 = QLineEdit(placeholderText="from the metadata, else 0")
        self.volume = QLineEdit(placeholderText="all subjects")
        mapping = QFormLayout()
        mapping.addRow("Slice key", self.slice_key)
        mapping.addRow("Slice offset", self.slice_offset)
        mapping.addRow("File name key", self.file_key)
        mapping.addRow("File name pattern", self.file_pattern)
        mapping.addRow("Slice axis", self.axis)
        mapping.addRow("Scale", self.scale)
        mapping.addRow("Offset x0 / y0", side_by_side(self.x0, self.y0))
        mapping.addRow("Only volume / ROI", self.volume)
        mapping_box = QGroupBox("Subject → slice mapping")
        mapping_box.setLayout(mapping)

        self.table = QTableWidget(0, len(PREVIEW_COLUMNS))
        self.table.setHorizontalHeaderLabels(PREVIEW_COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.preview_note = muted(QLabel("Choose an export to see where its subjects go."))
        self.preview_note.setWordWrap(True)
        preview_box = QGroupBox("Preview: the first subjects")
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.addWidget(self.table)
        preview_layout.addWidget(self.preview_note)

        self.method = QComboBox()
        self.method.addItems(list(METHODS))
        self.min_volunteers = QSpinBox(minimum=1, maximum=1000, value=5)
        self.outline = QDoubleSpinBox(minimum=0.0, maximum=10000.0, decimals=1, suffix=" nm")
        self.outline.setSpecialValueText("filled shape")
        self.outline_side = QComboBox()
        self.outline_side.addItems(list(SIDES))
        self.class_name = QLineEdit(placeholderText="nucleus (nuclear_envelope for an outline)")
        self.expert = QComboBox()
        self.expert.addItems(["(none)", *label_sets])
        self.expert_class = QLineEdit(placeholderText="a nucleus class, else the first")
        consensus = QFormLayout()
        consensus.addRow("Method", self.method)
        consensus.addRow("Minimum volunteers per slice", self.min_volunteers)
        consensus.addRow(
            "Output: outline band width", side_by_side(self.outline, self.outline_side)
        )
        consensus.addRow("Class name", self.class_name)
        consensus.addRow("Expert label set", self.expert)
        consensus.addRow("Expert class", self.expert_class)
        consensus_box = QGroupBox("Consensus")
        consensus_box.setLayout(consensus)

        self.message = error_label(QLabel())
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        left.addLayout(files)
        left.addWidget(mapping_box)
        left.addWidget(consensus_box)
        right = QVBoxLayout()
        right.addWidget(preview_box)
        right.addWidget(self.message)
        columns = QHBoxLayout()
        columns.addLayout(left, 2)
        columns.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(self.buttons)

    def _explain(self) -> None:
        """A tooltip on every control: what it is for, and what leaving it empty means."""
        tips = {
            self.export: "The classification export of the Zooniverse project (Lab → Data "
            "exports → Request new classification export), a .csv file.",
            self.subjects: "Optional: the subject export (.csv); its metadata is used for "
            "subjects whose classifications carry none.",
            self.image: "The project image the volunteers traced on; the tracings are "
            "rasterised at its resolution.",
            self.name: "Name of the new label set that receives the consensus labels.",
            self.workflow: "Only import classifications of this workflow id (empty: all).",
            self.version: "Only import this workflow version, e.g. 13 or 13.19 (empty: all).",
            self.slice_key: "Subject metadata key holding the slice index (empty: #slice, or "
            "the slice number in Image N file names).",
            self.slice_offset: "Added to every slice index read from the metadata (e.g. when "
            "the subjects were cut from a cropped stack).",
            self.file_key: "Subject metadata key (prefix) whose values are the file names.",
            self.file_pattern: "Regular expression that finds the slice in a file name "
            "(named group 'slice', optional 'volume').",
            self.axis: "The axis the subjects' slices are cut across (z for XY slices).",
            self.scale: "Image pixels per subject pixel: from the metadata when empty, a "
            "number, or 'fit' to stretch the subject over the whole slice.",
            self.x0: "Left edge of the subject in image pixels (empty: from the metadata, else 0).",
            self.y0: "Top edge of the subject in image pixels (empty: from the metadata, else 0).",
            self.volume: "Only import subjects of this volume or ROI (empty: all subjects).",
            self.method: "How the volunteers' filled tracings become one label: mean "
            "(threshold 0.5), majority vote, or STAPLE (weights volunteers by reliability).",
            self.min_volunteers: "Slices traced by fewer volunteers are skipped (and counted "
            "in the summary).",
            self.outline: "Width of an outline band around each consensus shape (e.g. the "
            "nuclear envelope); 0 keeps the filled shape.",
            self.outline_side: "Where the outline band lies: centred on the consensus "
            "border, or inside the shape (the border is its outer edge).",
            self.class_name: "Class of the new label set (empty: nucleus, or nuclear_envelope "
            "for an outline).",
            self.expert: "An expert label set to score each volunteer against (besides the "
            "consensus).",
            self.expert_class: "Class of the expert label set to compare with (empty: a "
            "nucleus class, else the first).",
        }
        for widget, tip in tips.items():
            widget.setToolTip(tip)

    def _with_browse(self, edit: QLineEdit, what: str) -> QWidget:
        button = QPushButton("Browse…", toolTip=f"Choose the {what} file.")
        button.clicked.connect(lambda: self._browse(edit, what))
        return side_by_side(edit, button)

    def _browse(self, edit: QLineEdit, what: str) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, f"Choose the {what} file", "", CSV_FILTER)
        if chosen:
            edit.setText(chosen)

    def _connect(self) -> None:
        edits = (self.export, self.subjects, self.workflow, self.version, self.slice_key,
                 self.file_key, self.file_pattern, self.scale, self.x0, self.y0,
                 self.volume)  # fmt: skip
        for edit in edits:
            edit.textChanged.connect(self._schedule_preview)
        self.slice_offset.valueChanged.connect(self._schedule_preview)
        self.axis.currentIndexChanged.connect(self._schedule_preview)
        self.image.currentIndexChanged.connect(self._schedule_preview)
        self.name.textChanged.connect(self._update_ok)

    # -- state ------------------------------------------------------------------------------
    def mapping(self) -> SubjectMapping:
        """The mapping the fields describe; raises MappingError (or ValueError) when invalid."""
        return SubjectMapping(
            slice_key=self.slice_key.text().strip(),
            slice_offset=self.slice_offset.value(),
            file_key=self.file_key.text(),
            file_pattern=self.file_pattern.text(),
            axis=self.axis.currentText(),
            scale=self.scale.text().strip(),
            x0=_optional_float(self.x0.text(), "x0"),
            y0=_optional_float(self.y0.text(), "y0"),
            volume=self.volume.text().strip(),
        )

    def spec(self) -> JobSpec:
        """The crowd_import job for the current settings (call once the dialog is accepted)."""
        outline = self.outline.value() or None
        return JobSpec(
            kind="crowd_import",
            project=str(self.project),
            inputs={
                "classifications": self.export.text().strip(),
                "subjects": self.subjects.text().strip() or None,
            },
            params={
                "image": self.image.currentText(),
                "name": self.name.text().strip(),
                "workflow": self.workflow.text().strip() or None,
                "version": self.version.text().strip() or None,
                "mapping": self.mapping().to_json(),
                "method": self.method.currentText(),
                "min_volunteers": self.min_volunteers.value(),
                "outline_nm": outline,
                "outline_side": self.outline_side.currentText(),
                "class_name": self.class_name.text().strip() or None,
                "expert": self.expert.currentText() if self.expert.currentIndex() else None,
                "expert_class": self.expert_class.text().strip() or None,
            },
        )

    def _schedule_preview(self) -> None:
        self._preview_timer.start()
        self._update_ok()

    def _update_ok(self) -> None:
        problem = self._preview_problem
        try:
            self.mapping()
        except (EmstudioError, ValueError) as exc:
            problem = str(exc)
        name = self.name.text().strip()
        if name in self._taken:
            problem = f"A volume named {name!r} already exists: choose another name."
        ready = bool(self.export.text().strip() and name and self._images)
        self.message.setText(problem)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(ready and not problem)

    def update_preview(self) -> None:
        """Read the first rows of the export again and show where their subjects go."""
        self.table.setRowCount(0)
        self._preview_problem = ""
        path, image = self.export.text().strip(), self._images.get(self.image.currentText())
        if path and image is not None:
            try:
                preview = preview_mapping(
                    path,
                    self.mapping(),
                    image.shape,
                    self.subjects.text().strip() or None,
                    workflow=self.workflow.text().strip() or None,
                    version=self.version.text().strip() or None,
                )
            except (EmstudioError, ValueError) as exc:
                self.preview_note.setText(str(exc))
                self._preview_problem = str(exc)
            else:
                self._show(preview)
        self._update_ok()

    def _show(self, preview: Preview) -> None:
        self.table.setRowCount(len(preview.rows))
        for r, row in enumerate(preview.rows):
            place = row.place
            if isinstance(place, SliceRef):
                where = f"{place.axis} = {place.index}" + (f" ({place.volume})" if place.volume
                                                           else "")  # fmt: skip
                cells = (where, f"{place.x0:g}, {place.y0:g}", f"{place.scale:.4g}")
            else:
                cells = (f"no slice: {place.reason}", "", "")
            for c, text in enumerate((row.subject_id, str(row.frame), *cells, row.metadata)):
                item = QTableWidgetItem(text)
                if not isinstance(place, SliceRef):
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        mapped = sum(isinstance(r.place, SliceRef) for r in preview.rows)
        workflows = ", ".join(f"{w or '?'} ({n} rows)" for w, n in preview.workflows.most_common())
        skipped = sum(preview.report.counts[k] for k in ("other_workflow", "other_version"))
        self.preview_note.setText(
            f"{mapped} of {len(preview.rows)} subject frames map to a slice. "
            f"Workflows in the first rows: {workflows or 'none'}"
            + (f" ({skipped} rows of other workflows or versions left out)." if skipped else ".")
        )
        if preview.rows and not mapped:
            self._preview_problem = (
                f"None of the first subjects maps to a slice of {self.image.currentText()!r} "
                "(the reasons are in the table): change the subject mapping."
            )


def _optional_float(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, not {text!r}.") from None
