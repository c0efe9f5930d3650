"""Slice viewer figures (issue: main window). Offscreen; prints a table.

1. Creates a project with a 512 x 2048 x 2048 uint8 image (~2 GiB, EM-like texture) in a
   temporary folder (removed at the end), unless --project names an existing one.
2. Launch: a fresh GUI process (offscreen) from process creation to the main window shown, and
   to the three views drawn on that project; checks that torch was never imported.
3. Slice change to redrawn image, per view (XY, XZ, YZ) at 1:1 zoom (one voxel per screen
   pixel), in the real main window (3-view layout, 1440 x 900):
   - scroll: one slice at a time, a step every --interval-ms (a wheel turned briskly), so the
     reader thread's prefetching is part of what is measured;
   - jump: to a random slice far away (nothing cached: a plane read plus drawing).
   The time runs from the ViewState change to the end of a synchronous repaint of the view.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.volumes import add_volume
from emstudio.core.volume.store import VolumeWriter

SHAPE = (512, 2048, 2048)
WINDOW = (1440, 900)
TARGET_MS = {"XY": 16.0, "XZ": 33.0, "YZ": 33.0}

LAUNCH_CHILD = r"""
import json, sys, time
import psutil
created = psutil.Process().create_time()
from PySide6.QtWidgets import QApplication
from emstudio.gui.app import configure_application
from emstudio.gui.main_window import MainWindow
app = QApplication(sys.argv[:1])
configure_application(app)
window = MainWindow(remember_geometry=False)
window.resize(1440, 900)
window.show()
app.processEvents()
shown = time.time() - created
window.open_project(sys.argv[1])
while not window.project_page.settled:
    app.processEvents()
drawn = time.time() - created
print(json.dumps({"shown": shown, "drawn": drawn, "torch": "torch" in sys.modules}))
window.close()
"""


def make_project(folder: Path, shape: tuple[int, int, int]) -> Path:
    """A project with one EM-like uint8 image (smooth blobs plus noise, varying along z)."""
    path = folder / "bench.emproj"
    voxel = VoxelSize(40, 10, 10, known=True)
    rng = np.random.default_rng(0)
    tiles = rng.integers(60, 200, size=(8, shape[1], shape[2]), dtype=np.uint8)
    record = VolumeRecord(
        id=uuid.uuid4().hex,
        name="em",
        kind="image",
        path="",
        shape=shape,
        dtype="uint8",
        voxel_size=voxel,
        chunks=(0, 0, 0),
        levels=0,
        source="benchmark",
    )

    def write(staging: Path) -> None:
        with VolumeWriter(staging, shape, "uint8", voxel, "image", "em") as writer:
            for z0 in range(0, shape[0], writer.slab_planes):
                n = min(writer.slab_planes, shape[0] - z0)
                writer.write_slab(z0, np.stack([tiles[(z0 + i) % 8] for i in range(n)]))
            writer.finalize({})
            record.chunks, record.levels = tuple(writer.chunks), len(writer.arrays)

    with Project.create(path) as project:
        add_volume(project, write, record)
    return path


def launch_figures(project: Path, runs: int) -> list[dict]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", LAUNCH_CHILD, str(project)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def slice_figures(project: Path, steps: int, interval_ms: float, jumps: int) -> dict:
    """{view title: {"scroll": [ms...], "jump": [ms...]}} measured in a main window."""
    from PySide6.QtWidgets import QApplication

    from emstudio.gui.app import configure_application
    from emstudio.gui.main_window import MainWindow
    from emstudio.gui.viewstate import AXIS_TITLES

    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure_application(app)
    window = MainWindow(remember_geometry=False)
    window.resize(*WINDOW)
    window.show()
    window.open_project(project)
    page = window.project_page
    state = page.state
    page.viewer.actual_size()
    _wait(app, lambda: page.settled)
    rng = np.random.default_rng(1)
    figures: dict[str, dict[str, list[float]]] = {}
    for axis, title in enumerate(AXIS_TITLES):
        view = page.viewer.views[axis]
        size = state.shape[axis]
        start = int(rng.integers(size // 4, size // 2))
        state.set_slice(axis, start)
        _wait(app, lambda v=view: v.settled)
        _idle(app, 300)  # let the reader prefetch around the start, as after any pause
        scroll = [_change(app, view, axis, start + 1 + i, interval_ms) for i in range(steps)]
        jump = []
        for _ in range(jumps):
            target = int(rng.integers(0, size))
            while abs(target - state.cursor[axis]) < 64:
                target = int(rng.integers(0, size))
            jump.append(_change(app, view, axis, target, 200))
        figures[title] = {"scroll": scroll, "jump": jump}
    window.close()
    window.deleteLater()
    app.processEvents()
    return figures


def _change(app, view, axis: int, index: int, pause_ms: float) -> float:
    """ms from moving the slice to the repainted view; then idle for ``pause_ms``."""
    state = view.state
    started = time.perf_counter()
    state.set_slice(axis, index)
    _wait(app, lambda: view.settled)
    view.canvas.widget.viewport().repaint()
    elapsed = (time.perf_counter() - started) * 1000
    _idle(app, pause_ms)
    return elapsed


def _wait(app, condition, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the view did not draw in time")
        app.processEvents()
        time.sleep(0.0005)


def _idle(app, ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="reuse a project (first image is measured)")
    parser.add_argument("--steps", type=int, default=80, help="scroll steps per view")
    parser.add_argument("--interval-ms", type=float, default=40.0, help="time between steps")
    parser.add_argument("--jumps", type=int, default=12, help="random far jumps per view")
    parser.add_argument("--launches", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    try:
        project = args.project
        if project is None:
            started = time.perf_counter()
            project = make_project(folder, SHAPE)
            print(
                f"created {' x '.join(map(str, SHAPE))} uint8 image in "
                f"{time.perf_counter() - started:.1f} s ({project})"
            )
        launches = launch_figures(project, args.launches)
        figures = slice_figures(project, args.steps, args.interval_ms, args.jumps)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nLaunch (fresh process, offscreen, {args.launches} runs):")
    shown = [r["shown"] for r in launches]
    drawn = [r["drawn"] for r in launches]
    print(
        f"  window shown        median {np.median(shown):.2f} s   max {max(shown):.2f} s"
        "   (target < 2 s)"
    )
    print(f"  3 views drawn       median {np.median(drawn):.2f} s   max {max(drawn):.2f} s")
    print(f"  torch imported:     {any(r['torch'] for r in launches)}")
    print(
        f"\nSlice change -> redrawn image at 1:1 zoom, window {WINDOW[0]} x {WINDOW[1]} "
        f"(scroll: a step every {args.interval_ms:g} ms; jump: random far slice)"
    )
    print(
        f"  {'view':<5}{'scroll median':>15}{'p95':>9}{'jump median':>14}{'p95':>9}"
        f"{'target p95':>12}"
    )
    for title, data in figures.items():
        scroll, jump = np.array(data["scroll"]), np.array(data["jump"])
        verdict = "met" if np.percentile(scroll, 95) < TARGET_MS[title] else "NOT met"
        print(
            f"  {title:<5}{np.median(scroll):>12.1f} ms{np.percentile(scroll, 95):>6.1f} ms"
            f"{np.median(jump):>11.1f} ms{np.percentile(jump, 95):>6.1f} ms"
            f"{TARGET_MS[title]:>9.0f} ms  {verdict}"
        )


if __name__ == "__main__":
    main()
