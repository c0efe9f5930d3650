"""Contrast (auto, manual, gamma, invert), overlays (toggle, opacity, threshold), readout."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from workspace_helpers import MOVE_GAP_MS, add_array, settle, view_point

from emstudio.core.project import Project
from emstudio.core.volume.store import Volume
from emstudio.gui.contrast_panel import histogram, percentile_range


def test_contrast_auto_manual_gamma_invert(open_window, demo_path, qtbot):
    window = open_window(demo_path)
    page = window.project_page
    panel = page.contrast_panel
    qtbot.waitUntil(lambda: panel.counts is not None, timeout=10_000)
    em = Volume(window.project.resolve(window.project.catalog.volume("em").path))
    expected = percentile_range(*histogram(em))
    contrast = page.state.contrast
    assert (contrast.low, contrast.high) == expected and 0 < contrast.low < contrast.high < 255
    image = page.viewer.views[0].canvas.image
    assert tuple(image.levels) == expected
    panel.low.setValue(40)
    panel.high.setValue(180)
    panel.low.editingFinished.emit()
    assert tuple(image.levels) == (40, 180) and panel.region.getRegion() == (40, 180)
    panel.gamma.setValue(0.5)
    assert image.lut[64] > 64  # gamma below 1 brightens the darks
    qtbot.mouseClick(panel.invert, Qt.MouseButton.LeftButton)
    assert image.lut[0] == 255 and image.lut[255] == 0
    qtbot.mouseClick(panel.auto_button, Qt.MouseButton.LeftButton)
    assert tuple(image.levels) == expected


def test_overlays_toggle_and_opacity(open_window, demo_path, qtbot):
    window = open_window(demo_path)
    page = window.project_page
    controls = page.layer_panel.slots["labels"]
    item = page.viewer.views[0].canvas.overlays["labels"]
    assert controls.isChecked() and item.isVisible()
    controls.setChecked(False)
    assert not item.isVisible() and not page.state.overlays["labels"].visible
    controls.setChecked(True)
    settle(qtbot, window)
    assert item.isVisible()
    controls.opacity.setValue(20)
    settle(qtbot, window)
    assert abs(item.opacity() - 0.2) < 1e-6
    instances = page.viewer.views[0].canvas.overlays["instances"]
    assert instances.isVisible()  # the newest overlay is shown too
    outlined = int((instances.image > 0).sum())
    page.layer_panel.slots["instances"].outlines.setChecked(False)
    settle(qtbot, window)
    assert int((instances.image > 0).sum()) > outlined  # filled objects


def test_hover_shows_position_value_class_and_instance(open_window, demo_path, qtbot):
    window = open_window(demo_path)
    page = window.project_page
    xy = page.viewer.views[0]
    z = page.state.cursor[0]
    with Project.open(demo_path, mode="read") as project:
        ids = Volume(project.resolve(project.catalog.volume("truth-mito-instances").path))
        plane = ids.plane(0, z)
        em = Volume(project.resolve(project.catalog.volume("em").path)).plane(0, z)
    row, col = (int(v) for v in np.argwhere(plane > 0)[0])
    page.state.set_camera((z * 40.0, row * 10.0 + 5, col * 10.0 + 5), zoom=2.5)  # 4 px a voxel
    qtbot.wait(MOVE_GAP_MS)
    qtbot.mouseMove(xy.canvas.widget.viewport(), view_point(xy, row + 0.5, col + 0.5).toPoint())
    text = window.readout.text()
    assert f"mouse z {z}, y {row}, x {col}" in text
    assert f"{z * 40:,}, {row * 10:,}, {col * 10:,} nm" in text
    assert f"value {em[row, col]}" in text
    assert f"instance {plane[row, col]}" in text and "mitochondria" in text


def test_probability_map_with_threshold(open_window, demo_path, qtbot):
    with Project.open(demo_path) as project:
        ramp = np.broadcast_to(np.arange(192, dtype=np.uint8)[None, None, :], (24, 160, 192))
        add_array(project, "p-mito", "prediction", np.ascontiguousarray(ramp))
    window = open_window(demo_path)
    page = window.project_page
    controls = page.layer_panel.slots["probability"]
    assert page.state.overlays["probability"].volume == "p-mito"  # the newest overlay
    assert controls.isChecked()
    item = page.viewer.views[0].canvas.overlays["probability"]
    settle(qtbot, window)
    assert item.isVisible() and item.lut[127, 3] == 0 and item.lut[128, 3] == 255
    controls.threshold.setValue(50)
    settle(qtbot, window)
    assert item.lut[49, 3] == 0 and item.lut[50, 3] == 255
    assert "20%" in controls.threshold_label.text()


def test_a_damaged_image_is_said_once_not_shown_black_in_silence(make_window, demo_path, qtbot):
    with Project.open(demo_path) as project:
        store = project.resolve(project.catalog.volume("em").path)
    for chunk in (p for p in store.rglob("*") if p.is_file() and not p.name.startswith(".")):
        chunk.write_bytes(chunk.read_bytes()[:10])  # a copy cut short: a full disk, a crash
    window = make_window()
    said: list[str] = []
    window.project_page.message.connect(said.append)
    assert window.open_project(demo_path)

    def boxes() -> list[QMessageBox]:
        return [b for b in window.findChildren(QMessageBox) if b.isVisible()]

    qtbot.waitUntil(lambda: bool(boxes()), timeout=20_000)
    qtbot.wait(500)  # the planes and the histogram both fail: one box
    assert len(boxes()) == 1 and "'em' cannot be read" in boxes()[0].text()
    assert any(m.startswith("Cannot read 'em'") for m in said)
    boxes()[0].close()
