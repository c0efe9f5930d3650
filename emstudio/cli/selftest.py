"""`emstudio --self-test`: is this installation complete? (also inside the packaged app)

Imports everything, then runs a tiny import -> train -> predict -> segment -> mesh on a small
phantom — each step a real `emstudio` command in its own process, as jobs run — renders one 3D
frame offscreen, and prints a one-line summary. Exit 0 when every step worked, 1 otherwise
with the step and its reason. No GPU is not a failure: the summary says the CPU is used.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from emstudio import __version__
from emstudio.core.text import counted
from emstudio.jobs.launch import emstudio_command

MODULES = (
    "numpy",
    "scipy",
    "skimage",
    "zarr",
    "tifffile",
    "h5py",
    "mrcfile",
    "trimesh",
    "torch",
    "PySide6.QtWidgets",
    "pyqtgraph",
    "vtkmodules.vtkRenderingCore",
)
SHAPE = "16,96,96"


class StepFailed(Exception):
    """One step of the self-test did not work; the message says which and why."""


def device_summary() -> str:
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return f"CUDA GPU {props.name} ({props.total_memory / 2**30:.0f} GiB)"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "Apple GPU (MPS)"
    return "CPU (no GPU driver found: the CPU will be used)"


def check_imports() -> str:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any failure to import is the finding
            raise StepFailed(f"cannot import {name}: {exc!r}") from exc
    return f"{len(MODULES)} libraries"


def run_command(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(emstudio_command(*args), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise StepFailed(f"`emstudio {args[0]}` exited with {done.returncode}: {tail}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def pipeline_steps(work: Path) -> list[tuple[str, Callable[[], str]]]:
    project = str(work / "selftest.emproj")
    tif = str(work / "em.tif")
    return [
        ("imports", check_imports),
        ("device", device_summary),
        ("demo", lambda: run_command("demo", project, "--shape", SHAPE)),
        ("export", lambda: run_command("export", project, "em", "--out", tif)),
        ("import", lambda: run_command("import", project, tif, "--name", "em-imported")),
        (
            "train",
            lambda: (
                "3 steps, a check that training runs (its scores mean nothing): "
                + run_command(
                    "train",
                    project,
                    "--image",
                    "em-imported",
                    "--labels",
                    "truth-classes",
                    "--out",
                    "selftest-model",
                    "--classes",
                    "mitochondria",
                    "--boundary",
                    "mitochondria",
                    "--instances",
                    "truth-mito-instances",
                    "--size",
                    "small",
                    "--epochs",
                    "1",
                    "--iterations",
                    "3",
                    "--batch",
                    "2",
                    "--patch",
                    "64",
                )
            ),
        ),
        (
            "predict",
            lambda: run_command(
                "predict",
                project,
                "--image",
                "em-imported",
                "--model",
                "selftest-model",
                "--out",
                "selftest",
                "--axes",
                "xy",
            ),
        ),
        (
            "segment",
            lambda: run_command(
                "segment",
                project,
                "--prediction",
                "selftest",
                "--out",
                "selftest-objects",
                "--area-threshold",
                "0.0",
                "--boundary-threshold",
                "1.0",
                "--foreground-threshold",
                "0.0",
                "--min-size",
                "1",
            ),
        ),
        (
            "mesh",
            lambda: run_command(
                "mesh",
                project,
                "--segmentation",
                "selftest-objects",
                "--out",
                str(work / "meshes"),
                "--format",
                "stl",
            ),
        ),
        ("render", lambda: render_meshes(work / "meshes", work / "frame.png")),
    ]


def render_meshes(mesh_dir: Path, png: Path) -> str:
    from emstudio.gui.offscreen import render_mesh_files  # the one GUI piece a self-test needs

    try:
        drawn, count = render_mesh_files(sorted(mesh_dir.glob("*.stl")), png)
    except ValueError as exc:
        raise StepFailed(str(exc)) from exc
    return f"{counted(count, 'mesh', 'meshes')}, {drawn} pixels drawn"


def run_self_test(verbose: bool = True) -> int:
    start = time.monotonic()
    results: list[str] = []
    with tempfile.TemporaryDirectory(prefix="emstudio-selftest-") as tmp:
        for name, step in pipeline_steps(Path(tmp)):
            try:
                detail = step()
            except (StepFailed, subprocess.TimeoutExpired, OSError) as exc:
                print(
                    f"emstudio {__version__} self-test FAILED at '{name}': {exc}", file=sys.stderr
                )
                return 1
            results.append(name)
            if verbose:
                print(f"  ok  {name:<8} {detail}", file=sys.stderr)
            if name == "device":
                device = detail
    print(
        f"emstudio {__version__} self-test passed: {' -> '.join(results)} in "
        f"{time.monotonic() - start:.0f} s on {device}"
    )
    return 0
