"""Fixtures for the crowd tests: writing export rows, and a small phantom with its nuclei."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emstudio.core.crowd.simulate import COLUMNS
from emstudio.core.synth import PhantomSlab, PhantomSpec, render

PHANTOM_SHAPE = (8, 256, 256)


@pytest.fixture
def write_export(tmp_path: Path) -> Callable[..., Path]:
    """write_export(rows, name=..., columns=COLUMNS) -> the CSV path."""

    def write(rows: list[dict[str, Any]], name: str = "export.csv", columns=COLUMNS) -> Path:
        path = tmp_path / name
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        return path

    return write


@pytest.fixture(scope="session")
def phantom() -> PhantomSlab:
    """The small test phantom (8 x 256 x 256, seed 0): a nucleus cut by every plane."""
    slab = render(PhantomSpec.create(PHANTOM_SHAPE, seed=0))
    assert (slab.nuclei > 0).any(axis=(1, 2)).all()
    return slab
