"""Other structures drawn around the objects of the 3D view, for context: the nucleus, the
cell's outline or the ER around the mitochondria being looked at. Each structure in one colour
of its own, see-through, not pickable (clicks go to the objects within)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from vtkmodules.vtkCommonDataModel import vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer

from emstudio.gui.colors import class_colour

CONTEXT_OPACITY = 0.3


def surface_actor(surface: vtkPolyData) -> vtkActor:
    """An actor drawing ``surface`` in one colour (set on its property)."""
    mapper = vtkPolyDataMapper()
    mapper.SetInputData(surface)
    mapper.ScalarVisibilityOff()
    actor = vtkActor()
    actor.SetMapper(mapper)
    return actor


def context_colour(name: str) -> tuple[float, float, float]:
    """A structure's colour (0..1), the same in every session."""
    r, g, b = class_colour(1 + zlib.crc32(name.encode("utf-8")) % 8)
    return r / 255, g / 255, b / 255


class ContextSurfaces:
    """The context structures of a renderer, by name."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self.renderer = renderer
        self.actors: dict[str, list[vtkActor]] = {}

    def show(self, name: str, surfaces: Mapping[int, vtkPolyData]) -> None:
        """Draw (or draw again) structure ``name``."""
        self.hide(name)
        colour = context_colour(name)
        actors = []
        for surface in surfaces.values():
            actor = surface_actor(surface)
            actor.PickableOff()
            actor.GetProperty().SetColor(*colour)
            actor.GetProperty().SetOpacity(CONTEXT_OPACITY)
            self.renderer.AddActor(actor)
            actors.append(actor)
        self.actors[name] = actors

    def hide(self, name: str) -> None:
        """Remove structure ``name`` (nothing if it is not drawn)."""
        for actor in self.actors.pop(name, []):
            self.renderer.RemoveActor(actor)

    @property
    def names(self) -> list[str]:
        return list(self.actors)
