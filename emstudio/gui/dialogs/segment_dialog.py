"""The "Segment instances" dialog: prediction set, class, preset, thresholds, flooding, minimum
size and output name. ``spec()`` is the segment job; the dialog never segments."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.catalog import free_name
from emstudio.core.seg.from_truth import BOUNDARY_CLASS
from emstudio.core.seg.params import DEFAULT_PRESET, FLOODS, PRESETS, InstanceParams
from emstudio.core.seg.run import DEFAULT_CLASS
from emstudio.gui.dialogs.common import JobDialog, name_problem
from emstudio.gui.dialogs.fields import fraction_spin
from emstudio.gui.look import muted
from emstudio.jobs.spec import JobSpec

CUSTOM = "custom"
COMPONENTS = "connected components (no boundary map)"


def prediction_sets(project: Project) -> dict[str, list[VolumeRecord]]:
    """Prediction set -> its volumes (the boundary map's included), in catalog order."""
    sets: dict[str, list[VolumeRecord]] = {}
    for record in project.catalog.volumes("prediction"):
        name = record.attrs.get("prediction_set")
        if name:
            sets.setdefault(name, []).append(record)
    return sets


class SegmentDialog(JobDialog):
    """Asks how to turn a prediction into objects; a preset fills the numbers."""

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, "Segment instances", parent)
        self._sets = prediction_sets(project)
        self._build()
        self._set_changed()
        self.preset.setCurrentText(DEFAULT_PRESET)
        self._show_problem()

    def _build(self) -> None:
        self.prediction = QComboBox()
        self.prediction.addItems(list(self._sets))
        self.prediction.setToolTip("The prediction (probability maps) to segment")
        self.object_class = QComboBox()
        self.object_class.setToolTip("The class whose objects are separated")
        self.preset = QComboBox()
        self.preset.addItem(CUSTOM)
        for preset in PRESETS.values():
            self.preset.addItem(preset.name)
            self.preset.setItemData(
                self.preset.count() - 1, preset.source, Qt.ItemDataRole.ToolTipRole
            )
        self.preset.setToolTip("Documented settings (hover an entry for its source)")
        self.area = fraction_spin(0.5, "Seeds: area probability above this")
        self.boundary = fraction_spin(0.5, "Seeds: boundary probability below this")
        self.foreground = fraction_spin(0.5, "Objects grow only where the area is above this")
        self.flood = QComboBox()
        self.flood.addItems(list(FLOODS))
        self.flood.setToolTip(
            "boundary: grow over the boundary map; distance: over the distance to the edge"
        )
        self.min_size = QSpinBox()
        self.min_size.setRange(0, 10**9)
        self.min_size.setSuffix(" voxels")
        self.min_size.setToolTip("Objects smaller than this are removed")
        self.min_volume = muted(QLabel())
        self.fill_holes = QCheckBox("fill holes inside objects")
        self.fill_holes.setToolTip("Objects become solid: enclosed gaps join the object")
        self.name = QLineEdit()
        self.name.setToolTip("Name of the new segmentation")
        form = QFormLayout()
        form.addRow("Prediction", self.prediction)
        form.addRow("Class", self.object_class)
        form.addRow("Preset", self.preset)
        form.addRow("Seeds: area probability above", self.area)
        form.addRow("Seeds: boundary probability below", self.boundary)
        form.addRow("Objects: area probability above", self.foreground)
        form.addRow("Seeds grow over", self.flood)
        form.addRow("Minimum size", self.min_size)
        form.addRow("", self.min_volume)
        form.addRow("", self.fill_holes)
        form.addRow("Output name", self.name)
        self._add_footer("Segment", form)
        self.prediction.currentTextChanged.connect(self._set_changed)
        self.preset.currentTextChanged.connect(self._preset_chosen)
        for spin in (self.area, self.boundary, self.foreground, self.min_size):
            spin.valueChanged.connect(self._edited)
        self.min_size.valueChanged.connect(self._show_min_volume)
        self.flood.currentTextChanged.connect(self._edited)
        self.fill_holes.toggled.connect(self._edited)
        self.name.textChanged.connect(self._show_problem)

    def _set_changed(self) -> None:
        volumes = self._sets.get(self.prediction.currentText(), [])
        classes = [r.attrs.get("class") or r.name for r in volumes]
        objects = [c for c in classes if c != BOUNDARY_CLASS]
        self.object_class.clear()
        self.object_class.addItems(objects)
        if DEFAULT_CLASS in objects:
            self.object_class.setCurrentText(DEFAULT_CLASS)
        watershed = BOUNDARY_CLASS in classes
        for widget in (self.area, self.boundary, self.flood):
            widget.setEnabled(watershed)
        self.boundary.setToolTip(
            "Seeds: boundary probability below this"
            if watershed
            else f"This prediction has no boundary map: {COMPONENTS}"
        )
        prediction = self.prediction.currentText()
        has = self.project.catalog.has_volume_name
        self.name.setText(free_name(has, f"{prediction}-instances") if prediction else "")
        self._show_min_volume()
        self._show_problem()

    def _voxel_size(self) -> VoxelSize | None:
        """The voxel size of the chosen prediction set (None without one)."""
        volumes = self._sets.get(self.prediction.currentText())
        return volumes[0].voxel_size if volumes else None

    def _show_min_volume(self) -> None:
        """The minimum size in physical units, as the measurements give volumes."""
        voxel = self._voxel_size()
        if voxel is None:
            self.min_volume.setText("")
        elif not voxel.known:
            self.min_volume.setText("(the voxel size is unknown: no volume in µm³)")
        else:
            um3 = self.min_size.value() * math.prod(voxel.zyx) / 1e9
            z, y, x = voxel.zyx
            self.min_volume.setText(f"= {um3:.3g} µm³ (voxels of {z:g} x {y:g} x {x:g} nm)")

    def _preset_chosen(self, name: str) -> None:
        if name not in PRESETS:
            return
        params = PRESETS[name].params
        widgets = (self.area, self.boundary, self.foreground, self.min_size, self.flood)
        for widget in widgets:
            widget.blockSignals(True)
        self.area.setValue(params.area_threshold)
        self.boundary.setValue(params.boundary_threshold)
        self.foreground.setValue(params.foreground_threshold)
        self.min_size.setValue(params.min_size)
        self.flood.setCurrentText(params.flood)
        for widget in widgets:
            widget.blockSignals(False)
        self._show_min_volume()
        self._show_problem()

    def _edited(self) -> None:
        """A number changed by hand: the settings are no longer the preset's."""
        preset = PRESETS.get(self.preset.currentText())
        if preset is not None and self.params() != preset.params:
            self.preset.blockSignals(True)
            self.preset.setCurrentText(CUSTOM)
            self.preset.blockSignals(False)
        self._show_problem()

    def params(self) -> InstanceParams:
        return InstanceParams(
            area_threshold=round(self.area.value(), 4),
            boundary_threshold=round(self.boundary.value(), 4),
            foreground_threshold=round(self.foreground.value(), 4),
            min_size=self.min_size.value(),
            flood=self.flood.currentText(),
            fill_holes=self.fill_holes.isChecked(),
        )

    def problem(self) -> str | None:
        if not self._sets:
            return "The project has no prediction yet: run Predict first."
        if not self.object_class.count():
            return "This prediction has no object class to segment."
        name = self.name.text().strip()
        if not name:
            return "Give the segmentation a name."
        if self.project.catalog.has_volume_name(name):
            return f"Volume {name!r} already exists: choose another name."
        return name_problem(name, "volume")

    def spec(self) -> JobSpec:
        preset = self.preset.currentText()
        return JobSpec(
            kind="segment",
            project=str(self.project.path),
            inputs={
                "prediction": self.prediction.currentText(),
                "class": self.object_class.currentText(),
            },
            params={
                "out": self.name.text().strip(),
                "preset": preset if preset in PRESETS else None,
                "mode": "auto",
                **self.params().to_json(),
            },
        )
