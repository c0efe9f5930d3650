"""The 3D view: offscreen it draws nothing but must not crash; pixels are checked with a pure
VTK offscreen render window and in a real window under Xvfb; views close cleanly at exit."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import trimesh
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkRenderingCore import vtkRenderWindow, vtkWindowToImageFilter

from emstudio.core.mesh.build import MeshedObject
from emstudio.core.mesh.export import write_meshes
from emstudio.core.mesh.surface import describe, mesh_mask
from emstudio.gui.scale_bar import TARGET_PX, length_text, nm_per_pixel, round_length
from emstudio.gui.surfaces import display_surfaces
from emstudio.gui.view3d import BACKGROUND, Scene3D, View3D, id_colour

VOXEL = (40.0, 10.0, 10.0)
SCRIPT = Path(__file__).with_name("view3d_window.py")


def meshes() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    z, y, x = np.indices((20, 60, 60))
    ball = ((z - 10) * 4) ** 2 + (y - 30) ** 2 + (x - 30) ** 2 <= 20**2
    box = np.zeros_like(ball)
    box[2:6, 2:10, 2:10] = True
    out = {}
    for object_id, mask in ((3, ball), (8, box)):
        mesh = mesh_mask(mask, (0, 0, 0), VOXEL)
        out[object_id] = (mesh.vertices, mesh.faces)
    return out


def plane(axis: int, index: int) -> np.ndarray:
    shape = [(60, 60), (20, 60), (20, 60)][axis]
    return np.full(shape, 128, np.uint8)


@pytest.fixture
def view(qtbot):
    view = View3D()
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.close()
    view.deleteLater()


def test_offscreen_view_does_everything_without_crashing(view, tmp_path):
    picked = []
    view.object_picked.connect(picked.append)
    view.set_meshes(meshes(), {3: "mitochondria", 8: "vesicle"})
    view.set_measurements(
        [{"id": 3, "volume_um3": 1.0, "class": "m"}, {"id": 8, "volume_um3": 2.0, "class": "v"}]
    )
    assert [view.colour_box.itemText(i) for i in range(view.colour_box.count())] == [
        "Object id",
        "volume_um3",
    ]
    view.colour_by("volume_um3")
    assert view.scene.scalar_bar.GetVisibility() and view.scene.colour_column == "volume_um3"
    view.colour_by(None)
    assert not view.scene.scalar_bar.GetVisibility()
    view.set_image(plane, (20, 60, 60), VOXEL)
    view.set_cursor((10, 30, 30))
    assert all(a.GetVisibility() for a in view.scene.slices)
    view.select_object(8)
    assert view.scene.actors[8].GetProperty().GetColor() == pytest.approx((1.0, 0.95, 0.2))
    # the others fade, so the selection stands out even where viridis gives yellow too
    assert view.scene.actors[3].GetProperty().GetOpacity() < 0.5
    assert view.scene.actors[8].GetProperty().GetOpacity() == 1.0
    view.select_object(None)
    assert view.scene.actors[3].GetProperty().GetOpacity() == 1.0
    view.select_object(8)
    view.set_class_visible("vesicle", False)
    assert not view.scene.actors[8].GetVisibility() and view.scene.actors[3].GetVisibility()
    view.reset_camera()
    assert view.save_screenshot(tmp_path / "shot.png") is None  # offscreen Qt: nothing drawn
    assert picked == []  # selecting from outside emits nothing


def test_changes_made_together_share_one_render(view, qtbot, monkeypatch):
    renders = []
    monkeypatch.setattr(view, "render_now", lambda: renders.append(1))
    view.set_meshes(meshes())  # what new results do: meshes, colours, the selection
    view.set_measurements([{"id": 3, "volume_um3": 1.0}, {"id": 8, "volume_um3": 2.0}])
    view.select_object(3)
    assert renders == []  # not yet: each used to render at once (~0.3 s each in software GL)
    qtbot.waitUntil(lambda: renders == [1])
    qtbot.wait(50)
    view.select_object(8)
    qtbot.waitUntil(lambda: renders == [1, 1])


def test_says_when_a_large_mesh_set_is_drawn_simplified(view):
    full = meshes()
    view.set_meshes(full)
    assert not view.thinned_label.isVisibleTo(view)
    total = sum(len(f) for _, f in full.values())
    view.set_surfaces(display_surfaces(full, budget=total // 2))
    assert view.thinned_label.isVisibleTo(view)
    assert view.thinned_label.text().endswith(f"of {total:,} triangles")


def test_loads_a_mesh_set_folder(view, tmp_path):
    parts = []
    for i, (v, f) in meshes().items():
        mesh = trimesh.Trimesh(v, f)
        parts.append(MeshedObject(i, mesh, describe(mesh)))
    write_meshes(parts, tmp_path, "glb", True, {})
    view.load_mesh_set(tmp_path, {3: "mitochondria", 8: "vesicle"})
    assert sorted(view.scene.actors) == [3, 8]
    assert [a.text() for a in view.class_button.menu().actions()] == ["mitochondria", "vesicle"]


def test_close_protocol(qapp, qtbot):
    first, second = View3D(), View3D()
    for view in (first, second):
        view.show()
        qtbot.waitExposed(view)
    first.set_meshes(meshes())
    first.close()
    assert first.closed and first.vtk.finalized
    first.refresh()  # a no-op now
    first.close_view()  # twice is fine
    qapp.aboutToQuit.emit()  # what the app does at exit: every open view closes
    assert second.closed and second.vtk.finalized
    assert View3D.open_views() == []
    for view in (first, second):
        view.hide()
        view.deleteLater()


def render_offscreen(scene: Scene3D, size=(200, 200)) -> tuple[vtkRenderWindow, np.ndarray]:
    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(*size)
    window.AddRenderer(scene.renderer)
    scene.reset_camera()
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.Update()
    image = grab.GetOutput()
    width, height, _ = image.GetDimensions()
    pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width, -1)
    return window, pixels[..., :3].astype(int)


def test_pixels_and_picking_in_a_pure_vtk_offscreen_window(monkeypatch):
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    scene = Scene3D()
    ball = {3: meshes()[3]}
    scene.set_meshes(ball)
    window, pixels = render_offscreen(scene)
    try:
        centre = pixels[100, 100]
        background = np.round(np.array(BACKGROUND) * 255)
        assert np.abs(pixels[2, 2] - background).sum() <= 3
        assert np.abs(centre - background).sum() > 60  # the object is drawn
        hue = np.array(id_colour(3))
        assert np.corrcoef(centre, hue)[0, 1] > 0.8  # in its id colour (shaded)
        assert scene.pick(100, 100) == 3 and scene.pick(2, 2) is None
        scene.colour_by({3: 5.0}, "volume")
        window.Render()
        assert scene.scalar_bar.GetVisibility()
    finally:
        window.Finalize()


def test_a_screenshot_is_drawn_again_larger_than_the_window(monkeypatch, tmp_path):
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    scene = Scene3D()
    scene.set_meshes({3: meshes()[3]})
    window, _ = render_offscreen(scene, size=(160, 120))
    bar = scene.scale_bar.length_nm
    try:
        shot = scene.screenshot(window, tmp_path / "shot.png", scale=3)
    finally:
        window.Finalize()
    assert scene.scale_bar.length_nm == bar > 0  # as on the screen, drawn larger
    (x0, _, _), (x1, _, _) = (scene.scale_bar.points.GetPoint(i) for i in (0, 1))
    assert x1 - x0 == pytest.approx(scene.scale_bar.pixels)  # back to the screen's size
    pixels = np.asarray(PIL.Image.open(shot))
    assert pixels.shape[:2] == (360, 480)
    background = np.round(np.array(BACKGROUND) * 255)
    drawn = np.abs(pixels[..., :3].astype(int) - background).sum(axis=-1) > 30
    assert 0.05 < drawn.mean() < 0.9  # the ball, drawn across the large picture


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_real_window_under_xvfb_draws_and_exits_cleanly(tmp_path):
    out = tmp_path / "view3d.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    proc = subprocess.run(
        ["xvfb-run", "-a", sys.executable, str(SCRIPT), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.is_file() and "drawn fraction" in proc.stdout


def test_the_camera_looks_down_the_stack_as_the_xy_view_does(view):
    view.set_meshes(meshes())
    camera = view.scene.renderer.GetActiveCamera()
    assert camera.GetViewUp() == pytest.approx((0.0, -1.0, 0.0))  # y down, as in the XY view
    assert camera.GetDirectionOfProjection() == pytest.approx((0.0, 0.0, 1.0))  # x right


def test_the_scale_bar_is_a_round_length_true_at_the_focal_depth(monkeypatch):
    assert [round_length(v) for v in (0.0, 7.0, 12.0, 380.0, 4999.0)] == [0, 5, 10, 200, 2000]
    assert [length_text(v) for v in (200.0, 1000.0, 50000.0)] == ["200 nm", "1 µm", "50 µm"]
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    scene = Scene3D()
    scene.set_meshes(meshes())
    window, _ = render_offscreen(scene, size=(200, 200))
    try:
        per_px = nm_per_pixel(scene.renderer)
        camera = scene.renderer.GetActiveCamera()
        half_view = camera.GetDistance() * math.tan(math.radians(camera.GetViewAngle() / 2))
        assert per_px == pytest.approx(2 * half_view / 200)
        bar = scene.scale_bar
        assert bar.length_nm == round_length(per_px * TARGET_PX) and bar.label.GetInput()
        (x0, _, _), (x1, _, _) = bar.points.GetPoint(0), bar.points.GetPoint(1)
        assert x1 - x0 == pytest.approx(bar.length_nm / per_px)
        camera.Dolly(4.0)  # four times closer: a pixel spans a quarter, the bar follows
        window.Render()
        assert nm_per_pixel(scene.renderer) == pytest.approx(per_px / 4)
        assert (
            bar.length_nm == round_length(per_px / 4 * TARGET_PX) < round_length(per_px * TARGET_PX)
        )
    finally:
        window.Finalize()
