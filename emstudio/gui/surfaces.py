"""Meshes made ready to draw: VTK surfaces with smooth normals, thinned to a triangle budget.

Plain VTK data filters, no rendering and no Qt, so the results dock builds them in its reader
thread: a large mesh set (millions of triangles) then costs the GUI thread nothing but the
render. A display with software OpenGL (no GPU) draws about a million triangles at an
interactive pace; above ``DISPLAY_TRIANGLES`` every mesh is decimated by the same fraction for
display only. Measurements and exported files always use the full meshes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkPolyDataNormals, vtkQuadricDecimation

DISPLAY_TRIANGLES = 1_000_000
SMALLEST_DECIMATED = 500  # meshes with fewer triangles are drawn as they are


@dataclass
class Surfaces:
    """Surfaces by object id, and how many triangles the full meshes have."""

    polydata: dict[int, vtkPolyData]
    full_triangles: int

    @property
    def shown_triangles(self) -> int:
        return sum(p.GetNumberOfPolys() for p in self.polydata.values())


def polydata(vertices: np.ndarray, faces: np.ndarray) -> vtkPolyData:
    """Triangles as vtkPolyData (vertices (x, y, z) in nm)."""
    points = vtkPoints()
    points.SetData(numpy_to_vtk(np.ascontiguousarray(vertices, np.float32), deep=True))
    cells = vtkCellArray()
    offsets = np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64)
    cells.SetData(
        numpy_to_vtkIdTypeArray(offsets, deep=True),
        numpy_to_vtkIdTypeArray(np.ascontiguousarray(faces, np.int64).ravel(), deep=True),
    )
    poly = vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(cells)
    return poly


def _decimated(poly: vtkPolyData, keep: float) -> vtkPolyData:
    decimate = vtkQuadricDecimation()
    decimate.SetInputData(poly)
    decimate.SetTargetReduction(1.0 - keep)
    decimate.Update()
    return decimate.GetOutput()


def _with_normals(poly: vtkPolyData) -> vtkPolyData:
    normals = vtkPolyDataNormals()
    normals.SetInputData(poly)
    normals.SplittingOff()
    normals.Update()
    return normals.GetOutput()


def display_surfaces(
    meshes: Mapping[int, tuple[np.ndarray, np.ndarray]], budget: int = DISPLAY_TRIANGLES
) -> Surfaces:
    """id -> (vertices (x, y, z) nm, triangles) as surfaces to draw, within ``budget``
    triangles where decimation can get them there."""
    total = sum(len(faces) for _, faces in meshes.values())
    keep = min(1.0, budget / total) if total else 1.0
    out = {}
    for object_id, (vertices, faces) in meshes.items():
        poly = polydata(vertices, faces)
        if keep < 1.0 and len(faces) >= SMALLEST_DECIMATED:
            poly = _decimated(poly, keep)
        out[int(object_id)] = _with_normals(poly)
    return Surfaces(out, total)
