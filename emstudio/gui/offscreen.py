"""Render meshes in an offscreen VTK window (no Qt, no screen): for the self-test and docs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
    # no X server: render through EGL directly, without VTK's "bad X server connection" detour
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL back end)
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOGeometry import vtkSTLReader
from vtkmodules.vtkIOImage import vtkPNGWriter
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkRenderWindow,
    vtkWindowToImageFilter,
)

MAX_MESHES = 50


def render_mesh_files(
    files: list[Path], png: Path, size: tuple[int, int] = (320, 240)
) -> tuple[int, int]:
    """Render STL files into ``png``; returns (pixels drawn, meshes). ValueError if nothing."""
    if not files:
        raise ValueError("no mesh files to render")
    renderer = vtkRenderer()
    renderer.SetBackground(0, 0, 0)
    for path in files[:MAX_MESHES]:
        reader = vtkSTLReader()
        reader.SetFileName(str(path))
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(reader.GetOutputPort())
        actor = vtkActor()
        actor.SetMapper(mapper)
        renderer.AddActor(actor)
    window = vtkRenderWindow()
    window.SetOffScreenRendering(True)
    window.SetSize(*size)
    window.AddRenderer(renderer)
    renderer.ResetCamera()
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.Update()
    pixels = vtk_to_numpy(grab.GetOutput().GetPointData().GetScalars())
    writer = vtkPNGWriter()
    writer.SetFileName(str(png))
    writer.SetInputConnection(grab.GetOutputPort())
    writer.Write()
    window.Finalize()
    drawn = int(np.count_nonzero(pixels.reshape(len(pixels), -1)[:, :3].sum(axis=1)))
    if drawn == 0:
        raise ValueError("the 3D view rendered an empty frame")
    return drawn, min(len(files), MAX_MESHES)
