"""The "Measure" dialog: segmentation, image for intensities, another segmentation to measure
distances to, and an optional CSV copy. ``spec()`` is the measure job (the table is kept in the
project and shown in the Measurements dock)."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QWidget

from emstudio.core.measure.params import DEFAULT_MAX_DISTANCE_NM
from emstudio.core.project import Project
from emstudio.gui.dialogs.common import JobDialog
from emstudio.gui.dialogs.fields import (
    PathField,
    chosen,
    destination_problem,
    label_volumes,
    names_combo,
)
from emstudio.jobs.spec import JobSpec


class MeasureDialog(JobDialog):
    def __init__(
        self, project: Project, parent: QWidget | None = None, segmentation: str | None = None
    ) -> None:
        super().__init__(project, "Measure", parent)
        self._labels = {r.name: r for r in label_volumes(project)}
        names = list(self._labels)
        self.segmentation = names_combo(names, tip="The objects to measure")
        if segmentation in names:
            self.segmentation.setCurrentText(segmentation)
        self.image = names_combo(list(self._images), none=True, tip="Mean/std intensity from")
        self.other = names_combo(
            names, none=True, tip="Distance from each object to the nearest object of this one"
        )
        self.max_distance = QDoubleSpinBox()
        self.max_distance.setRange(1.0, 1e6)
        self.max_distance.setDecimals(0)
        self.max_distance.setSuffix(" nm")
        self.max_distance.setValue(DEFAULT_MAX_DISTANCE_NM)
        self.max_distance.setToolTip("Farther than this counts as 'none within reach'")
        self.csv = PathField("Also save the table as", "CSV (*.csv)")
        self.csv.edit.setPlaceholderText("optional: the table is kept in the project")
        form = QFormLayout()
        form.addRow("Segmentation", self.segmentation)
        form.addRow("Intensity of", self.image)
        form.addRow("Distance to", self.other)
        form.addRow("Search up to", self.max_distance)
        form.addRow("CSV copy", self.csv)
        self._add_footer("Measure", form)
        self.segmentation.currentTextChanged.connect(self._segmentation_changed)
        self.other.currentTextChanged.connect(self._show_problem)
        self.other.currentTextChanged.connect(self._offer_radius)
        self._offer_radius()
        self.image.currentTextChanged.connect(self._show_problem)
        self.csv.changed.connect(self._show_problem)
        self._segmentation_changed()

    def _offer_radius(self) -> None:
        """The search radius is for the distance to another segmentation, when one is chosen."""
        self.max_distance.setEnabled(chosen(self.other) is not None)

    def _segmentation_changed(self) -> None:
        """Default intensity image: the one the segmentation belongs to."""
        record = self._labels.get(chosen(self.segmentation) or "")
        image = next(
            (n for n, r in self._images.items() if record and r.id == record.image_id), None
        )
        if image is not None:
            self.image.setCurrentText(image)
        self._show_problem()

    def problem(self) -> str | None:
        name = chosen(self.segmentation)
        if name is None:
            return "The project has no segmentation yet: segment a prediction first."
        shape = self._labels[name].shape
        for what, combo, records in (
            ("image", self.image, self._images),
            ("other segmentation", self.other, self._labels),
        ):
            other = chosen(combo)
            if other is not None and tuple(records[other].shape) != tuple(shape):
                return f"The {what} {other!r} does not cover the same voxels as {name!r}."
        if chosen(self.other) == name:
            return "Measure distances to another segmentation, not to itself."
        path = self.csv.path()
        if path is not None:
            if path.suffix.lower() != ".csv":
                return "The CSV copy's name must end in .csv."
            return destination_problem(path, self.project, folder=False)
        return None

    def spec(self) -> JobSpec:
        path = self.csv.path()
        return JobSpec(
            kind="measure",
            project=str(self.project.path),
            inputs={
                "segmentation": chosen(self.segmentation),
                "image": chosen(self.image),
                "other": chosen(self.other),
            },
            params={
                "out": str(path.absolute()) if path else None,
                "max_distance_nm": self.max_distance.value(),
            },
        )
