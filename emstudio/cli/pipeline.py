"""The headless demo pipeline (what `make run` does without a display).

Today the pipeline is the foundation's main path: demo project -> export -> re-import (round
trip) -> slice reads along XY/XZ/YZ -> summary. Later stages (train, predict, segment, mesh,
measure) append themselves here as they land.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emstudio.cli.progress import ProgressBar
from emstudio.core.io.export import export_volume
from emstudio.core.project import Project
from emstudio.core.project.catalog import free_name
from emstudio.core.project.importer import import_files
from emstudio.core.volume.store import Volume


def run_headless_demo(path: Path) -> int:
    bar = ProgressBar(sys.stderr)
    with Project.open(path) as project:
        image = project.catalog.volumes("image")[0]
        volume = Volume(project.resolve(image.path))
        print(
            f"1. demo image {image.name!r}: {image.shape} {image.dtype}, "
            f"voxel {image.voxel_size.describe()}"
        )
        with tempfile.TemporaryDirectory(prefix="emstudio-demo-") as tmp:
            tif = export_volume(volume, Path(tmp) / "demo.tif", bar.as_progress())
            print(f"2. exported to a TIFF stack ({tif.stat().st_size / 2**20:.1f} MiB)")
            name = free_name(project.catalog.has_volume_name, "em-roundtrip")
            record = import_files(project, [tif], name=name, progress=bar.as_progress(), log=print)
        again = Volume(project.resolve(record.path))
        same = all(
            np.array_equal(a, b)
            for (_, a), (_, b) in zip(volume.iter_slabs(), again.iter_slabs(), strict=True)
        )
        print(
            f"3. re-imported as {name!r}: values identical: {same}, voxel size kept: "
            f"{record.voxel_size.zyx == image.voxel_size.zyx}"
        )
        for axis, label in enumerate(("XY", "XZ", "YZ")):
            start = time.perf_counter()
            plane = again.plane(axis, again.shape[axis] // 2)
            ms = (time.perf_counter() - start) * 1000
            print(f"4. {label} slice {plane.shape} read in {ms:.1f} ms")
        print(f"Done. Open it in the app with: emstudio gui {project.path}")
        return 0 if same else 1
