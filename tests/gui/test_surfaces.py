"""Meshes made ready to draw: thinned to the triangle budget for display only."""

from __future__ import annotations

import numpy as np
import pytest

from emstudio.core.mesh.surface import mesh_mask
from emstudio.gui.surfaces import display_surfaces


@pytest.fixture(scope="module")
def balls() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    z, y, x = np.indices((40, 40, 40))
    out = {}
    for object_id, radius in ((1, 15), (2, 8)):
        mesh = mesh_mask(
            (z - 20) ** 2 + (y - 20) ** 2 + (x - 20) ** 2 <= radius**2,
            (0, 0, 0),
            (10.0, 10.0, 10.0),
        )
        out[object_id] = (mesh.vertices, mesh.faces)
    return out


def test_within_the_budget_every_triangle_is_drawn(balls):
    surfaces = display_surfaces(balls)
    full = sum(len(f) for _, f in balls.values())
    assert surfaces.full_triangles == surfaces.shown_triangles == full
    first = surfaces.polydata[1]
    assert first.GetPointData().GetNormals() is not None  # smooth shading
    bounds = np.array(first.GetBounds())
    assert bounds[1] - bounds[0] == pytest.approx(np.ptp(balls[1][0][:, 0]))


def test_above_the_budget_every_mesh_is_thinned_alike(balls):
    full = sum(len(f) for _, f in balls.values())
    surfaces = display_surfaces(balls, budget=full // 4)
    assert surfaces.full_triangles == full
    assert surfaces.shown_triangles <= full // 4 * 1.1
    for object_id, (_, faces) in balls.items():
        kept = surfaces.polydata[object_id].GetNumberOfPolys() / len(faces)
        assert 0.2 < kept < 0.3
