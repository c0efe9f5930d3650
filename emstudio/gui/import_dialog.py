"""Import a stack into the open project: pick, check what was detected, import in a job.

Picking a file or folder opens it in a plain Python thread (format, shape, dtype, voxel size
and a preview of the middle slice); the import itself is an ``import`` job of the project's job
queue (its own process, listed in the Jobs dock), with its progress shown here too.
"""

from __future__ import annotations

import contextlib
import html
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.errors import EmstudioError
from emstudio.core.io.base import SourceInfo
from emstudio.core.io.open_source import SUPPORTED_FORMATS, open_source
from emstudio.core.ml.labels import parse_class_names, parse_recode
from emstudio.core.project import Project
from emstudio.core.project.volumes import check_new_name
from emstudio.gui.label_session import unique_name
from emstudio.gui.look import ERROR_COLOUR
from emstudio.jobs.spec import JobSpec

if TYPE_CHECKING:
    from emstudio.gui.workbench import Workbench

LAST_DIR_KEY = "paths/last_import_dir"
PREVIEW_SIZE = 300
FILE_FILTER = (
    "Volumes (*.tif *.tiff *.btf *.mrc *.rec *.map *.st *.ali *.mrcs *.h5 *.hdf5 *.hdf "
    "*.zarray *.zgroup zarr.json);;All files (*)"
)


def preview_image(plane: np.ndarray) -> QImage:
    """A 2D plane as an 8-bit grey QImage, stretched between the 1 and 99 percentiles of its
    finite values (NaN and infinities drawn black, as the import stores them as 0)."""
    plane = np.asarray(plane, dtype=float)
    if plane.ndim == 3:
        plane = plane.mean(axis=-1)
    finite = np.isfinite(plane)
    low, high = np.percentile(plane[finite], (1, 99)) if finite.any() else (0, 1)
    scaled = np.where(finite, np.clip((plane - low) / max(high - low, 1e-9), 0, 1), 0)
    grey = np.ascontiguousarray((scaled * 255).astype(np.uint8))
    image = QImage(
        grey.data, grey.shape[1], grey.shape[0], grey.strides[0], QImage.Format.Format_Grayscale8
    )
    return image.copy()


def inspect(paths: list[str]) -> tuple[SourceInfo, np.ndarray]:
    """What a reader detects in ``paths`` and the middle slice (runs in a thread)."""
    with open_source(paths) as source:
        middle = source.info.shape[0] // 2
        return source.info, source.read_slab(middle, middle + 1)[0]


NO_IMAGE = "(none: made elsewhere)"


class ImportDialog(QDialog):
    """Emits ``imported(name)`` when the job has added the volume to the project."""

    imported = Signal(str)
    _inspected = Signal(object)  # (serial, info, plane) or (serial, error message)

    def __init__(
        self, project: Project, workbench: Workbench, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a volume")
        self.project = project
        self.workbench = workbench
        self.paths: list[str] = []
        self.info: SourceInfo | None = None
        self.job: str | None = None  # id of the running import job
        self._serial = 0
        self.source = QLineEdit()
        self.source.setReadOnly(True)
        self.source.setPlaceholderText("Choose a stack file or a folder of slices")
        self.detected = QLabel("—")
        self.detected.setWordWrap(True)
        self.name = QLineEdit()
        self.kind = QComboBox()
        self.kind.addItem("Image", "image")
        self.kind.addItem("Labels (classes per voxel)", "labels")
        self.kind.addItem("Segmentation (object ids)", "segmentation")
        self._image_size_shown = False  # the voxel fields show an image's, not the file's
        self.like = QComboBox()
        for image in project.catalog.volumes("image"):
            self.like.addItem(image.name, image.name)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.class_names = QLineEdit()
        self.class_names.setPlaceholderText("e.g. 1=membrane, 2=mitochondria (else class 1, ...)")
        self.class_names.setToolTip("Names for the values of the labels; 0 is the background")
        self.recode = QLineEdit()
        self.recode.setPlaceholderText("e.g. 0=1, 255=0 (for files of another convention)")
        self.recode.setToolTip(
            "Values changed on the way in. Here 0 is the background and 255 'not labelled': "
            "a file that marks membranes 0 and the rest 255 (ISBI 2012) takes 0=1, 255=0 with "
            "the class names 1=membrane."
        )
        self.voxel = [self._voxel_spin() for _ in range(3)]
        self.unknown = QCheckBox("unknown")
        self.unknown.setToolTip("Record 1 × 1 × 1 as unknown; measurements need a real size")
        self.unknown.toggled.connect(self._kind_changed)
        self.like.currentIndexChanged.connect(self._kind_changed)
        self.kind.currentIndexChanged.connect(self._offer_no_image)
        self.preview = QLabel("No preview")
        self.preview.setFixedSize(PREVIEW_SIZE, PREVIEW_SIZE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #202020; color: #aaaaaa;")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.import_button = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        self.cancel_button.clicked.connect(self.reject)
        self._inspected.connect(self._on_inspected)
        workbench.manager.job_event.connect(self._on_event)
        workbench.manager.job_status.connect(self._on_status)
        self._build()
        self._kind_changed()

    # -- choosing -------------------------------------------------------------------------------
    def choose_file(self) -> None:
        chosen, _ = QFileDialog.getOpenFileNames(
            self, "Import: choose a stack file (or several slices)", _last_dir(), FILE_FILTER
        )
        if chosen:
            self.set_paths(chosen)

    def choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(
            self, "Import: choose a folder of slices or a Zarr store", _last_dir()
        )
        if chosen:
            self.set_paths([chosen])

    def set_paths(self, paths: list[str]) -> None:
        """Inspect ``paths`` in a thread; the form fills in when that is done."""
        self.paths = [str(Path(p).absolute()) for p in paths]
        QSettings().setValue(LAST_DIR_KEY, str(Path(self.paths[0]).parent))
        shown = self.paths[0] + (f" (+{len(self.paths) - 1} files)" if len(self.paths) > 1 else "")
        self.source.setText(shown)
        self.info = None
        self.import_button.setEnabled(False)
        self.detected.setText("Reading…")
        self.message.clear()  # what a failed import of the file before said
        self._serial += 1
        serial, paths = self._serial, list(self.paths)

        def work() -> None:
            try:
                result: tuple = (serial, *inspect(paths))
            except (EmstudioError, OSError, ValueError) as exc:
                result = (serial, str(exc))
            # a reading overtaken by another choice is ignored (its serial); one that ends
            # after the dialog was deleted has nowhere to go
            with contextlib.suppress(RuntimeError):
                self._inspected.emit(result)

        # never waits for the reading before (a slow file, a network share): the window stays live
        threading.Thread(target=work, name="import-inspect", daemon=True).start()

    def _on_inspected(self, result: tuple) -> None:
        if result[0] != self._serial:
            return
        if len(result) == 2:
            self.detected.setText(f"<span style='color:{ERROR_COLOUR}'>{result[1]}</span>")
            self.preview.setText("No preview")
            return
        _, info, plane = result
        self.info = info
        z, y, x = info.shape
        channels = f", {info.channels} channels" if info.channels > 1 else ""
        self.detected.setText(
            f"<b>{info.format}</b>: {z} × {y} × {x} voxels (z × y × x), {info.dtype}{channels}"
            + "".join(f"<br><i>{note}</i>" for note in info.notes)
        )
        known = info.voxel_size.known
        for spin, value in zip(self.voxel, info.voxel_size.zyx, strict=True):
            spin.setValue(value)
        self.unknown.setChecked(not known)
        self._kind_changed()  # labels show their image's voxel size
        stem = Path(info.path).name.split(".")[0] or "volume"
        taken = {v.name for v in self.project.catalog.volumes()}
        self.name.setText(unique_name(stem, taken))
        pixmap = QPixmap.fromImage(preview_image(plane))
        self.preview.setPixmap(
            pixmap.scaled(
                PREVIEW_SIZE,
                PREVIEW_SIZE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self.import_button.setEnabled(True)

    # -- importing ------------------------------------------------------------------------------
    def spec(self) -> JobSpec:
        """The import job for the form as filled in."""
        kind = self.kind.currentData()
        of_image = self._of_image()  # then the image's voxel size
        voxel = None if self.unknown.isChecked() or of_image else [s.value() for s in self.voxel]
        detected = self.info.voxel_size if self.info is not None else None
        if voxel and detected and detected.known and np.allclose(voxel, detected.zyx):
            voxel = None  # keep the file's own value (and where it came from)
        like = self.like.currentData() if of_image else None
        params = {"name": self.name.text().strip(), "kind": kind, "voxel_size_nm": voxel}
        if kind == "labels":
            params["classes"] = parse_class_names(self.class_names.text(), "Class names")
            params["recode"] = parse_recode(self.recode.text(), "Recode values")
        return JobSpec(
            kind="import",
            project=str(self.project.path),
            inputs={"paths": list(self.paths), "like": like},
            params=params,
        )

    def start_import(self) -> None:
        if self.info is None or self.job is not None:
            return
        try:  # a taken or unusable name, unreadable class names, said here, not by a failed job
            check_new_name(self.project, self.name.text(), "name")
            spec = self.spec()
        except EmstudioError as exc:
            self.message.setText(
                f"<span style='color:{ERROR_COLOUR}'>{html.escape(str(exc))}</span>"
            )
            return
        self.job = spec.id
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.message.setText("Importing… (also listed in the Jobs dock)")
        self._set_busy(True)
        self.workbench.submit(spec)

    def _on_event(self, job_id: str, event: dict[str, Any]) -> None:
        if job_id != self.job or event.get("event") != "progress":
            return
        done, total = int(event.get("done") or 0), int(event.get("total") or 0)
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        if event.get("message"):
            self.message.setText(str(event["message"]))

    def _on_status(self, job_id: str, status: str, message: str) -> None:
        if job_id != self.job or status in ("queued", "running"):
            return
        self.job = None
        if status == "done":
            outputs = self.workbench.manager.outputs(job_id)
            name = str(outputs.get("volume") or self.name.text())
            self.message.setText(f"Imported {name!r}.")
            self.imported.emit(name)
            self.accept()
            return
        self.progress.setVisible(False)
        self.message.setText(
            f"<span style='color:{ERROR_COLOUR}'>Import {status}: "
            f"{html.escape(message or 'no reason given')}</span>"
        )
        self._set_busy(False)

    def reject(self) -> None:
        """Cancel: stops a running import (nothing is added to the project)."""
        if self.job is not None:
            self.workbench.manager.cancel(self.job)
            self.job = None
        super().reject()

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.import_button, self.name, self.kind):
            widget.setEnabled(not busy)
        if busy:
            for widget in (self.like, self.unknown, *self.voxel):
                widget.setEnabled(False)
        else:
            self._kind_changed()

    def _of_image(self) -> bool:
        """Whether the volume belongs to an image: labels always, a segmentation where one is
        chosen (one made elsewhere may come alone)."""
        kind = self.kind.currentData()
        return kind == "labels" or (kind == "segmentation" and bool(self.like.currentData()))

    def _offer_no_image(self) -> None:
        """A segmentation may come without its image: then "(none)" is a choice, taken at
        first unless an image has the file's shape."""
        none = self.like.findData("")
        if self.kind.currentData() != "segmentation":
            if none >= 0:
                self.like.removeItem(none)
            return
        if none < 0:
            self.like.addItem(NO_IMAGE, "")
            shape = tuple(self.info.shape) if self.info is not None else None
            same = [i.name for i in self.project.catalog.volumes("image") if i.shape == shape]
            self.like.setCurrentIndex(self.like.findData(same[0] if same else ""))

    def _kind_changed(self) -> None:
        """What belongs to an image takes its voxel size; an image has its own."""
        of_image = self._of_image()
        self.like.setEnabled(self.kind.currentData() != "image")
        for field in (self.class_names, self.recode):
            field.setEnabled(self.kind.currentData() == "labels")
        self.unknown.setEnabled(not of_image)
        shown = None
        if of_image and self.project.catalog.has_volume_name(self.like.currentText()):
            shown = self.project.catalog.volume(self.like.currentText()).voxel_size.zyx
        elif self._image_size_shown and self.info is not None:  # the file's own again
            shown = self.info.voxel_size.zyx
        self._image_size_shown = of_image
        for spin, value in zip(self.voxel, shown or (), strict=False):
            spin.setValue(value)
        for spin in self.voxel:
            spin.setEnabled(not of_image and not self.unknown.isChecked())

    # -- layout ---------------------------------------------------------------------------------
    def _voxel_spin(self) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.001, 1e6)
        spin.setDecimals(3)
        spin.setValue(1.0)
        spin.setSuffix(" nm")
        return spin

    def _build(self) -> None:
        file_button = QPushButton("File…")
        file_button.clicked.connect(self.choose_file)
        folder_button = QPushButton("Folder…")
        folder_button.clicked.connect(self.choose_folder)
        source = QHBoxLayout()
        source.addWidget(self.source, 1)
        source.addWidget(file_button)
        source.addWidget(folder_button)
        voxel = QHBoxLayout()
        for axis, spin in zip("zyx", self.voxel, strict=True):
            voxel.addWidget(QLabel(axis))
            voxel.addWidget(spin)
        voxel.addWidget(self.unknown)
        form = QFormLayout()
        form.addRow("Source", source)
        form.addRow("Detected", self.detected)
        form.addRow("Name", self.name)
        form.addRow("Kind", self.kind)
        form.addRow("Of image", self.like)
        form.addRow("Class names", self.class_names)
        form.addRow("Recode values", self.recode)
        form.addRow("Voxel size", voxel)
        formats = QLabel(f"Formats: {SUPPORTED_FORMATS}.")
        formats.setWordWrap(True)
        formats.setStyleSheet("color: palette(placeholder-text);")
        form.addRow("", formats)
        body = QHBoxLayout()
        body.addLayout(form, 1)
        body.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(900, 420)


def _last_dir() -> str:
    saved = QSettings().value(LAST_DIR_KEY, "")
    return saved if isinstance(saved, str) and Path(saved).is_dir() else str(Path.home())
