"""The ``emstudio`` command starts without the heavy libraries: each command (and each worker
process a job starts, which imports the command's module again) loads only what it uses."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "trimesh", "zarr", "scipy", "skimage", "tifffile", "h5py", "vtk", "PySide6")


def test_the_command_line_imports_no_heavy_library():
    probe = (
        f"import sys, emstudio.cli.main; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_every_job_kind_still_resolves_to_its_task():
    from emstudio.jobs.tasks import TASKS, task

    assert all(callable(task(kind)) for kind in TASKS)
