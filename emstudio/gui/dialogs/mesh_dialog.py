"""The "Make meshes" / "Export meshes" dialog: segmentation, format, smoothing, decimation,
which objects, one file or a combined scene, and (to export) the folder to copy them to.
``spec()`` is the mesh job: the mesh set is kept in the project and copied out when asked."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QSpinBox, QWidget

from emstudio.core.mesh.formats import COMBINED_FORMATS, FORMATS
from emstudio.core.mesh.sections import section_steps
from emstudio.core.project import Project
from emstudio.gui.dialogs.common import JobDialog
from emstudio.gui.dialogs.fields import (
    PathField,
    chosen,
    destination_problem,
    fraction_spin,
    label_volumes,
    names_combo,
)
from emstudio.jobs.spec import JobSpec


def parse_ids(text: str) -> list[int] | None:
    """'3, 8 12' -> [3, 8, 12]; '' -> None (all objects). Raises ValueError on other text."""
    parts = text.replace(",", " ").split()
    if not parts:
        return None
    ids = [int(p) for p in parts]
    if any(i <= 0 for i in ids):
        raise ValueError("object ids are positive whole numbers")
    return ids


class MeshDialog(JobDialog):
    """``export``: the output folder is asked for (and required)."""

    def __init__(
        self,
        project: Project,
        parent: QWidget | None = None,
        export: bool = False,
        segmentation: str | None = None,
    ) -> None:
        super().__init__(project, "Export meshes" if export else "Make meshes", parent)
        self.export = export
        self._records = {r.name: r for r in label_volumes(project)}
        names = list(self._records)
        self.segmentation = names_combo(names, tip="The objects to mesh")
        if segmentation in names:
            self.segmentation.setCurrentText(segmentation)
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        self.format.setCurrentText("ply")
        self.format.setToolTip("stl/obj/ply: one file per object; glb/ply can hold one scene")
        self.smooth = QSpinBox()
        self.smooth.setRange(0, 200)
        self.smooth.setValue(10)
        self.smooth.setSuffix(" iterations")
        self.smooth.setToolTip("Taubin smoothing (keeps the volume); 0 = voxel staircase")
        self.decimate = fraction_spin(
            1.0,
            "Fraction of the triangles kept (1 = all). An object that this would open keeps "
            "all its triangles, as most do without smoothing.",
            0.01,
        )
        self.sections = QCheckBox("interpolate between thick sections")
        self.sections.setToolTip(
            "Draws each outline's way from one section to the next instead of stepping out flat "
            "between them, as the measurements do for areas. On sections at least 1.5x as thick "
            "as the pixels (serial sections, SBF-SEM) the surface is truer: a sphere's area "
            "within 3 %, against 15-19 % too large stepped. Meshing takes a few times as long."
        )
        self.ids = QLineEdit()
        self.ids.setPlaceholderText("all objects")
        self.ids.setToolTip("Object ids to mesh, e.g. 3, 8, 12 (empty: all)")
        self.combined = QCheckBox("one combined scene (object ids kept)")
        self.combined.setToolTip("All objects in one file instead of one file per object")
        self.folder = PathField("Export meshes to (a new or empty folder)")
        self.folder.edit.setPlaceholderText(
            "required" if export else "optional: also copy the files there"
        )
        form = QFormLayout()
        form.addRow("Segmentation", self.segmentation)
        form.addRow("Format", self.format)
        form.addRow("Smoothing", self.smooth)
        form.addRow("Keep triangles", self.decimate)
        form.addRow("", self.sections)
        form.addRow("Objects", self.ids)
        form.addRow("", self.combined)
        form.addRow("Output folder", self.folder)
        self._add_footer("Export" if export else "Make meshes", form)
        self.segmentation.currentTextChanged.connect(self._offer_sections)
        self._offer_sections()
        for signal in (
            self.segmentation.currentTextChanged,
            self.format.currentTextChanged,
            self.ids.textChanged,
            self.combined.toggled,
            self.folder.changed,
        ):
            signal.connect(self._show_problem)
        self._show_problem()

    def _offer_sections(self) -> None:
        """Interpolating between sections only where the chosen segmentation's are thick."""
        name = chosen(self.segmentation)
        thick = name is not None and section_steps(self._records[name].voxel_size.zyx) > 1
        self.sections.setEnabled(thick)
        if not thick:
            self.sections.setChecked(False)
        self.sections.setText(
            "interpolate between thick sections"
            + ("" if thick or name is None else " (these voxels are near cubes)")
        )

    def problem(self) -> str | None:
        if chosen(self.segmentation) is None:
            return "The project has no segmentation yet: segment a prediction first."
        if self.combined.isChecked() and self.format.currentText() not in COMBINED_FORMATS:
            return f"A combined scene needs {' or '.join(COMBINED_FORMATS)}."
        try:
            parse_ids(self.ids.text())
        except ValueError:
            return "Objects: give ids as whole numbers separated by commas (or leave empty)."
        folder = self.folder.path()
        if self.export and folder is None:
            return "Choose the folder to export the meshes to."
        if folder is not None:
            return destination_problem(folder, self.project, folder=True)
        return None

    def spec(self) -> JobSpec:
        folder = self.folder.path()
        return JobSpec(
            kind="mesh",
            project=str(self.project.path),
            inputs={"segmentation": chosen(self.segmentation)},
            params={
                "format": self.format.currentText(),
                "smooth": self.smooth.value(),
                "decimate": round(self.decimate.value(), 4),
                "sections": self.sections.isChecked(),
                "ids": parse_ids(self.ids.text()),
                "combined": self.combined.isChecked(),
                "out": str(folder.absolute()) if folder else None,
            },
        )
