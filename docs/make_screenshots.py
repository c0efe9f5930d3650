"""The user guide's screenshots, taken from the real app on the demo project.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py

(an X server, real or virtual, is needed for the 3D view to draw). Steps:
1. ``emstudio demo`` makes a demo project in a temporary folder, and the ``emstudio`` commands
   run the main path on it as the app's jobs do: train on the demo's ground-truth
   mitochondria, predict, segment, mesh, measure (the app shows these jobs in its Jobs panel);
2. the app opens on the project, and docs/screenshots/guide-*.png are saved: the start page,
   the guided tour, the workspace, painting, the dialog behind each tour step (through the same
   menu actions as the tour's buttons) and the results.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QApplication, QDialog, QDockWidget, QWidget

from emstudio.core.project.labels import create_label_set
from emstudio.core.volume.store import Volume
from emstudio.gui.app import configure_application
from emstudio.gui.main_window import MainWindow
from emstudio.gui.tour import show_tour
from emstudio.gui.tour_steps import STEPS, find_action
from emstudio.gui.view3d import View3D
from emstudio.jobs.launch import emstudio_command

SHOTS = Path(__file__).resolve().parent / "screenshots"
WINDOW_SIZE = (1400, 880)
MAX_WIDTH = 1100  # px; larger shots are scaled down (and kept under ~300 KB)
PIPELINE = (
    ("train", "--image", "em", "--labels", "truth-classes", "--out", "mito-model",
     "--classes", "mitochondria", "--boundary", "mitochondria",
     "--instances", "truth-mito-instances", "--size", "small", "--epochs", "4",
     "--iterations", "40", "--batch", "4", "--patch", "128"),
    ("predict", "--image", "em", "--model", "mito-model", "--out", "mito"),
    ("segment", "--prediction", "mito", "--out", "mito-objects", "--preset", "crick-mitoem",
     "--min-size", "200"),
    ("mesh", "--segmentation", "mito-objects", "--out", "{folder}/meshes",
     "--format", "stl"),
    ("measure", "--segmentation", "mito-objects", "--out", "{folder}/mito-objects.csv"),
)  # fmt: skip


def run_pipeline(project: Path) -> None:
    """The main path with the real commands (each one records its job in the project)."""
    subprocess.run(emstudio_command("demo", str(project)), check=True)
    for command, *args in PIPELINE:
        start = time.monotonic()
        filled = [a.format(folder=project.parent) for a in args]
        subprocess.run(emstudio_command(command, str(project), *filled), check=True)
        print(f"{command}: {time.monotonic() - start:.0f} s", file=sys.stderr)


def wait(ms: int) -> None:
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)


def save(pixmap: QPixmap, name: str) -> None:
    """Save as docs/screenshots/guide-NAME.png, scaled down and in 256 colours if large."""
    if pixmap.width() > MAX_WIDTH:
        pixmap = pixmap.scaledToWidth(MAX_WIDTH, Qt.TransformationMode.SmoothTransformation)
    image = pixmap.toImage()
    path = SHOTS / f"guide-{name}.png"
    image.save(str(path))
    if path.stat().st_size > 280_000:
        image.convertToFormat(QImage.Format.Format_Indexed8).save(str(path))
    print(f"{path.name}: {pixmap.width()}x{pixmap.height()}, {path.stat().st_size // 1024} KB")


def shoot(widget: QWidget, name: str) -> None:
    wait(300)
    save(widget.grab(), name)


def shoot_screen(window: QWidget, name: str) -> None:
    """What the screen shows where ``window`` is: with the windows over it, and with the 3D
    view's OpenGL pixels (which ``QWidget.grab`` does not see)."""
    wait(300)
    save(QApplication.primaryScreen().grabWindow(0, *window.frameGeometry().getRect()), name)


def dialogs_are_photographed(names: dict[str, str]) -> None:
    """Modal dialogs are shown, photographed as guide-<names[current]>.png, and cancelled."""

    def exec_(dialog: QDialog) -> int:
        dialog.show()
        wait(500)
        shoot(dialog, names["current"])
        dialog.reject()
        return QDialog.DialogCode.Rejected

    QDialog.exec = exec_  # type: ignore[method-assign]


def paint_mitochondria(window: MainWindow) -> None:
    """Brush strokes over every mitochondrion of the shown slice, in a new label set."""
    page = window.project_page
    record = window.project.catalog.volume("em")
    truth = window.project.catalog.volume("truth-mito-instances")
    classes = window.project.catalog.volume("truth-classes").attrs.get("classes") or {}
    mito = int(next(k for k, v in classes.items() if v == "mitochondria"))
    create_label_set(window.project, record, "my-labels", classes)
    page.refresh()
    page.show_volume(window.project.catalog.volume("my-labels"))
    wait(500)
    z = window.view_state.cursor[0]
    objects = Volume(window.project.resolve(truth.path)).read(z, z + 1)[0]
    window.view_state.set_paint(tool="brush", size=3, value=mito)
    for object_id in np.unique(objects[objects > 0]):
        rows, cols = np.nonzero(objects == object_id)
        for row in range(rows.min(), rows.max() + 1, 2):  # a person's back-and-forth strokes
            on_row = cols[rows == row]
            if on_row.size:
                page.labels.stroke(
                    0, z, [(row + 0.5, on_row.min() + 0.5), (row + 0.5, on_row.max() + 0.5)]
                )
    wait(800)


def run_step(window: MainWindow, key: str, names: dict[str, str]) -> bool:
    """Trigger a tour step's action; photograph the dialog it opens. False if not there."""
    step = next(s for s in STEPS if s.key == key)
    action = find_action(window, step)
    if action is None:
        print(f"{key}: no menu action in this version", file=sys.stderr)
        return False
    names["current"] = key
    before = set(window.findChildren(QDialog))
    action.trigger()  # a modal dialog is photographed inside (dialogs_are_photographed)
    for _ in range(30):  # a non-modal one (import) is looked for here
        wait(100)
        new = [d for d in set(window.findChildren(QDialog)) - before if d.isVisible()]
        if new:
            shoot(new[0], key)
            new[0].close()
            break
    return True


def show_overlays(window: MainWindow, *names: str) -> None:
    """Show exactly these volumes over the image (each goes to the slot of its kind)."""
    page = window.project_page
    for slot in ("labels", "instances", "probability"):
        page.layers.assign(slot, None)
    for name in names:
        page.show_volume(window.project.catalog.volume(name))
    wait(2500)


def shoot_training_job(dock: QDockWidget) -> None:
    """The Jobs panel, floated and enlarged, with the training job selected (its curve)."""
    dock.setFloating(True)
    dock.resize(1000, 460)
    table = dock.widget().table
    for row in range(table.rowCount()):
        if table.item(row, 1).text() == "train":
            table.selectRow(row)
    wait(1500)
    shoot(dock, "jobs")
    dock.setFloating(False)


def take_screenshots(project: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure_application(app)
    window = MainWindow(remember_geometry=False)
    window.resize(*WINDOW_SIZE)
    window.move(0, 0)
    window.show()
    shoot(window, "start-page")
    tour = show_tour(window)
    shoot_screen(window, "tour")
    tour.close()
    names: dict[str, str] = {"current": ""}
    dialogs_are_photographed(names)
    assert window.open_project(project)
    show_overlays(window, "truth-classes")
    shoot(window, "workspace")
    run_step(window, "import", names)
    paint_mitochondria(window)
    shoot(window, "paint")
    for key in ("train", "predict", "segment", "mesh", "measure"):
        run_step(window, key, names)
    show_overlays(window, "mito-mitochondria", "mito-objects")
    shoot(window, "results")
    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
    if "Jobs" in docks:
        shoot_training_job(docks["Jobs"])
    shown = [docks[t] for t in ("3D view", "Measurements") if t in docks]
    for dock in shown:  # tabbed with other docks: bring them to the front
        dock.show()
        dock.raise_()
    for view in View3D.open_views():  # redrawn: the floated Jobs panel was over it
        view.reset_camera()
    if shown:
        wait(3000)
        shoot_screen(window, "3d-and-measurements")
    window.project_page.labels.discard()
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="reuse this demo project (made once)")
    args = parser.parse_args()
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    with tempfile.TemporaryDirectory(prefix="emstudio-guide-") as tmp:
        project = args.project or Path(tmp) / "demo.emproj"
        if not project.exists():
            run_pipeline(project)
        SHOTS.mkdir(exist_ok=True)
        take_screenshots(project)
    return 0


if __name__ == "__main__":
    sys.exit(main())
