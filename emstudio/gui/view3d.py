"""The 3D view: object meshes (coloured by id or by a measurement, with a colour bar), the
image's three orthoslices at the cursor, picking, class visibility, camera reset, screenshots.

``Scene3D`` is plain VTK (it renders into any render window, e.g. an offscreen one in tests);
``View3D`` docks it in Qt through ``QVTKRenderWindowInteractor`` and follows the close protocol
of DESIGN.md / PLATFORM-NOTES.md: no render timers; on close the observers are removed, the
VTK widget is hidden, then its render window is finalized, and every later render is a no-op;
all open views close from ``QApplication.aboutToQuit``.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import vtkmodules.qt

vtkmodules.qt.PyQtImpl = "PySide6"

import vtkmodules.vtkInteractionStyle  # noqa: E402  (registers the interactor styles)
import vtkmodules.vtkRenderingFreeType  # noqa: E402  (text of the colour bar)
import vtkmodules.vtkRenderingOpenGL2  # noqa: E402  (the OpenGL back end)
from PySide6.QtCore import QTimer, Signal  # noqa: E402
from PySide6.QtGui import QCloseEvent, QGuiApplication  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor  # noqa: E402
from vtkmodules.vtkCommonCore import vtkLookupTable  # noqa: E402
from vtkmodules.vtkCommonDataModel import vtkPolyData  # noqa: E402
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera  # noqa: E402
from vtkmodules.vtkIOImage import vtkPNGWriter  # noqa: E402
from vtkmodules.vtkRenderingAnnotation import vtkScalarBarActor  # noqa: E402
from vtkmodules.vtkRenderingCore import (  # noqa: E402
    vtkActor,
    vtkImageActor,
    vtkPropPicker,
    vtkRenderer,
    vtkRenderWindow,
    vtkWindowToImageFilter,
)

from emstudio.core.mesh.export import load_meshes  # noqa: E402
from emstudio.gui.colors import instance_rgba  # noqa: E402
from emstudio.gui.context_surfaces import ContextSurfaces, surface_actor  # noqa: E402
from emstudio.gui.look import fill_check_menu, menu_button  # noqa: E402
from emstudio.gui.orthoslices import FULL_RANGE, Orthoslices, PlaneSource  # noqa: E402
from emstudio.gui.scale_bar import ScaleBar  # noqa: E402
from emstudio.gui.surfaces import Surfaces, display_surfaces  # noqa: E402
from emstudio.gui.viewstate import Contrast  # noqa: E402

BACKGROUND = (0.11, 0.12, 0.14)
SELECTED = (1.0, 0.95, 0.2)
# the others, while an object is selected: its yellow is also viridis' top colour, so the
# selection stands out by the others fading, whatever the objects are coloured by
UNSELECTED_OPACITY = 0.25
CLICK_TOLERANCE_PX = 3
SCREENSHOT_SCALE = 3  # a 600 px wide view makes an 1800 px wide picture
HEADLESS_PLATFORMS = ("offscreen", "minimal")


def id_colour(object_id: int) -> tuple[float, float, float]:
    """The colour the slice views give this id (0..1 floats)."""
    rgb = instance_rgba(np.array([[object_id]]), False)[0, 0, :3]
    return tuple(float(c) / 255 for c in rgb)


# anchors of matplotlib's viridis (perceptually uniform, readable in grey and by most
# colour-blind viewers)
_VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def viridis_lut(entries: int = 256) -> vtkLookupTable:
    lut = vtkLookupTable()
    lut.SetNumberOfTableValues(entries)
    anchors = np.array(_VIRIDIS, float) / 255
    where = np.linspace(0, len(anchors) - 1, entries)
    for i, t in enumerate(where):
        rgb = [np.interp(t, np.arange(len(anchors)), anchors[:, c]) for c in range(3)]
        lut.SetTableValue(i, *rgb, 1.0)
    return lut


class Scene3D:
    """Everything drawn in the 3D view, in nm, independent of any window."""

    def __init__(self) -> None:
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(*BACKGROUND)
        self.actors: dict[int, vtkActor] = {}
        self.classes: dict[int, str] = {}
        self.colours: dict[int, tuple[float, float, float]] = {}
        self.hidden_classes: set[str] = set()
        self.selected: int | None = None
        self.colour_column: str | None = None
        self.lut = viridis_lut()
        self.scalar_bar = vtkScalarBarActor()
        self.scalar_bar.SetLookupTable(self.lut)
        self.scalar_bar.SetNumberOfLabels(5)
        self.scalar_bar.SetMaximumWidthInPixels(90)
        self.scalar_bar.VisibilityOff()
        self.renderer.AddViewProp(self.scalar_bar)
        self.orthoslices = Orthoslices(self.renderer)
        self.context = ContextSurfaces(self.renderer)  # other structures, see-through
        self.scale_bar = ScaleBar(self.renderer)
        self.renderer.AddObserver("StartEvent", lambda *_: self.scale_bar.update())
        self.picker = vtkPropPicker()

    # -- meshes ---------------------------------------------------------------------------------
    def set_meshes(
        self,
        meshes: Mapping[int, tuple[np.ndarray, np.ndarray]],
        classes: Mapping[int, str] | None = None,
    ) -> None:
        """Replace the meshes: id -> (vertices (x, y, z) nm, triangles); optional id -> class."""
        self.set_surfaces(display_surfaces(meshes).polydata, classes)

    def set_surfaces(
        self, surfaces: Mapping[int, vtkPolyData], classes: Mapping[int, str] | None = None
    ) -> None:
        """Replace the meshes by surfaces made ready to draw (``surfaces.display_surfaces``)."""
        for actor in self.actors.values():
            self.renderer.RemoveActor(actor)
        self.actors.clear()
        self.classes = dict(classes or {})
        self.selected = None
        for object_id, surface in surfaces.items():
            actor = surface_actor(surface)
            actor.GetProperty().SetSpecular(0.2)
            self.actors[int(object_id)] = actor
            self.renderer.AddActor(actor)
        self.colour_by_id()
        self._apply_visibility()

    def colour_by_id(self) -> None:
        self.colour_column = None
        self.colours = {i: id_colour(i) for i in self.actors}
        self.scalar_bar.VisibilityOff()
        self._apply_colours()

    def colour_by(self, values: Mapping[int, float], column: str) -> None:
        """Colour objects by a measurement (missing values grey) and show the colour bar."""
        found = np.array([v for v in values.values() if v is not None and np.isfinite(v)])
        low, high = (float(found.min()), float(found.max())) if len(found) else (0.0, 1.0)
        if high <= low:
            high = low + 1.0
        self.lut.SetTableRange(low, high)
        self.colours = {}
        for object_id in self.actors:
            value = values.get(object_id)
            if value is None or not np.isfinite(value):
                self.colours[object_id] = (0.5, 0.5, 0.5)
            else:
                rgb = [0.0, 0.0, 0.0]
                self.lut.GetColor(float(value), rgb)
                self.colours[object_id] = tuple(rgb)
        self.colour_column = column
        self.scalar_bar.SetTitle(column)
        self.scalar_bar.VisibilityOn()
        self._apply_colours()

    def _apply_colours(self) -> None:
        for object_id, actor in self.actors.items():
            chosen = object_id == self.selected
            actor.GetProperty().SetColor(*(SELECTED if chosen else self.colours[object_id]))
            faded = self.selected is not None and not chosen
            actor.GetProperty().SetOpacity(UNSELECTED_OPACITY if faded else 1.0)

    def select(self, object_id: int | None) -> None:
        self.selected = object_id if object_id in self.actors else None
        self._apply_colours()

    def set_class_visible(self, name: str, visible: bool) -> None:
        (self.hidden_classes.discard if visible else self.hidden_classes.add)(name)
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        for object_id, actor in self.actors.items():
            actor.SetVisibility(self.classes.get(object_id) not in self.hidden_classes)

    def pick(self, x: int, y: int) -> int | None:
        """The object under display position (x, y) (VTK: origin bottom left), if any."""
        if not self.picker.PickProp(x, y, self.renderer):
            return None
        prop = self.picker.GetViewProp()
        return next((i for i, a in self.actors.items() if a is prop), None)

    # -- orthoslices ----------------------------------------------------------------------------
    @property
    def slices(self) -> list[vtkImageActor]:
        return self.orthoslices.actors

    def set_cursor(self, zyx: Sequence[int]) -> None:
        self.orthoslices.set_cursor(zyx)

    def show_slices(self, visible: bool) -> None:
        self.orthoslices.show(visible)

    def screenshot(self, window: vtkRenderWindow, path: str | Path, scale: int = 1) -> Path:
        """``save_png`` of ``window`` showing this scene, its scale bar the length it is on the
        screen, drawn ``scale`` times larger with the rest."""
        with self.scale_bar.drawn_larger(scale):
            return save_png(window, path, scale)

    def reset_camera(self) -> None:
        """Look down the stack as the XY view shows it: x to the right, y down, z away."""
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(0.0, 0.0, 0.0)
        camera.SetPosition(0.0, 0.0, -1.0)
        camera.SetViewUp(0.0, -1.0, 0.0)
        self.renderer.ResetCamera()


def save_png(render_window: vtkRenderWindow, path: str | Path, scale: int = 1) -> Path:
    """Write what ``render_window`` shows to a PNG file, drawn again at ``scale`` times its
    size (sharp for a figure or a poster, not an enlarged screen grab)."""
    grab = vtkWindowToImageFilter()
    grab.SetInput(render_window)
    grab.SetScale(scale)
    grab.ReadFrontBufferOff()
    grab.Update()
    writer = vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputConnection(grab.GetOutputPort())
    writer.Write()
    return Path(path)


def can_draw() -> bool:
    """False on Qt platforms without windows (offscreen, minimal): VTK would render into a
    context that is not attached to the widget, draw nothing and log shader errors."""
    return QGuiApplication.platformName() not in HEADLESS_PLATFORMS


class _VTKWidget(QVTKRenderWindowInteractor):
    """The Qt-hosted render window; after ``finalize`` nothing renders again."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.finalized = False
        self.drawable = can_draw()

    def finalize(self) -> None:
        if not self.finalized:
            self.finalized = True
            self.hide()
            self.GetRenderWindow().Finalize()

    def Finalize(self) -> None:
        self.finalize()

    def paintEvent(self, ev) -> None:
        if self.drawable and not self.finalized:
            super().paintEvent(ev)

    def resizeEvent(self, ev) -> None:
        if not self.finalized:
            super().resizeEvent(ev)

    def Render(self) -> None:
        if self.drawable and not self.finalized:
            super().Render()


def _millions(triangles: int) -> str:
    return f"{triangles / 1e6:.1f} M" if triangles >= 100_000 else f"{triangles:,}"


class View3D(QWidget):
    """A dockable 3D view. Signals ``object_picked(id)`` when the user clicks an object."""

    object_picked = Signal(int)
    _open: ClassVar[weakref.WeakSet[View3D]] = weakref.WeakSet()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.closed = False
        self.scene = Scene3D()
        self.measurements: dict[str, dict[int, float]] = {}
        self.vtk = _VTKWidget(self)
        self.render_window = self.vtk.GetRenderWindow()
        self.render_window.AddRenderer(self.scene.renderer)
        self.interactor = self.render_window.GetInteractor()
        self.interactor.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self._press: tuple[int, int] | None = None
        self._render_pending = False
        self._observers = [
            self.interactor.AddObserver("LeftButtonPressEvent", self._on_press, 1.0),
            self.interactor.AddObserver("LeftButtonReleaseEvent", self._on_release, 1.0),
        ]
        self.colour_box = QComboBox()
        self.colour_box.addItem("Object id")
        self.colour_box.setToolTip("Colour the objects by their id or by a measurement")
        self.colour_box.currentTextChanged.connect(self._colour_changed)
        self.class_button = menu_button("Classes", "Show or hide classes")
        reset = QPushButton("Reset camera")
        reset.clicked.connect(self.reset_camera)
        shot = QPushButton("Screenshot…")
        shot.clicked.connect(self._ask_screenshot)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Colour by"))
        bar.addWidget(self.colour_box, 1)
        bar.addWidget(self.class_button)
        bar.addWidget(reset)
        bar.addWidget(shot)
        self.thinned_label = QLabel()
        self.thinned_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.thinned_label)
        layout.addWidget(self.vtk, 1)
        View3D._open.add(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close_view)

    @classmethod
    def open_views(cls) -> list[View3D]:
        """Views not closed yet (tests assert none is left)."""
        return [v for v in cls._open if not v.closed]

    # -- content ----------------------------------------------------------------------------------
    def set_meshes(
        self,
        meshes: Mapping[int, tuple[np.ndarray, np.ndarray]],
        classes: Mapping[int, str] | None = None,
    ) -> None:
        self.set_surfaces(display_surfaces(meshes), classes)

    def set_surfaces(self, surfaces: Surfaces, classes: Mapping[int, str] | None = None) -> None:
        """Show surfaces made ready to draw (in a worker thread: ``display_surfaces``)."""
        self.scene.set_surfaces(surfaces.polydata, classes)
        shown, full = surfaces.shown_triangles, surfaces.full_triangles
        self.thinned_label.setVisible(shown < full)
        self.thinned_label.setText(f"drawn with {_millions(shown)} of {_millions(full)} triangles")
        self.thinned_label.setToolTip(
            "Large mesh sets are simplified for drawing only; measurements and exported "
            "meshes use every triangle."
        )
        classes = sorted(set(self.scene.classes.values()))
        fill_check_menu(self.class_button, classes, classes, self.set_class_visible)
        self.scene.reset_camera()
        self.refresh()

    def load_mesh_set(self, folder: str | Path, classes: Mapping[int, str] | None = None) -> None:
        """Show the meshes of a mesh set folder (``meshes/<id>/`` or an export folder)."""
        meshes = load_meshes(Path(folder))
        self.set_meshes({i: (m.vertices, m.faces) for i, m in meshes.items()}, classes)

    def set_measurements(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Measurement rows (``id`` plus columns); numeric columns become colour choices."""
        columns: dict[str, dict[int, float]] = {}
        for row in rows:
            for key, value in row.items():
                if key != "id" and isinstance(value, int | float) and not isinstance(value, bool):
                    columns.setdefault(key, {})[int(row["id"])] = float(value)
        self.measurements = columns
        current = self.colour_box.currentText()
        self.colour_box.blockSignals(True)
        self.colour_box.clear()
        self.colour_box.addItems(["Object id", *columns])
        self.colour_box.blockSignals(False)
        self.colour_box.setCurrentText(current if current in columns else "Object id")
        self._colour_changed(self.colour_box.currentText())

    def colour_by(self, column: str | None) -> None:
        self.colour_box.setCurrentText(column or "Object id")

    def _colour_changed(self, column: str) -> None:
        if column in self.measurements:
            self.scene.colour_by(self.measurements[column], column)
        else:
            self.scene.colour_by_id()
        self.refresh()

    def set_context(self, name: str, surfaces: Surfaces | None) -> None:
        """Draw another structure around the objects (``ContextSurfaces``); None: no more."""
        if surfaces is None:
            self.scene.context.hide(name)
        else:
            self.scene.context.show(name, surfaces.polydata)
        self.refresh()

    def set_image(
        self, planes: PlaneSource, shape, voxel_size, contrast: Contrast = FULL_RANGE
    ) -> None:
        self.scene.orthoslices.set_image(planes, shape, voxel_size, contrast)

    def set_cursor(self, zyx: Sequence[int]) -> None:
        self.scene.set_cursor(zyx)
        self.refresh()

    def select_object(self, object_id: int | None) -> None:
        """Highlight an object chosen elsewhere (no signal back)."""
        self.scene.select(object_id)
        self.refresh()

    def set_class_visible(self, name: str, visible: bool) -> None:
        self.scene.set_class_visible(name, visible)
        self.refresh()

    def reset_camera(self) -> None:
        self.scene.reset_camera()
        self.refresh()

    def refresh(self) -> None:
        """Redraw soon: the changes of one turn of the event loop share one render (software
        OpenGL takes a few hundred ms per render)."""
        if not self._render_pending:
            self._render_pending = True
            QTimer.singleShot(0, self, self._render_pending_frame)

    def _render_pending_frame(self) -> None:
        self._render_pending = False
        self.render_now()

    def render_now(self) -> None:
        """Redraw now (a no-op once closed or while not shown)."""
        vtk = self.vtk
        if not self.closed and vtk.drawable and not vtk.finalized and vtk.isVisible():
            self.render_window.Render()

    def save_screenshot(self, path: str | Path, scale: int = SCREENSHOT_SCALE) -> Path | None:
        """Save what the view shows, ``scale`` times its size on the screen (None where
        nothing can be drawn, e.g. offscreen Qt)."""
        if not self.vtk.drawable or self.closed:
            return None
        self.render_now()
        return self.scene.screenshot(self.render_window, path, scale)

    def _ask_screenshot(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", "view3d.png", "PNG (*.png)")
        if path:  # a name typed without its extension still makes a .png file
            self.save_screenshot(Path(path).with_suffix(".png"))

    # -- picking ----------------------------------------------------------------------------------
    def _on_press(self, obj, event) -> None:
        self._press = self.interactor.GetEventPosition()

    def _on_release(self, obj, event) -> None:
        if self._press is None:
            return
        x, y = self.interactor.GetEventPosition()
        px, py = self._press
        self._press = None
        if abs(x - px) <= CLICK_TOLERANCE_PX and abs(y - py) <= CLICK_TOLERANCE_PX:
            found = self.scene.pick(x, y)
            if found is not None:
                self.select_object(found)
                self.object_picked.emit(found)

    # -- closing ----------------------------------------------------------------------------------
    def close_view(self) -> None:
        """Stop rendering for good: observers off, widget hidden, render window finalized."""
        if self.closed:
            return
        self.closed = True
        for tag in self._observers:
            self.interactor.RemoveObserver(tag)
        self._observers.clear()
        self.vtk.finalize()
        app = QApplication.instance()
        if app is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                app.aboutToQuit.disconnect(self.close_view)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_view()
        super().closeEvent(event)
