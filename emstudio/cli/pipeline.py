"""The headless demo pipeline (what `make run` does without a display).

On the demo project, the whole main path, each step through the very `emstudio` command a user
would type: export -> re-import (round trip) -> slice reads along XY/XZ/YZ -> train a small
mitochondria model on 5 of the 32 XY slices of the ground truth -> predict -> segment instances
-> meshes -> measurements -> scores against the ground truth. Results stay in the project (open
it in the app to see them); meshes and the measurement table are also written beside it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import numpy as np

from emstudio.cli.progress import ProgressBar
from emstudio.core.io.export import export_volume
from emstudio.core.project import Project
from emstudio.core.project.catalog import free_name
from emstudio.core.project.importer import import_files
from emstudio.core.volume.store import Volume

TRAINING = ("--slices", "z:2,8,14,20,26", "--size", "small", "--epochs", "8",
            "--iterations", "30", "--batch", "4", "--patch", "128")  # fmt: skip


class StepFailed(Exception):
    """A command of the pipeline exited with an error (it has printed why)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def run_headless_demo(path: Path) -> int:
    """Run every step on the demo project at ``path``; 0 when all worked."""
    start = time.monotonic()
    try:
        same = check_round_trip(path)
        run_analysis(path)
    except StepFailed as failed:
        return failed.code
    print(f"Done in {time.monotonic() - start:.0f} s. Open it in the app with: emstudio gui {path}")
    return 0 if same else 1


def check_round_trip(path: Path) -> bool:
    """Steps 1-4: export, re-import, compare, read slices."""
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
            begin = time.perf_counter()
            plane = again.plane(axis, again.shape[axis] // 2)
            ms = (time.perf_counter() - begin) * 1000
            print(f"4. {label} slice {plane.shape} read in {ms:.1f} ms")
    return same


def run_analysis(path: Path) -> None:
    """Steps 5-10: train, predict, segment, mesh, measure, score (new names on a re-run)."""
    project = str(path)
    names = fresh_names(path)
    beside = path.parent / names["folder"]
    beside.mkdir()
    command("5.", "train", project, "--image", "em", "--labels", "truth-classes",
            "--out", names["model"], "--classes", "mitochondria", "--boundary", "mitochondria",
            "--instances", "truth-mito-instances", *TRAINING)  # fmt: skip
    command("6.", "predict", project, "--image", "em", "--model", names["model"],
            "--out", names["prediction"])  # fmt: skip
    command("7.", "segment", project, "--prediction", names["prediction"],
            "--out", names["objects"])  # fmt: skip
    command("8.", "mesh", project, "--segmentation", names["objects"],
            "--out", str(beside / "meshes"), "--format", "stl")  # fmt: skip
    command("9.", "measure", project, "--segmentation", names["objects"], "--image", "em",
            "--out", str(beside / "mitochondria.csv"))  # fmt: skip
    semantic = scores("semantic", project, f"{names['prediction']}-mitochondria", "truth-classes")
    instance = scores("instance", project, names["objects"], "truth-mito-instances")
    (mito,) = semantic["classes"].values()  # the one class compared: mitochondria
    print(
        f"10. against the ground truth (all 32 slices; 5 were trained on): mitochondria Dice "
        f"{mito['dice']:.3f}, average Hausdorff {mito['average_hausdorff_nm']:.0f} nm; "
        f"objects {instance['n_pred']} found of {instance['n_truth']}, "
        f"AP-50 {instance['ap50']:.2f}, AP-75 {instance['ap75']:.2f}"
    )


def fresh_names(path: Path) -> dict[str, str]:
    """Names of this run's model, prediction set, segmentation and folder, free in the project
    (a second `make run` adds a second set instead of failing)."""
    with Project.open(path, mode="read") as project:
        catalog = project.catalog

        def prediction_taken(name: str) -> bool:
            return any(catalog.has_volume_name(f"{name}-{o}") for o in ("mitochondria", "boundary"))

        model = free_name(catalog.has_model_name, "demo-mito-model")
        prediction = free_name(prediction_taken, "demo-pred")
        objects = free_name(catalog.has_volume_name, "demo-mito-objects")
    folder = free_name(lambda n: (path.parent / n).exists(), f"{path.stem}-results")
    return {"model": model, "prediction": prediction, "objects": objects, "folder": folder}


def command(step: str, *argv: str) -> None:
    """Run one `emstudio` command here; print its summary line and time after the step number."""
    begin = time.monotonic()
    out = _run(argv)
    summary = out.strip().splitlines()[-1] if out.strip() else "done"
    print(f"{step} emstudio {argv[0]}: {summary} ({time.monotonic() - begin:.0f} s)")


def scores(kind: str, project: str, pred: str, truth: str) -> dict:
    """`emstudio evaluate --json` of ``pred`` against ``truth``."""
    argv = ("evaluate", "--project", project, "--pred", pred, "--truth", truth, "--kind", kind)
    return json.loads(_run((*argv, "--json")))


def _run(argv: tuple[str, ...]) -> str:
    """The standard output of `emstudio ARGV` run in this process; StepFailed if it failed."""
    from emstudio.cli.main import main  # the entry point imports every command (and this module)

    captured = StringIO()
    with redirect_stdout(captured):
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse refusing the arguments
            code = exit_.code if isinstance(exit_.code, int) else 2
    if code:
        print(captured.getvalue(), end="")
        print(f"The demo pipeline stopped: `emstudio {argv[0]}` exited with {code}.")
        raise StepFailed(code)
    return captured.getvalue()
