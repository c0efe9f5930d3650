"""How volume rows read in the project page's table."""

from __future__ import annotations

from emstudio.core.io.base import VoxelSize
from emstudio.gui.volume_table import format_created, format_shape, format_voxel_size


def test_shape_and_voxel_size() -> None:
    assert format_shape((400, 2048, 1024)) == "400 × 2048 × 1024"
    assert format_voxel_size(VoxelSize(30, 4.5, 4, known=True)) == "30 × 4.5 × 4"
    assert format_voxel_size(VoxelSize()) == "unknown"


def test_created_is_shown_to_the_minute() -> None:
    assert format_created("2026-01-02T03:04:05") == "2026-01-02 03:04"
    assert len(format_created("2026-01-02T03:04:05+00:00")) == len("2026-01-02 03:04")
    assert format_created("yesterday") == "yesterday"
