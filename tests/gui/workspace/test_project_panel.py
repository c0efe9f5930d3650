"""The project browser: groups, show, rename, delete (confirmed), provenance, export."""

from __future__ import annotations

import numpy as np
import tifffile
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox
from volume_helpers import add_array
from workspace_helpers import settle

from emstudio.core.mesh.meshset import create_mesh_set
from emstudio.core.project import Project
from emstudio.core.volume.store import Volume
from emstudio.gui import volume_actions


def _trigger(panel, name: str, text: str) -> None:
    menu = panel.menu_for(panel.volume_item(name))
    action = next(a for a in menu.actions() if a.text() == text)
    action.trigger()
    menu.deleteLater()


def test_groups_list_every_kind(open_window, demo_path):
    window = open_window(demo_path)
    tree = window.project_page.panel.tree
    groups = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert groups == [
        "Images (1)",
        "Label sets (1)",
        "Predictions (0)",
        "Segmentations (1)",
        "Models (0)",
        "Meshes (0)",
    ]
    assert window.project_page.panel.volume_item("em").font(0).bold()  # shown in the views


def test_rename_updates_catalog_browser_and_views(open_window, demo_path, monkeypatch):
    window = open_window(demo_path)
    page = window.project_page
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("classes v2", True))
    _trigger(page.panel, "truth-classes", "Rename…")
    assert window.project.catalog.volume("classes v2").kind == "labels"
    assert page.panel.volume_item("classes v2") is not None
    assert page.panel.volume_item("truth-classes") is None
    assert page.state.overlays["labels"].volume == "classes v2"


def test_delete_asks_first_and_refuses_what_others_depend_on(
    open_window, demo_path, monkeypatch, errors, qtbot
):
    window = open_window(demo_path)
    page = window.project_page
    asked: list[str] = []
    answer = {"button": QMessageBox.StandardButton.No}

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return answer["button"]

    monkeypatch.setattr(QMessageBox, "question", question)
    store = window.project.resolve(window.project.catalog.volume("truth-classes").path)
    _trigger(page.panel, "truth-classes", "Delete…")
    assert "cannot be undone" in asked[0] and store.is_dir()  # "No": nothing happens
    answer["button"] = QMessageBox.StandardButton.Yes
    _trigger(page.panel, "truth-classes", "Delete…")
    assert not store.exists()
    assert "truth-classes" not in {v.name for v in window.project.catalog.volumes()}
    assert page.panel.volume_item("truth-classes") is None
    assert page.state.overlays["labels"].volume is None
    settle(qtbot, window)
    assert not page.viewer.views[0].canvas.overlays["labels"].isVisible()
    _trigger(page.panel, "em", "Delete…")  # the segmentation belongs to it
    assert errors and "truth-mito-instances" in errors[0][1]
    assert window.project.catalog.volume("em")


def test_a_segmentation_with_meshes_is_deleted_after_its_mesh_set(
    open_window, demo_path, monkeypatch, errors
):
    with Project.open(demo_path) as project:
        mesh_set = create_mesh_set(project, "truth-mito-instances")
        truth = project.catalog.volume("truth-mito-instances")
        other = np.zeros(truth.shape, np.uint32)
        add_array(project, "proofread", "segmentation", other, truth.voxel_size)
    window = open_window(demo_path)
    panel, catalog = window.project_page.panel, window.project.catalog
    window.project_page.layers.assign("instances", "truth-mito-instances")
    asked: list[str] = []

    def yes(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    _trigger(panel, "truth-mito-instances", "Delete…")
    assert asked == []  # refused before asking: no "Yes" that is then refused
    assert mesh_set.name in errors[0][1] and "Meshes group" in errors[0][1]
    folder = window.project.resolve(mesh_set.path)
    assert folder.is_dir()
    menu = panel.menu_for(panel._item("mesh", mesh_set.name))
    next(a for a in menu.actions() if a.text() == "Delete…").trigger()
    menu.deleteLater()
    assert "cannot be undone" in asked[0] and not folder.exists()
    assert not catalog.has_mesh_set_name(mesh_set.name)
    _trigger(panel, "truth-mito-instances", "Delete…")
    assert "truth-mito-instances" not in {v.name for v in catalog.volumes()}
    overlay = window.view_state.overlays["instances"]  # the other segmentation takes its place
    assert overlay.volume == "proofread" and overlay.visible


def test_provenance_and_export(open_window, demo_path, monkeypatch, errors, tmp_path, qtbot):
    window = open_window(demo_path)
    page = window.project_page
    shown: list[tuple[str, dict]] = []
    monkeypatch.setattr(volume_actions, "show_details", lambda p, t, d: shown.append((t, d)))
    _trigger(page.panel, "em", "Provenance…")
    assert shown[0][0] == "Provenance of em (image)" and shown[0][1]["operation"] == "demo"
    target = tmp_path / "out" / "em.tif"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    statuses: list[str] = []
    window.workbench.manager.job_status.connect(
        lambda job, status, message: statuses.append(status)
    )
    _trigger(page.panel, "em", "Export…")  # an export job of the queue, in the Jobs dock
    assert window.workbench.manager.active() and window.workbench.dock.isVisible()
    qtbot.waitUntil(lambda: "done" in statuses, timeout=60_000)
    em = Volume(window.project.resolve(window.project.catalog.volume("em").path))
    assert np.array_equal(tifffile.imread(target), em.read(0, em.shape[0]))
    _trigger(page.panel, "em", "Export…")  # the same file again: refused before any job
    assert errors and "already exists" in errors[0][1] and not window.workbench.manager.active()


def test_a_models_card_opens_from_the_browser(open_window, demo_path, qtbot, monkeypatch):
    from emstudio.core.project import ModelRecord
    from emstudio.gui.dialogs.model_card import ModelCardDialog

    window = open_window(demo_path)
    page = window.project_page
    card = {
        "format": "emstudio-model", "format_version": 1, "name": "nuclei", "size": "small",
        "architecture": {"depth": 3, "base_channels": 8, "residual": True, "norm": "batch"},
        "input": {"slices": 5, "slice_step_nm": 40.0, "pixel_size_nm": 10.0,
                  "normalisation": {"mode": "volume"}},
        "classes": ["membrane"], "boundary": None, "loss": "bce_dice",
        "training": {"image": "em", "labels": "truth-classes", "axes": ["xy"]},
        "validation": {"best_epoch": 1, "dice": {"membrane": 0.9}, "iou": {"membrane": 0.8},
                       "history": [{"epoch": 1, "loss": 0.3, "dice": {"membrane": 0.9}}]},
        "parent": None,
    }  # fmt: skip
    window.project.catalog.add_model(
        ModelRecord("m1", "nuclei", "models/m1", card, {}, "2026-01-01T00:00:00+00:00")
    )
    page.refresh()
    item = page.panel.model_item("nuclei")
    menu = page.panel.menu_for(item)
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == ["Model card…", "Export…", "Delete…", "Provenance…"]
    menu.deleteLater()
    page.panel.tree.itemDoubleClicked.emit(item, 0)
    dialogs = page.findChildren(ModelCardDialog)
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    assert "membrane Dice 0.900" in dialogs[0].rows["Validation"].text()
    dialogs[0].close()
    folder = window.project.resolve("models/m1")
    folder.mkdir(parents=True)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    menu = page.panel.menu_for(page.panel.model_item("nuclei"))
    next(a for a in menu.actions() if a.text() == "Delete…").trigger()
    menu.deleteLater()
    assert not window.project.catalog.has_model_name("nuclei") and not folder.exists()
    assert page.panel.model_item("nuclei") is None


def test_a_model_exported_to_a_file_and_imported_back(
    open_window, demo_path, monkeypatch, qtbot, tmp_path
):
    from emstudio.core.ml.card import build_card
    from emstudio.core.ml.modelfile import write_model_folder
    from emstudio.core.ml.registry import add_model
    from emstudio.core.ml.unet import UNet2p5D, UNetConfig

    window = open_window(demo_path)
    page = window.project_page
    config = UNetConfig(in_channels=3, out_channels=1, depth=2, base_channels=4)
    card = build_card(
        name="envelope", size="custom", architecture=config.to_json(),
        inputs={"slices": 3, "pixel_size_nm": 10.0, "slice_step_nm": 40.0,
                "normalisation": {"mode": "volume"}},
        classes=["nuclear_envelope"], boundary=None, loss="bce_dice", training={},
        validation={}, parent=None, created_at="test", emstudio_version="test",
    )  # fmt: skip
    model = UNet2p5D(config)
    add_model(window.project, "envelope", lambda f: write_model_folder(f, model, card), {})
    page.refresh()
    done: list[str] = []
    window.workbench.manager.job_status.connect(
        lambda job, status, message: status == "done" and done.append(job)
    )
    chosen = tmp_path / "shared" / "envelope"  # typed without the suffix: it is added
    chosen.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(chosen), ""))
    menu = page.panel.menu_for(page.panel.model_item("envelope"))
    next(a for a in menu.actions() if a.text() == "Export…").trigger()
    menu.deleteLater()
    qtbot.waitUntil(lambda: len(done) == 1, timeout=60_000)
    file = chosen.with_suffix(".emmodel")
    assert file.is_file()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(file), ""))
    action = next(a for a in window.menu("&Project").actions() if a.text() == "Import &model…")
    action.trigger()
    qtbot.waitUntil(lambda: len(done) == 2, timeout=60_000)
    # the project holds this model already: it is not copied, and the status bar says so
    assert [m.name for m in window.project.catalog.models()] == ["envelope"]
    assert "model 'envelope' is in the project" in window.statusBar().currentMessage()
    table = window.workbench.panel.table
    kinds = {table.item(r, 1).text() for r in range(table.rowCount())}
    assert {"model export", "model import"} <= kinds  # not the internal "model_import"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    menu = page.panel.menu_for(page.panel.model_item("envelope"))
    next(a for a in menu.actions() if a.text() == "Delete…").trigger()
    menu.deleteLater()
    assert page.panel.model_item("envelope") is None
    action.trigger()  # imported again: the model comes back from its file
    qtbot.waitUntil(lambda: len(done) == 3, timeout=60_000)
    qtbot.waitUntil(lambda: page.panel.model_item("envelope") is not None, timeout=10_000)
    assert window.project.catalog.model("envelope").card["classes"] == ["nuclear_envelope"]
