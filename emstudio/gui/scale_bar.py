"""A scale bar for the 3D view: a bar of a round length (1, 2 or 5 times a power of ten, in nm
or µm) and its label in the lower left corner, true at the depth of the point the camera turns
about (a perspective view shows nearer objects larger)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkPolyDataMapper2D,
    vtkRenderer,
    vtkTextActor,
)

TARGET_PX = 120  # the bar is about this long on the screen
MARGIN_PX = 16
LINE_PX = 3
FONT_PX = 14


def round_length(nm: float) -> float:
    """The largest 1, 2 or 5 times a power of ten (nm) no longer than ``nm``."""
    if nm <= 0 or not math.isfinite(nm):
        return 0.0
    power = 10.0 ** math.floor(math.log10(nm))
    return max(step * power for step in (1, 2, 5) if step * power <= nm)


def length_text(nm: float) -> str:
    """ "200 nm", "1 µm", "50 µm"."""
    return f"{nm / 1000:g} µm" if nm >= 1000 else f"{nm:g} nm"


def nm_per_pixel(renderer: vtkRenderer) -> float:
    """How many nm one pixel spans at the depth of the camera's focal point."""
    camera = renderer.GetActiveCamera()
    height = renderer.GetSize()[1]
    if height <= 0:
        return 0.0
    if camera.GetParallelProjection():
        return 2 * camera.GetParallelScale() / height
    view = 2 * camera.GetDistance() * math.tan(math.radians(camera.GetViewAngle()) / 2)
    return view / height


class ScaleBar:
    """The bar and its label in ``renderer``, fitted to the camera by ``update``."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self.renderer = renderer
        self.points = vtkPoints()
        self.points.SetNumberOfPoints(2)
        line = vtkCellArray()
        line.InsertNextCell(2, [0, 1])
        data = vtkPolyData()
        data.SetPoints(self.points)
        data.SetLines(line)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(data)
        self.bar = vtkActor2D()
        self.bar.SetMapper(mapper)
        self.label = vtkTextActor()
        self.label.GetTextProperty().SetFontSize(FONT_PX)
        self.length_nm = 0.0
        self.held = False  # kept as it is (a screenshot drawn larger renders tile by tile)
        self.pixels = 0.0  # the bar's length on the screen
        for actor in (self.bar, self.label):
            actor.GetProperty().SetColor(0.95, 0.95, 0.95)
            renderer.AddViewProp(actor)

    def update(self) -> None:
        """Fit the bar to the camera as it is now (before each render; not while held)."""
        if self.held:
            return
        per_px = nm_per_pixel(self.renderer)
        self.length_nm = round_length(per_px * TARGET_PX)
        shown = self.length_nm > 0
        self.bar.SetVisibility(shown)
        self.label.SetVisibility(shown)
        if not shown:
            return
        self.pixels = self.length_nm / per_px
        self.label.SetInput(length_text(self.length_nm))
        self._place(1)

    @contextlib.contextmanager
    def drawn_larger(self, scale: int) -> Iterator[None]:
        """Hold the bar, drawn ``scale`` times larger, for a picture rendered that much larger
        than the window (VTK renders it tile by tile: it scales the label's font, but leaves
        the bar and the places of both their size on the screen)."""
        self.held = True
        self._place(scale)
        try:
            yield
        finally:
            self._place(1)
            self.held = False

    def _place(self, scale: int) -> None:
        """Lay the bar and its label out, ``scale`` times the screen's size."""
        margin = MARGIN_PX * scale
        self.points.SetPoint(0, margin, margin, 0)
        self.points.SetPoint(1, margin + self.pixels * scale, margin, 0)
        self.points.Modified()
        self.bar.GetProperty().SetLineWidth(LINE_PX * scale)
        self.label.SetPosition(margin, margin + 6 * scale)  # its font VTK scales itself
