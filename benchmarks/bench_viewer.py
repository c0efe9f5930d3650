"""Slice viewer figures (issue: main window). Offscreen; prints a table.

1. Creates a project with a 512 x 2048 x 2048 uint8 image (~2 GiB, EM-like texture) in a
   temporary folder (removed at the end), unless --project names an existing one.
2. Launch: a fresh GUI process (offscreen) from process creation to the main window shown, and
   to the three views drawn on that project; checks that torch was never imported.
3. Slice change to redrawn image, per view (XY, XZ, YZ) at 1:1 zoom (one voxel per screen
   pixel), in the real main window (3-view layout, 1440 x 900):
   - scroll: one slice at a time, a step every --interval-ms (a wheel turned briskly), so the
     reader thread's prefetching is part of what is measured;
   - jump: to a random slice far away (never seen: a plane read plus drawing).
   Two times per change, both from the ViewState change to the end of a synchronous repaint
   of the view: "first image" (the new slice on screen, the overview's coarser plane while
   the full plane is read) and "full resolution" (the level-0 plane on screen); and the GUI
   thread's CPU time for the first image (on a busy machine the wall times include waiting
   for a core; the CPU time is the work done).
4. Painting and overlays on a 2048 x 2048 plane: a flood fill of the whole plane (computed in
   a worker thread, applied on the GUI thread) and its undo; the instance colours of a plane
   (computed in the plane reader's colouring thread, ``gui/instance_colours.py``, whenever a
   new instance plane is shown; the GUI thread only draws the result).
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
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from _common import add_cyclic_image, median_p95

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project

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
    with Project.create(path) as project:
        add_cyclic_image(project, tiles, shape[0], voxel, "benchmark")
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
    """{view title: {"scroll": [(first, full, cpu) ms...], "jump": [...]}} in a window."""
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
    _idle(app, 1000)  # the overviews are read after the first planes
    rng = np.random.default_rng(1)
    figures: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
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


def _change(app, view, axis: int, index: int, pause_ms: float) -> tuple[float, float, float]:
    """ms from moving the slice to the repainted view showing the new slice (first image,
    full resolution), and the GUI thread's CPU ms for the first image (the work itself, which
    other processes on the machine cannot inflate); then idle for ``pause_ms``."""
    state = view.state
    started, cpu = time.perf_counter(), time.thread_time()
    state.set_slice(axis, index)
    times = []
    for ready in (lambda: view.drawn, lambda: view.settled):
        _wait(app, ready)
        view.canvas.widget.viewport().repaint()
        times.append((time.perf_counter() - started) * 1000)
        if len(times) == 1:
            cpu = (time.thread_time() - cpu) * 1000
    _idle(app, pause_ms)
    return times[0], times[1], cpu


def paint_figures(folder: Path, runs: int = 5) -> dict[str, list[float]]:
    """ms of the painting work on a 2048 x 2048 plane (see the module docstring, 4.)."""
    from emstudio.core.project.labels import create_label_set
    from emstudio.gui import colors
    from emstudio.gui.label_editor import LabelEditor
    from emstudio.gui.layers import LayerSet
    from emstudio.gui.viewstate import ViewState

    (folder / "paint").mkdir()
    path = make_project(folder / "paint", (32, *SHAPE[1:]))
    with Project.open(path) as project:
        create_label_set(project, project.catalog.volume("em"), "labels")
        layers = LayerSet(ViewState())
        layers.open(project)
        layers.assign("labels", "labels")
        editor = LabelEditor(layers.layer("labels"))
    figures: dict[str, list[float]] = {"fill": [], "apply": [], "undo": [], "instances": []}
    plane = np.zeros(SHAPE[1:], np.uint8)
    for z in range(runs):
        started = time.perf_counter()
        fill = editor.fill_changes(0, z, (0, 0), plane, 1)
        figures["fill"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        editor.apply_fill(fill)
        figures["apply"].append((time.perf_counter() - started) * 1000)
    for _ in range(runs):
        started = time.perf_counter()
        editor.undo()
        figures["undo"].append((time.perf_counter() - started) * 1000)
    cells = np.random.default_rng(2).integers(0, 5000, (64, 64)).astype(np.uint32)
    ids = np.repeat(np.repeat(cells, SHAPE[1] // 64, 0), SHAPE[2] // 64, 1)  # 32-voxel cells
    for _ in range(runs):
        started = time.perf_counter()
        colors.instance_indices(ids, outlines=True)
        figures["instances"].append((time.perf_counter() - started) * 1000)
    return figures


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
        painting = paint_figures(folder)
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
        f"\nSlice change -> redrawn view at 1:1 zoom, window {WINDOW[0]} x {WINDOW[1]} "
        f"(scroll: {args.steps} steps, one every {args.interval_ms:g} ms; jump: "
        f"{args.jumps} random far slices). median / p95 in ms:"
    )
    print(
        f"  {'view':<5}{'case':<8}{'first image':>16}{'full resolution':>20}{'GUI CPU':>16}"
        f"{'target p95':>12}"
    )
    print("  (the target applies to the first image: what the user sees after a slice change)")
    for title, data in figures.items():
        for case in ("scroll", "jump"):
            first, full, cpu = np.array(data[case]).T
            verdict = "met" if np.percentile(first, 95) < TARGET_MS[title] else "NOT met"
            print(
                f"  {title:<5}{case:<8}{_stats(first):>16}{_stats(full):>20}{_stats(cpu):>16}"
                f"{TARGET_MS[title]:>9.0f} ms  {verdict}"
            )

    print(f"\nPainting and overlays on a {SHAPE[1]} x {SHAPE[2]} plane, median / p95 in ms:")
    for name, title in (
        ("fill", "flood fill of the whole plane (worker thread)"),
        ("apply", "applying that fill (GUI thread)"),
        ("undo", "undoing it (GUI thread)"),
        ("instances", "instance colours with outlines (colouring thread)"),
    ):
        print(f"  {title:<48}{_stats(np.array(painting[name])):>16}")


def _stats(times: np.ndarray) -> str:
    median, p95 = median_p95(times)
    return f"{median:.1f} / {p95:.1f}"


if __name__ == "__main__":
    main()
