"""The Train and Predict dialogs build job specs with working defaults; the model card shows
what a model is; none of them imports torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from emstudio.core.io.base import VoxelSize
from emstudio.core.ml.card import summary
from emstudio.core.project import ModelRecord, Project, VolumeRecord
from emstudio.gui.dialogs.model_card import ModelCardDialog
from emstudio.gui.dialogs.predict_dialog import PredictDialog
from emstudio.gui.dialogs.train_dialog import NO_INIT, TrainDialog

VOXEL = VoxelSize(40, 10, 10, known=True)
CLASSES = {"0": "background", "1": "membrane", "2": "nuclear_envelope", "3": "mitochondria"}


def volume(name: str, kind: str, shape=(32, 256, 256), **changes) -> VolumeRecord:
    fields = dict(
        id=f"id-{name}",
        name=name,
        kind=kind,
        path=f"data/{name}.zarr",
        shape=shape,
        dtype="uint8",
        voxel_size=VOXEL,
        chunks=(32, 128, 128),
        levels=1,
        source="test",
        created_at="2026-01-01T00:00:00+00:00",
    )
    fields.update(changes)
    return VolumeRecord(**fields)


def card(name: str) -> dict:
    return {
        "format": "emstudio-model", "format_version": 1, "name": name, "size": "small",
        "architecture": {"type": "unet2.5d", "in_channels": 5, "out_channels": 2, "depth": 3,
                         "base_channels": 8, "residual": True, "norm": "batch"},
        "input": {"slices": 5, "slice_step_nm": 40.0, "pixel_size_nm": 10.0,
                  "normalisation": {"mode": "volume"}},
        "classes": ["membrane", "mitochondria"], "boundary": None, "loss": "bce_dice",
        "training": {"image": "em", "labels": "truth", "axes": ["xy", "xz"], "epochs_run": 2,
                     "seconds": 12.0, "device": "cpu (2 threads)"},
        "validation": {"best_epoch": 2, "dice": {"membrane": 0.91, "mitochondria": 0.93},
                       "iou": {"membrane": 0.83, "mitochondria": 0.87},
                       "history": [{"epoch": 1, "loss": 0.5, "dice": {"membrane": 0.8}},
                                   {"epoch": 2, "loss": 0.3, "dice": {"membrane": 0.91}}],
                       "slices": {"z": [4, 12], "y": [], "x": []}, "held_out": True},
        "parent": None, "weights": {"file": "weights.pt", "sha256": "0" * 64},
        "created_at": "2026-01-01T00:00:00+00:00", "emstudio_version": "test",
    }  # fmt: skip


@pytest.fixture
def project(tmp_path):
    """A read-only project with an image, two label sets (one of another shape) and a model."""
    path = tmp_path / "p.emproj"
    with Project.create(path) as created:
        created.catalog.add_volume(volume("em", "image"))
        created.catalog.add_volume(
            volume("truth", "labels", attrs={"classes": CLASSES}, image_id="id-em")
        )
        created.catalog.add_volume(
            volume("small", "labels", shape=(4, 4, 4), attrs={"classes": CLASSES})
        )
        created.catalog.add_model(
            ModelRecord(
                "m1", "nuclei", "models/m1", card("nuclei"), {}, "2026-01-01T00:00:00+00:00"
            )
        )
    opened = Project.open(path, mode="read")
    yield opened
    opened.close()


def ok_button(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_train_dialog_defaults_work_for_a_first_training(qtbot, project) -> None:
    dialog = TrainDialog(project)
    qtbot.addWidget(dialog)
    assert dialog.image.currentText() == "em"
    assert [dialog.labels.itemText(i) for i in range(dialog.labels.count())] == ["truth"]
    assert dialog.chosen_classes() == ["membrane", "nuclear_envelope", "mitochondria"]
    assert dialog.size.currentText() == "default" and dialog.epochs.value() == 30
    assert dialog.name.text() == "model" and ok_button(dialog).isEnabled()
    assert "on CPU" in dialog.estimate.text() and "GPU: not measured yet" in dialog.estimate.text()
    assert "long for a first try" in dialog.estimate.text()  # hours on a CPU: a hint
    assert dialog.quick.isVisibleTo(dialog)  # and one click to a first try
    dialog.quick.click()
    assert dialog.size.currentText() == "small" and dialog.epochs.value() == 10
    assert "long for a first try" not in dialog.estimate.text()
    assert not dialog.quick.isVisibleTo(dialog)
    dialog.size.setCurrentText("default")
    dialog.epochs.setValue(30)
    assert (
        "predicts a 1000 x 1000 slice in about 1.3 s on a 2-core CPU, 0.8 ms on a GPU"
        in dialog.size_note.text()
    )
    assert not dialog.advanced.isVisibleTo(dialog)
    dialog.advanced_toggle.click()
    assert dialog.advanced.isVisibleTo(dialog)
    spec = dialog.spec()
    assert spec.kind == "train" and spec.project == str(project.path)
    assert spec.inputs == {"image": "em", "labels": "truth", "init": None, "instances": None}
    assert spec.params["out"] == "model" and spec.params["axes"] is None
    assert spec.params["classes"] == ["membrane", "nuclear_envelope", "mitochondria"]
    assert spec.params["size"] == "default" and spec.device == "auto"


def test_train_dialog_advanced_choices_and_problems(qtbot, project) -> None:
    dialog = TrainDialog(project)
    qtbot.addWidget(dialog)
    for i in range(2):
        dialog.classes.item(i).setCheckState(Qt.CheckState.Unchecked)
    dialog.size.setCurrentText("small")
    dialog.init.setCurrentText("nuclei")
    dialog.freeze.setValue(3)
    dialog.axes.setText("xy,xz")
    dialog.slices.setText("z:0,8,16")
    dialog.boundary.setCurrentText("mitochondria")
    dialog.augment.setChecked(False)
    dialog.device.setCurrentText("cpu")
    spec = dialog.spec()
    assert spec.params["classes"] == ["mitochondria"] and spec.inputs["init"] == "nuclei"
    assert spec.params["freeze_encoder_epochs"] == 3 and spec.params["axes"] == ["xy", "xz"]
    assert spec.params["slices"] == "z:0,8,16" and spec.params["boundary"] == "mitochondria"
    assert spec.params["augment"]["flips"] is False and spec.device == "cpu"
    dialog.axes.setText("xy,qq")
    assert not ok_button(dialog).isEnabled() and "unknown axis" in dialog.message.text()
    dialog.axes.setText("auto")
    dialog.classes.item(2).setCheckState(Qt.CheckState.Unchecked)
    assert not ok_button(dialog).isEnabled() and "at least one class" in dialog.message.text()
    dialog.classes.item(2).setCheckState(Qt.CheckState.Checked)
    dialog.name.setText("nuclei")
    assert not ok_button(dialog).isEnabled() and "already exists" in dialog.message.text()
    dialog.name.setText("a/b")
    assert not ok_button(dialog).isEnabled() and "cannot hold '/'" in dialog.message.text()
    dialog.init.setCurrentText(NO_INIT)
    dialog.name.setText("fresh")
    assert ok_button(dialog).isEnabled() and dialog.spec().inputs["init"] is None
    dialog.slices.setText("garbage")
    assert not ok_button(dialog).isEnabled() and "Only slices: " in dialog.message.text()
    dialog.slices.setText("z:0-4")
    dialog.boundary.setCurrentText("membrane")  # a class not learned
    assert not ok_button(dialog).isEnabled() and "tick that class" in dialog.message.text()
    dialog.boundary.setCurrentText("mitochondria")
    assert ok_button(dialog).isEnabled()


def test_a_starting_model_fixes_the_size_and_input_slices(qtbot, project) -> None:
    dialog = TrainDialog(project)
    qtbot.addWidget(dialog)
    assert dialog.size.currentText() == "default" and dialog.size.isEnabled()
    dialog.init.setCurrentText("nuclei")  # a small model: a default-size net cannot take it
    assert dialog.size.currentText() == "small" and not dialog.size.isEnabled()
    assert dialog.input_slices.value() == 5 and not dialog.input_slices.isEnabled()
    assert dialog.spec().params["size"] == "small"
    assert dialog.freeze.isEnabled()  # a starting model's encoder can be kept
    dialog.freeze.setValue(2)
    dialog.init.setCurrentText(NO_INIT)
    assert dialog.size.isEnabled() and dialog.input_slices.isEnabled()
    assert not dialog.freeze.isEnabled() and dialog.spec().params["freeze_encoder_epochs"] == 0
    dialog.input_slices.setValue(4)
    assert not ok_button(dialog).isEnabled() and "odd" in dialog.message.text()


def test_train_dialog_asks_for_no_patch_larger_than_the_image(qtbot, tmp_path) -> None:
    path = tmp_path / "small.emproj"
    with Project.create(path) as created:
        for name, shape in (("em", (32, 256, 256)), ("tiny", (8, 72, 64)), ("speck", (4, 12, 12))):
            created.catalog.add_volume(volume(name, "image", shape=shape))
            created.catalog.add_volume(
                volume(f"{name}-labels", "labels", shape=shape, attrs={"classes": CLASSES})
            )
        coarse = card("coarse")  # trained at 20 nm: the 10 nm image is half as wide for it
        coarse["input"]["pixel_size_nm"] = 20.0
        created.catalog.add_model(
            ModelRecord("m2", "coarse", "models/m2", coarse, {}, "2026-01-01T00:00:00+00:00")
        )
    with Project.open(path, mode="read") as opened:
        dialog = TrainDialog(opened)
        qtbot.addWidget(dialog)
        assert dialog.patch.value() == 256 and ok_button(dialog).isEnabled()
        dialog.patch.setValue(128)
        dialog.image.setCurrentText("tiny")
        assert dialog.patch.value() == 64 and dialog.spec().params["patch"] == 64
        assert "at most 64 px" in dialog.patch.toolTip() and ok_button(dialog).isEnabled()
        dialog.image.setCurrentText("em")  # the patch asked for comes back
        assert dialog.patch.value() == 128
        dialog.patch.setValue(256)
        dialog.init.setCurrentText("coarse")
        assert dialog.patch.value() == 128  # 256 px at 10 nm are 128 model pixels at 20 nm
        dialog.init.setCurrentText(NO_INIT)
        dialog.image.setCurrentText("speck")
        assert not ok_button(dialog).isEnabled()
        assert "(12 x 12 px) are too small to train on" in dialog.message.text()


def test_the_dialogs_start_from_what_is_on_show_and_the_newest_model(qtbot, tmp_path) -> None:
    path = tmp_path / "shown.emproj"
    with Project.create(path) as created:
        for name in ("em", "em2"):
            created.catalog.add_volume(volume(name, "image"))
        for name in ("truth", "painted"):
            created.catalog.add_volume(
                volume(name, "labels", attrs={"classes": CLASSES}, image_id="id-em")
            )
        for number, (name, made) in enumerate((("new", "2026-03-01"), ("old", "2026-01-01"))):
            created.catalog.add_model(
                ModelRecord(f"m{number}", name, f"models/m{number}", card(name), {}, made)
            )
    with Project.open(path, mode="read") as opened:
        train = TrainDialog(opened, image="em2", labels="painted")
        predict = PredictDialog(opened, image="em2")
        plain = TrainDialog(opened)
        for dialog in (train, predict, plain):
            qtbot.addWidget(dialog)
        assert (train.image.currentText(), train.labels.currentText()) == ("em2", "painted")
        assert plain.labels.currentText() == "truth"  # made for the image: listed first
        assert predict.image.currentText() == "em2" and predict.model.currentText() == "new"
        assert predict.name.text() == "new-pred"


def test_predict_dialog_builds_the_predict_job(qtbot, project, monkeypatch) -> None:
    dialog = PredictDialog(project)
    qtbot.addWidget(dialog)
    assert dialog.model.currentText() == "nuclei" and dialog.name.text() == "nuclei-pred"
    assert dialog.outputs.text() == "Outputs: membrane, mitochondria"
    assert ok_button(dialog).isEnabled() and "on CPU" in dialog.estimate.text()
    spec = dialog.spec()
    assert spec.kind == "predict" and spec.inputs == {"image": "em", "model": "nuclei"}
    assert spec.params == {
        "out": "nuclei-pred",
        "axes": ["xy", "xz"],  # the views the model was trained on
        "combine": "mean",
        "tta": False,
        "keep_axes": False,
    }
    dialog.axis_boxes["xz"].setChecked(False)
    assert not dialog.combine.isEnabled()  # one view: nothing to combine
    dialog.axis_boxes["yz"].setChecked(True)
    assert dialog.combine.isEnabled()
    dialog.combine.setCurrentText("vote")
    dialog.tta.setChecked(True)
    dialog.keep_axes.setChecked(True)
    dialog.axis_boxes["yz"].setChecked(True)
    assert dialog.volume_names()[-1] == "nuclei-pred-mitochondria-yz"
    spec = dialog.spec()
    assert spec.params["axes"] == ["xy", "yz"] and spec.params["combine"] == "vote"
    assert spec.params["tta"] and spec.params["keep_axes"]
    for box in dialog.axis_boxes.values():
        box.setChecked(False)
    assert not ok_button(dialog).isEnabled() and "at least one axis" in dialog.message.text()
    dialog.axis_boxes["xy"].setChecked(True)
    dialog.name.setText("em")  # "em-membrane" and "em-mitochondria" are free
    assert ok_button(dialog).isEnabled()
    dialog.name.setText(" ")
    assert not ok_button(dialog).isEnabled()
    shown = []
    monkeypatch.setattr(ModelCardDialog, "exec", lambda self: shown.append(self.card["name"]))
    dialog.card_button.click()
    assert shown == ["nuclei"]


def test_predict_dialog_refuses_taken_names(qtbot, tmp_path) -> None:
    path = tmp_path / "q.emproj"
    with Project.create(path) as created:
        created.catalog.add_volume(volume("em", "image"))
        created.catalog.add_volume(volume("nuclei-pred-membrane", "prediction"))
        created.catalog.add_model(
            ModelRecord(
                "m1", "nuclei", "models/m1", card("nuclei"), {}, "2026-01-01T00:00:00+00:00"
            )
        )
    with Project.open(path, mode="read") as opened:
        dialog = PredictDialog(opened)
        qtbot.addWidget(dialog)
        assert dialog.name.text() == "nuclei-pred-2" and ok_button(dialog).isEnabled()
        dialog.name.setText("nuclei-pred")
        assert "'nuclei-pred-membrane' already exists" in dialog.message.text()
        dialog.name.setText("pred:1")
        assert "cannot hold ':'" in dialog.message.text() and not ok_button(dialog).isEnabled()


def test_predict_dialog_without_models_says_what_to_do(qtbot, tmp_path) -> None:
    with Project.create(tmp_path / "e.emproj") as created:
        created.catalog.add_volume(volume("em", "image"))
    with Project.open(tmp_path / "e.emproj", mode="read") as opened:
        dialog = PredictDialog(opened)
        qtbot.addWidget(dialog)
        assert not ok_button(dialog).isEnabled() and "train or import" in dialog.message.text()


def test_model_card_shows_training_and_validation(qtbot) -> None:
    dialog = ModelCardDialog(card("nuclei"))
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Model card: nuclei"
    assert "membrane Dice 0.910" in dialog.rows["Validation"].text()
    assert dialog.rows["Validation"].text().endswith(", on patches of held-out slices z 4, 12")
    assert "image 'em'" in dialog.rows["Trained on"].text()
    assert dialog.rows["Parent model"].text().startswith("none")
    assert dialog.rows["Training"].text() == "2 epochs in 12 s on cpu (2 threads)"
    assert dialog.rows["Created"].text().startswith("2026-01-01 ")  # not an ISO stamp
    one = dict(summary({**card("one"), "training": {"epochs_run": 1}}))
    assert one["Training"].startswith("1 epoch in ")
    assert dialog.history.rowCount() == 2 and dialog.history.item(1, 2).text() == "0.910"
    assert not dialog.json.isVisibleTo(dialog)
    dialog.json_toggle.click()
    assert dialog.json.isVisibleTo(dialog) and '"name": "nuclei"' in dialog.json.toPlainText()


def test_the_dialogs_never_import_torch() -> None:
    code = (
        "import sys; import emstudio.gui.dialogs.train_dialog, emstudio.gui.dialogs.predict_dialog,"
        " emstudio.gui.dialogs.model_card; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
