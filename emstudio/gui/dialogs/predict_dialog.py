"""The "Predict" dialog: image, model, output name, axes, combine rule, test-time augmentation
and device, with a time estimate and the model's card one click away. ``spec()`` is the predict
job; the dialog never runs the model."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from emstudio.core.ml import presets
from emstudio.core.ml.card import output_names, project_summary
from emstudio.core.ml.geometry import AXES
from emstudio.core.project import Project
from emstudio.core.project.catalog import free_name
from emstudio.gui.dialogs.common import (
    JobDialog,
    choose,
    cpu_gpu_text,
    device_combo,
    name_problem,
)
from emstudio.gui.dialogs.model_card import ModelCardDialog
from emstudio.gui.look import muted
from emstudio.jobs.spec import JobSpec

COMBINE_HELP = {
    "mean": "mean: the average of the axes (the usual choice)",
    "max": "max: the strongest axis (keeps thin structures seen along one axis only)",
    "vote": "vote: what most axes say (2 of 3)",
}


class PredictDialog(JobDialog):
    """Asks which model to run on which image, and how."""

    def __init__(
        self, project: Project, parent: QWidget | None = None, image: str | None = None
    ) -> None:
        """``image``: the one on show, chosen first; the newest model is chosen."""
        super().__init__(project, "Predict", parent)
        self._models = {m.name: m for m in project.catalog.models()}
        self._build()
        choose(self.image, image)
        newest = max(self._models.values(), key=lambda m: m.created_at, default=None)
        choose(self.model, newest.name if newest else None)
        self._connect()
        self._model_changed()

    def _build(self) -> None:
        self.image = QComboBox()
        self.image.addItems(list(self._images))
        self.model = QComboBox()
        self.model.addItems(list(self._models))
        self.card_button = QPushButton("Model card…")
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.card_button)
        self.outputs = muted(QLabel())
        self.name = QLineEdit()
        self.axis_boxes = {a: QCheckBox(a.upper(), checked=True) for a in AXES}
        axes_row = QHBoxLayout()
        for box in self.axis_boxes.values():
            axes_row.addWidget(box)
        axes_row.addStretch(1)
        self.combine = QComboBox()
        for rule in presets.COMBINE_RULES:
            self.combine.addItem(rule)
            self.combine.setItemData(
                self.combine.count() - 1, COMBINE_HELP[rule], Qt.ItemDataRole.ToolTipRole
            )
        self.tta = QCheckBox("also predict flipped copies (about 4x slower, a little better)")
        self.keep_axes = QCheckBox("also keep each view's map")
        self.image.setToolTip("The image to predict on (the whole volume)")
        self.model.setToolTip("The trained model to apply")
        self.card_button.setToolTip("What the model learned, from which data, and how well")
        self.name.setToolTip("Name of the new prediction (one probability map per class)")
        for axis, box in self.axis_boxes.items():
            box.setToolTip(f"Predict along {axis.upper()} planes (more views: smoother, slower)")
        self.combine.setToolTip("How the maps of the views are merged into one")
        self.tta.setToolTip("Test-time augmentation: predict flipped copies and average them")
        self.keep_axes.setToolTip("Also save the map of each view, to compare them")
        self.device = device_combo()
        form = QFormLayout()
        form.addRow("Image", self.image)
        form.addRow("Model", model_row)
        form.addRow("", self.outputs)
        form.addRow("Output name", self.name)
        form.addRow("Views", axes_row)
        form.addRow("Combine views", self.combine)
        form.addRow("", self.tta)
        form.addRow("", self.keep_axes)
        form.addRow("Device", self.device)
        self._add_footer("Predict", form)

    def _connect(self) -> None:
        self.model.currentTextChanged.connect(self._model_changed)
        self.card_button.clicked.connect(self.show_card)
        for signal in (
            self.image.currentTextChanged,
            self.name.textChanged,
            self.tta.toggled,
            self.keep_axes.toggled,
        ):
            signal.connect(self._update)
        for box in self.axis_boxes.values():
            box.toggled.connect(self._update)

    def _model_changed(self) -> None:
        record = self._models.get(self.model.currentText())
        self.card_button.setEnabled(record is not None)
        if record is not None:
            self.outputs.setText("Outputs: " + ", ".join(output_names(record.card)))
            trained = presets.model_axes(record.card)
            for axis, box in self.axis_boxes.items():
                box.setChecked(axis in trained)
            self.name.setText(free_name(self._set_taken, f"{record.name}-pred"))
        self._update()

    def _set_taken(self, name: str) -> bool:
        return any(self.project.catalog.has_volume_name(v) for v in self.volume_names(name))

    def chosen_axes(self) -> list[str]:
        return [a for a, box in self.axis_boxes.items() if box.isChecked()]

    def volume_names(self, name: str | None = None) -> list[str]:
        """The volumes the prediction will create."""
        record = self._models.get(self.model.currentText())
        if record is None:
            return []
        name = (self.name.text() if name is None else name).strip()
        outputs = output_names(record.card)
        names = [f"{name}-{o}" for o in outputs]
        if self.keep_axes.isChecked() and len(self.chosen_axes()) > 1:
            names += [f"{name}-{o}-{a}" for o in outputs for a in self.chosen_axes()]
        return names

    def problem(self) -> str | None:
        if not self._images:
            return "The project has no image: import one first."
        if not self._models:
            return "The project has no model yet: train or import one first."
        if not self.chosen_axes():
            return "Choose at least one axis."
        if not self.name.text().strip():
            return "Give the prediction a name."
        unusable = name_problem(self.name.text().strip(), "volume")
        if unusable:
            return unusable
        taken = [v for v in self.volume_names() if self.project.catalog.has_volume_name(v)]
        if taken:
            return f"Volume {taken[0]!r} already exists: choose another output name."
        return None

    def _update(self) -> None:
        self.combine.setEnabled(len(self.chosen_axes()) > 1)  # one view: nothing to combine
        image = self._images.get(self.image.currentText())
        record = self._models.get(self.model.currentText())
        if image is not None and record is not None:
            size = record.card.get("size", presets.DEFAULT_SIZE)
            size = size if size in presets.SIZES else presets.DEFAULT_SIZE
            args = (
                size,
                tuple(image.shape),
                image.voxel_size.zyx,
                self.chosen_axes(),
                self.tta.isChecked(),
            )
            pixel = record.card.get("input", {}).get("pixel_size_nm")
            cpu = presets.estimate_predict_seconds(*args, pixel_nm=pixel)
            gpu = presets.estimate_predict_seconds(*args, gpu=True, pixel_nm=pixel)
            self.estimate.setText(f"Estimated time: {cpu_gpu_text(cpu, gpu)}")
        self._show_problem()

    def show_card(self) -> None:
        record = self._models.get(self.model.currentText())
        if record is not None:
            ids = {m.id for m in self._models.values()}
            rows = project_summary(record.card, record.provenance, ids)
            dialog = ModelCardDialog(record.card, self, rows)
            dialog.exec()
            dialog.deleteLater()

    def spec(self) -> JobSpec:
        return JobSpec(
            kind="predict",
            project=str(self.project.path),
            inputs={"image": self.image.currentText(), "model": self.model.currentText()},
            params={
                "out": self.name.text().strip(),
                "axes": self.chosen_axes(),
                "combine": self.combine.currentText(),
                "tta": self.tta.isChecked(),
                "keep_axes": self.keep_axes.isChecked(),
            },
            device=self.device.currentText(),
        )
