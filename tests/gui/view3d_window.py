"""Run the 3D view in a real window (under Xvfb) and save what it shows.

``python view3d_window.py OUT.png`` draws a sphere and a box; ``--demo PROJECT`` draws the
project's ``truth-mito-instances`` meshes over the ``em`` orthoslices (the docs screenshot);
``--workspace PROJECT`` opens the project in the main window and saves its docked 3D view
(the project has a mesh set). Exits 0 when the picture shows the objects and the process shut
down cleanly.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def demo_scene(project_path: str):
    from emstudio.core.measure.table import Inputs, measure_objects
    from emstudio.core.mesh.build import mesh_objects
    from emstudio.core.project import Project
    from emstudio.core.volume.store import Volume

    with Project.open(project_path, mode="read") as project:
        seg = Volume(project.resolve(project.catalog.volume("truth-mito-instances").path))
        image = Volume(project.resolve(project.catalog.volume("em").path))
        labels = seg.read(0, seg.shape[0])
        meshes = {i: (m.vertices, m.faces) for i, m, _ in mesh_objects(labels, seg.voxel_size.zyx)}
        rows = measure_objects(Inputs(labels, seg.voxel_size.zyx, "mitochondria"))
        planes = {a: {} for a in range(3)}

        def plane(axis: int, index: int) -> np.ndarray:
            if index not in planes[axis]:
                planes[axis][index] = image.plane(axis, index)
            return planes[axis][index]

        for axis in range(3):
            plane(axis, image.shape[axis] // 2)
        return meshes, rows, plane, image.shape, image.voxel_size.zyx


def simple_scene():
    from emstudio.core.mesh.surface import mesh_mask

    mask = np.zeros((20, 60, 60), bool)
    z, y, x = np.indices(mask.shape)
    mask[((z - 10) * 4) ** 2 + (y - 30) ** 2 + (x - 20) ** 2 <= 15**2] = True
    box = np.zeros_like(mask)
    box[5:15, 20:40, 40:55] = True
    meshes = {}
    for object_id, part in ((1, mask), (2, box)):
        mesh = mesh_mask(part, (0, 0, 0), (40.0, 10.0, 10.0))
        meshes[object_id] = (mesh.vertices, mesh.faces)
    rows = [{"id": 1, "volume_um3": 0.5}, {"id": 2, "volume_um3": 1.5}]
    return meshes, rows, None, None, None


def docked_view(app, project: str):
    """The main window showing ``project``, and its 3D view once the meshes are drawn."""
    import tempfile
    import time

    from PySide6.QtCore import QSettings

    from emstudio.gui.main_window import MainWindow

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    window = MainWindow(remember_geometry=False)
    window.resize(1400, 880)
    window.show()
    window.open_project(project)
    results = window.workbench.results
    results.view_dock.show()  # the 3D view is built when first shown (behind Contrast here)
    results.view_dock.raise_()
    end = time.monotonic() + 60
    while time.monotonic() < end and not (
        results.view_panel.view and results.view_panel.view.scene.actors
    ):
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()
    return window, results.view_panel.view


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--demo")
    parser.add_argument("--workspace")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from emstudio.gui.view3d import BACKGROUND, View3D

    app = QApplication(sys.argv[:1])
    if args.workspace:
        window, view = docked_view(app, args.workspace)
        view.save_screenshot(args.out)
        drawn = drawn_fraction(args.out, BACKGROUND)
        print(f"drawn fraction {drawn:.3f}, {len(view.scene.actors)} objects")
        window.close()
        app.quit()
        return 0 if drawn > 0.02 else 3
    meshes, rows, plane, shape, voxel = demo_scene(args.demo) if args.demo else simple_scene()
    view = View3D()
    view.resize(900, 640)
    view.show()
    app.processEvents()
    view.set_meshes(meshes, {i: "mitochondria" for i in meshes})
    view.set_measurements(rows)
    view.colour_by("volume_um3")
    if plane is not None:
        view.set_image(plane, shape, voxel)
        view.set_cursor([s // 2 for s in shape])
        camera = view.scene.renderer.GetActiveCamera()
        camera.Elevation(-55)
        camera.Azimuth(25)
        view.scene.reset_camera()
        camera.Zoom(1.3)
    for _ in range(5):
        app.processEvents()
    view.save_screenshot(args.out)
    drawn = drawn_fraction(args.out, BACKGROUND)
    print(f"drawn fraction {drawn:.3f}")
    view.close()
    app.quit()
    return 0 if drawn > 0.02 else 3


def drawn_fraction(path: str, background) -> float:
    """The fraction of a PNG's pixels that differ from the background colour."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOImage import vtkPNGReader

    reader = vtkPNGReader()
    reader.SetFileName(path)
    reader.Update()
    pixels = vtk_to_numpy(reader.GetOutput().GetPointData().GetScalars())
    colour = np.round(np.array(background) * 255)
    return float((np.abs(pixels[:, :3].astype(int) - colour).sum(1) > 30).mean())


if __name__ == "__main__":
    sys.exit(main())
