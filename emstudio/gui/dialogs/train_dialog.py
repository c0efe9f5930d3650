"""The "Train a model" dialog: image, label set, classes, model size, epochs, starting model,
with an Advanced section and a time estimate. ``spec()`` is the train job; the dialog never
trains (and never imports torch: sizes and speeds come from ``core.ml.presets``)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from emstudio.core.ml import presets
from emstudio.core.ml.errors import LabelsError
from emstudio.core.ml.geometry import (
    PATCH_MULTIPLE,
    fitting_patch,
    parse_axes,
    xy_model_plane,
)
from emstudio.core.ml.labels import classes_of, parse_slices
from emstudio.core.project import Project
from emstudio.core.project.catalog import free_name
from emstudio.gui.dialogs.common import (
    JobDialog,
    choose,
    cpu_gpu_text,
    device_combo,
    name_problem,
)
from emstudio.gui.look import muted
from emstudio.jobs.spec import JobSpec

NO_INIT = "(none: train from scratch)"
D = presets.TRAIN_DEFAULTS
LONG_ON_CPU_S = 3600  # beyond this on CPU, the estimate suggests a faster first try
QUICK_SIZE, QUICK_EPOCHS = "small", 10  # that first try


class TrainDialog(JobDialog):
    """Asks what to train on and how; the defaults work for a first training."""

    def __init__(
        self,
        project: Project,
        parent: QWidget | None = None,
        image: str | None = None,
        labels: str | None = None,
    ) -> None:
        """``image`` and ``labels``: those on show (being painted), chosen first."""
        super().__init__(project, "Train a model", parent)
        self._label_sets = {r.name: r for r in project.catalog.volumes("labels")}
        self._models = {m.name: m for m in project.catalog.models()}
        self._wanted_patch = int(D["patch"])
        self._shown_labels = labels
        self._build()
        choose(self.image, image)
        self._connect()
        self._image_changed()
        self._fit_patch()
        self._update()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.image = QComboBox()
        self.image.addItems(list(self._images))
        self.labels = QComboBox()
        self.classes = QListWidget()
        self.classes.setMaximumHeight(110)
        self.name = QLineEdit(free_name(self.project.catalog.has_model_name, "model"))
        self.size = QComboBox()
        for preset in presets.SIZES.values():
            self.size.addItem(preset.name, preset.name)
            self.size.setItemData(
                self.size.count() - 1,
                f"{preset.summary}; {preset.speed_text()}",
                Qt.ItemDataRole.ToolTipRole,
            )
        self.size.setCurrentText(str(D["size"]))
        self.size_note = muted(QLabel())
        self.size_note.setWordWrap(True)
        self.epochs = _spin(1, 1000, int(D["epochs"]))
        self.init = QComboBox()
        self.init.addItem(NO_INIT)
        self.init.addItems(list(self._models))
        form = QFormLayout()
        form.addRow("Image", self.image)
        form.addRow("Label set", self.labels)
        form.addRow("Classes", self.classes)
        form.addRow("New model name", self.name)
        form.addRow("Model size", self.size)
        form.addRow("", self.size_note)
        form.addRow("Epochs", self.epochs)
        form.addRow("Start from model", self.init)
        self.image.setToolTip("The EM image the model learns from")
        self.labels.setToolTip("The label set with your painted slices")
        self.classes.setToolTip("The classes the model learns to find")
        self.name.setToolTip("Name of the new model in this project")
        self.size.setToolTip("Small trains and predicts fastest; large learns hard data best")
        self.epochs.setToolTip("Passes over the painted slices (stops sooner once no better)")
        self.init.setToolTip("Start from a model trained before: faster, needs fewer labels")

        self.advanced_toggle = QToolButton(text="Advanced", checkable=True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setToolTip("Expert settings (the defaults suit most data)")
        self.advanced = self._build_advanced()
        self.advanced.setVisible(False)

        self.quick = QPushButton(f"Quick first try: {QUICK_SIZE} model, {QUICK_EPOCHS} epochs")
        self.quick.setToolTip("See a first result soon; train longer once it looks right")
        self.quick.clicked.connect(self._quick_settings)
        self._add_footer("Train", form, self.advanced_toggle, self.advanced)
        self.layout().insertWidget(self.layout().indexOf(self.estimate) + 1, self.quick)

    def _build_advanced(self) -> QGroupBox:
        box = QGroupBox()  # under the Advanced button, which names it
        self.iterations = _spin(1, 100000, int(D["iterations"]))
        self.batch = _spin(1, 512, int(D["batch"]))
        self.patch = _spin(PATCH_MULTIPLE, 2048, int(D["patch"]), step=PATCH_MULTIPLE)
        self.lr = QDoubleSpinBox(decimals=5, minimum=1e-5, maximum=1.0, singleStep=1e-4)
        self.lr.setValue(float(D["lr"]))
        self.input_slices = _spin(1, 15, int(D["slices"]), step=2)
        self.loss = QComboBox()
        self.loss.addItems(["bce_dice", "ce_dice"])
        self.normalisation = QComboBox()
        self.normalisation.addItems(["volume", "patch"])
        self.axes = QLineEdit(str(D["axes"]))
        self.axes.setToolTip("auto: every view the labels allow; or e.g. xy or xy,xz,yz")
        self.slices = QLineEdit(placeholderText="all labelled slices (e.g. z:0,8,16)")
        self.val_fraction = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05)
        self.val_fraction.setValue(float(D["val_fraction"]))
        self.patience = _spin(0, 1000, int(D["patience"]))
        self.patience.setSuffix(" epochs")
        self.seed = _spin(0, 2**31 - 1, int(D["seed"]))
        self.freeze = _spin(0, 1000, int(D["freeze_encoder_epochs"]))
        self.freeze.setEnabled(False)  # until a starting model is chosen
        self.boundary = QComboBox()
        self.augment = QCheckBox("augment (flips, intensity, blur, noise)", checked=True)
        self.elastic = QCheckBox("elastic deformation", checked=bool(D["elastic"]))
        self.device = device_combo()
        self.patience.setSpecialValueText("never")
        tips = (
            (self.iterations, "Batches of patches in one epoch (one pass of training)"),
            (self.batch, "Patches learned from together at each step; fewer need less memory"),
            (self.patch, "Side of the square pieces of slices the model learns from"),
            (self.lr, "How big each learning step is; lower it if training goes unstable"),
            (self.input_slices, "The slice and its neighbours the model sees (odd: 1, 3, 5...)"),
            (
                self.loss,
                "bce_dice: each class on its own, so classes may overlap; ce_dice: one class "
                "per pixel",
            ),
            (
                self.normalisation,
                "volume: brightness judged against the whole image (a nucleus stays darker "
                "than cytoplasm); patch: each piece on its own (for uneven brightness)",
            ),
            (self.slices, "Train on these slices only, e.g. z:0,8,16 or z:0-99;y:200"),
            (
                self.val_fraction,
                "Share of the labelled slices kept aside to score each epoch (0: score on the "
                "training slices)",
            ),
            (self.patience, "Stop after this many epochs without a better score"),
            (self.seed, "The same seed and settings train the same model again"),
            (
                self.freeze,
                "Keep the starting model's first half (its features) fixed for this many "
                "epochs, so few labels do not spoil it",
            ),
            (
                self.boundary,
                "Also learn the borders of this class's objects, to split touching ones "
                "(Segment instances uses them)",
            ),
            (self.augment, "Shows the model varied copies of the patches, so it generalises"),
            (self.elastic, "Also bends the patches slightly (slower; for few labels)"),
        )
        for widget, tip in tips:
            widget.setToolTip(tip)
        # two columns: the model's learning, and the data it learns from (fits a laptop screen)
        learning = (
            ("Batches per epoch", self.iterations),
            ("Batch size", self.batch),
            ("Patch size (px)", self.patch),
            ("Learning rate", self.lr),
            ("Input slices", self.input_slices),
            ("Loss", self.loss),
            ("Random seed", self.seed),
            ("Device", self.device),
        )
        data = (
            ("Normalisation", self.normalisation),
            ("Views", self.axes),
            ("Only slices", self.slices),
            ("Validation share", self.val_fraction),
            ("Early stop after", self.patience),
            ("Freeze encoder (epochs)", self.freeze),
            ("Boundary output", self.boundary),
            ("", self.augment),
            ("", self.elastic),
        )
        columns = QHBoxLayout(box)
        for rows in (learning, data):
            form = QFormLayout()
            for label, widget in rows:
                form.addRow(label, widget)
            columns.addLayout(form)
        return box

    def _connect(self) -> None:
        self.image.currentTextChanged.connect(self._image_changed)
        self.labels.currentTextChanged.connect(self._labels_changed)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        self.init.currentTextChanged.connect(self._init_changed)
        self.init.currentTextChanged.connect(self._fit_patch)
        self.patch.valueChanged.connect(self._patch_asked)
        self.image.currentTextChanged.connect(self._fit_patch)
        for signal in (
            self.name.textChanged,
            self.size.currentTextChanged,
            self.epochs.valueChanged,
            self.classes.itemChanged,
            self.iterations.valueChanged,
            self.batch.valueChanged,
            self.patch.valueChanged,
            self.init.currentTextChanged,
            self.axes.textChanged,
            self.input_slices.valueChanged,
            self.slices.textChanged,
            self.boundary.currentTextChanged,
        ):
            signal.connect(self._update)

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self.adjustSize()

    # -- reactions ------------------------------------------------------------------------------
    def _init_changed(self) -> None:
        """A starting model fixes the architecture: its size and input slices are shown and
        locked (a network of another shape could not take its weights)."""
        record = self._models.get(self.init.currentText())
        if record is not None:
            size = record.card.get("size")
            if size in presets.SIZES:
                self.size.setCurrentText(size)
            self.input_slices.setValue(int(record.card["input"]["slices"]))
        for widget in (self.size, self.input_slices):
            widget.setEnabled(record is None)
        self.freeze.setEnabled(record is not None)  # only a starting model's encoder is kept
        if record is None:
            self.freeze.setValue(0)
        self.size.setToolTip(
            "Small trains and predicts fastest; large learns hard data best"
            if record is None
            else "Fixed by the starting model (its weights fit only its own size)"
        )

    def _xy_plane(self) -> tuple[int, int] | None:
        """The image's XY planes in model pixels: at the starting model's pixel size, else at
        the image's own (as the training will see them); None without an image."""
        image = self._images.get(self.image.currentText())
        if image is None:
            return None
        voxel = image.voxel_size.zyx
        model = self._models.get(self.init.currentText())
        pixel = model.card["input"].get("pixel_size_nm") if model else None
        return xy_model_plane(image.shape, voxel, float(pixel or min(voxel[1:])))

    def _fit_patch(self) -> None:
        """No patch larger than the image's planes can be asked for (a smaller one is kept)."""
        plane = self._xy_plane()
        if plane is None:
            return
        wanted = self._wanted_patch
        self.patch.setMaximum(fitting_patch(plane))
        self.patch.setValue(min(wanted, self.patch.maximum()))
        self._wanted_patch = wanted
        self.patch.setToolTip(
            f"Side of the square pieces cut from the painted slices; at most "
            f"{self.patch.maximum()} px here (the image's slices are {plane[0]} x {plane[1]} px)"
        )

    def _patch_asked(self, value: int) -> None:
        """The patch the user asked for: given back where a larger image holds it again."""
        self._wanted_patch = value

    def _image_changed(self) -> None:
        image = self._images.get(self.image.currentText())
        fitting = [r for r in self._label_sets.values() if image is None or r.shape == image.shape]
        fitting.sort(key=lambda r: r.image_id != (image.id if image else None))
        self.labels.blockSignals(True)
        self.labels.clear()
        self.labels.addItems([r.name for r in fitting])
        choose(self.labels, self._shown_labels)
        self.labels.blockSignals(False)
        self._labels_changed()

    def _labels_changed(self) -> None:
        record = self._label_sets.get(self.labels.currentText())
        names = list(classes_of(record.attrs).values()) if record else []
        self.classes.blockSignals(True)
        self.classes.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.classes.addItem(item)
        self.classes.blockSignals(False)
        self.boundary.clear()
        self.boundary.addItem("(none)")
        self.boundary.addItems(names)
        self._update()

    def chosen_classes(self) -> list[str]:
        return [
            self.classes.item(i).text()
            for i in range(self.classes.count())
            if self.classes.item(i).checkState() == Qt.CheckState.Checked
        ]

    def problem(self) -> str | None:
        """Why the dialog cannot start a training now (None when it can)."""
        if not self._images:
            return "The project has no image: import one first."
        if not self.labels.currentText():
            return "No label set fits this image: paint or import labels first."
        if not self.chosen_classes():
            return "Choose at least one class to learn."
        name = self.name.text().strip()
        if not name:
            return "Give the new model a name."
        if self.project.catalog.has_model_name(name):
            return f"A model named {name!r} already exists."
        unusable = name_problem(name, "model")
        if unusable:
            return unusable
        axes = self.axes.text().strip().lower()
        if axes not in ("", "auto"):
            try:
                parse_axes(axes)
            except ValueError as exc:
                return f"Views: {exc}."
        plane = self._xy_plane()
        if plane is not None and min(plane) < PATCH_MULTIPLE:
            return (
                f"The image's slices ({plane[0]} x {plane[1]} px) are too small to train on: "
                f"they need {PATCH_MULTIPLE} px a side at least."
            )
        if self.input_slices.value() % 2 == 0:
            return "Input slices must be an odd number (the plane and its neighbours each side)."
        if self.slices.text().strip():
            try:
                parse_slices(self.slices.text().strip())
            except LabelsError as exc:
                return f"Only slices: {exc}"
        boundary = self.boundary.currentText()
        if boundary not in ("", "(none)") and boundary not in self.chosen_classes():
            return f"The boundary output is of {boundary!r}: tick that class to learn too."
        return None

    def _update(self) -> None:
        preset = presets.SIZES[self.size.currentText()]
        self.size_note.setText(f"{preset.summary}; {preset.speed_text()}.")
        args = (
            preset.name,
            self.epochs.value(),
            self.iterations.value(),
            self.batch.value(),
            self.patch.value(),
        )
        cpu = presets.estimate_train_seconds(*args)
        gpu = presets.estimate_train_seconds(*args, gpu=True)
        text = f"Estimated time (at most; early stopping may end sooner): {cpu_gpu_text(cpu, gpu)}"
        long_on_cpu = cpu is not None and cpu > LONG_ON_CPU_S
        if long_on_cpu:
            text += "<br>On a computer without a GPU that is long for a first try."
        self.estimate.setText(text)
        self.quick.setVisible(long_on_cpu and self.size.isEnabled())
        self._show_problem()

    def _quick_settings(self) -> None:
        self.size.setCurrentText(QUICK_SIZE)
        self.epochs.setValue(min(self.epochs.value(), QUICK_EPOCHS))

    # -- result ---------------------------------------------------------------------------------
    def spec(self) -> JobSpec:
        axes = self.axes.text().strip().lower()
        init = self.init.currentText()
        boundary = self.boundary.currentText()
        augment = (
            {"elastic": self.elastic.isChecked()}
            if self.augment.isChecked()
            else {
                "flips": False,
                "intensity": False,
                "blur": 0.0,
                "noise": 0.0,
                "elastic": self.elastic.isChecked(),
            }
        )
        return JobSpec(
            kind="train",
            project=str(self.project.path),
            inputs={
                "image": self.image.currentText(),
                "labels": self.labels.currentText(),
                "init": None if init == NO_INIT else init,
                "instances": None,
            },
            params={
                "out": self.name.text().strip(),
                "classes": self.chosen_classes(),
                "boundary": None if boundary in ("", "(none)") else boundary,
                "slices": self.slices.text().strip() or None,
                "size": self.size.currentText(),
                "epochs": self.epochs.value(),
                "iterations": self.iterations.value(),
                "batch": self.batch.value(),
                "patch": self.patch.value(),
                "lr": self.lr.value(),
                "input_slices": self.input_slices.value(),
                "loss": self.loss.currentText(),
                "normalisation": self.normalisation.currentText(),
                "axes": None if axes in ("", "auto") else parse_axes(axes),
                "val_fraction": self.val_fraction.value(),
                "patience": self.patience.value(),
                "seed": self.seed.value(),
                "freeze_encoder_epochs": self.freeze.value(),
                "augment": augment,
            },
            device=self.device.currentText(),
        )


def _spin(low: int, high: int, value: int, step: int = 1) -> QSpinBox:
    spin = QSpinBox(minimum=low, maximum=high, singleStep=step)
    spin.setValue(value)
    return spin
