"""Small helpers shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def em_stack(shape=(6, 64, 80), seed=0, dtype=np.uint8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)


def project_state(path: Path) -> tuple[list[str], list[str]]:
    """(volume names in the catalog, entries under data/) — to check nothing changed."""
    from emstudio.core.project import Project

    with Project.open(path, mode="read") as project:
        names = [v.name for v in project.catalog.volumes()]
    return names, sorted(p.name for p in (path / "data").iterdir())


def write_imagej_stack(path: Path, data: np.ndarray, voxel_nm=(40.0, 8.0, 8.0)) -> Path:
    """``data`` (z, y, x) as an ImageJ TIFF that records its voxel size (z, y, x nm)."""
    import tifffile

    z, y, x = voxel_nm
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / x, 1 / y),
        metadata={"spacing": z, "unit": "nm", "axes": "ZYX"},
    )
    return path
