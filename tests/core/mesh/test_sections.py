"""Surface areas on thick sections: the outline interpolated between sections, not terraced."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emstudio.core.measure.shape import AREA_MESH
from emstudio.core.mesh.build import read_padded
from emstudio.core.mesh.sections import section_steps
from emstudio.core.mesh.surface import MeshOptions, described_mask, mesh_in_blocks

SSTEM = (50.0, 5.0, 5.0)
RADIUS = 300.0


@pytest.fixture(scope="module")
def ball() -> np.ndarray:
    """A sphere of RADIUS nm on ssTEM voxels, centred off the grid."""
    half = [math.ceil(RADIUS / v) + 2 for v in SSTEM]
    axes = [(np.arange(-n, n + 1) + 0.3) * v for n, v in zip(half, SSTEM, strict=True)]
    z, y, x = np.meshgrid(*axes, indexing="ij")
    return z**2 + y**2 + x**2 <= RADIUS**2


def test_steps_follow_the_anisotropy() -> None:
    assert [section_steps(v) for v in [(10, 10, 10), (14, 10, 10), (40, 10, 10), (50, 4.6, 4.6)]] \
        == [1, 1, 2, 2]  # fmt: skip


def test_a_sphere_on_thick_sections_has_its_area_whole_or_in_blocks(ball) -> None:
    area = 4 * math.pi * RADIUS**2
    _, terraced = described_mask(ball, (0, 0, 0), SSTEM, MeshOptions(smooth=20, presmooth=0.5))
    assert terraced["area_nm2"] > 1.1 * area  # what interpolating between sections removes
    _, whole = described_mask(ball, (0, 0, 0), SSTEM, AREA_MESH)
    assert whole["area_nm2"] == pytest.approx(area, rel=0.04)
    assert whole["volume_nm3"] == pytest.approx(ball.sum() * np.prod(SSTEM), rel=0.015)
    found = np.argwhere(ball)
    lo, hi = found.min(axis=0), found.max(axis=0) + 1

    _, blocks = mesh_in_blocks(
        lambda box: read_padded(ball, box), lo, hi, SSTEM, AREA_MESH, (4, 40, 40)
    )
    assert blocks["watertight"]
    assert blocks["area_nm2"] == pytest.approx(whole["area_nm2"], rel=1e-3)
