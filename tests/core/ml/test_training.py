"""The training loop on tiny inputs: metrics per epoch, seeded determinism, exact resume from a
checkpoint, transfer learning with a frozen encoder, early stopping, bad settings."""

from __future__ import annotations

import pytest
import torch
from ml_helpers import VOXEL

from emstudio.core.ml import presets
from emstudio.core.ml.augment import AugmentConfig
from emstudio.core.ml.card import summary
from emstudio.core.ml.checkpoint import load_checkpoint
from emstudio.core.ml.errors import ModelMismatchError, TrainingDivergedError, TrainingSetupError
from emstudio.core.ml.labels import LabelledSlices, Target
from emstudio.core.ml.normalise import normaliser_for
from emstudio.core.ml.train_config import TrainConfig
from emstudio.core.ml.training import TrainData, Trainer, build_views, train
from emstudio.core.ml.transfer import init_from
from emstudio.core.ml.unet import UNet2p5D, UNetConfig

CPU = torch.device("cpu")
TARGET = Target(("membrane", "mitochondria"), (1, 3))


class Recorder:
    def __init__(self) -> None:
        self.metrics: list[tuple[str, int, float]] = []
        self.logs: list[str] = []
        self.progress_calls: list[tuple[int, int]] = []

    def progress(self, done, total, message=""):
        self.progress_calls.append((done, total))

    def log(self, message):
        self.logs.append(message)

    def metric(self, name, step, value):
        self.metrics.append((name, step, value))


def tiny_config(**changes) -> TrainConfig:
    values = dict(
        size="small",
        depth=2,
        base_channels=4,
        input_slices=3,
        epochs=2,
        iterations=2,
        batch=2,
        patch=32,
        val_patches=2,
        patience=0,
        focus=0.5,
    )
    values.update(changes)
    return TrainConfig(**values)


def data(phantom, target=TARGET, z=(1, 4, 7, 10)) -> TrainData:
    image, semantic = phantom
    return TrainData(image, semantic, VOXEL, LabelledSlices(z=z), target)


def run(phantom, config, **kw):
    d = data(phantom, kw.pop("target", TARGET))
    return train(d, config, CPU, normaliser_for("volume", d.image), **kw)


def test_training_reports_metrics_per_epoch_and_keeps_the_best(phantom) -> None:
    recorder = Recorder()
    result = run(phantom, tiny_config(), reporter=recorder)
    assert len(result.history) == 2 and 1 <= result.best_epoch <= 2
    names = {name for name, *_ in recorder.metrics}
    assert {"train_loss", "val_dice", "val_iou", "val_dice_membrane"} <= names
    assert [s for n, s, _ in recorder.metrics if n == "val_dice"] == [1, 2]
    assert recorder.progress_calls[-1] == (4, 4)
    assert set(result.dice) == {"membrane", "mitochondria"}
    assert result.geometry == {"pixel_size_nm": 10.0, "slice_step_nm": 40.0}
    assert not result.model.training


def test_a_class_never_seen_in_the_labelled_slices_is_pointed_out(phantom) -> None:
    recorder = Recorder()
    target = Target(("nuclear_envelope", "er"), (2, 7))  # this phantom has no 7 (nor 1 or 3)
    run(phantom, tiny_config(epochs=1), reporter=recorder, target=target)
    warnings = [line for line in recorder.logs if line.startswith("warning:")]
    assert warnings == [
        "warning: no 'er' voxel in 32 patches of the labelled slices: is 'er' painted? The "
        "model cannot learn a class it never sees."
    ]


def test_same_seed_same_model(phantom) -> None:
    a = run(phantom, tiny_config(epochs=1)).model.state_dict()
    b = run(phantom, tiny_config(epochs=1)).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = run(phantom, tiny_config(epochs=1, seed=1)).model.state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_does(phantom, tmp_path) -> None:
    config = tiny_config(epochs=3, augment=AugmentConfig(elastic=True))
    straight = run(phantom, config).model.state_dict()

    def cancel_after_first_epoch(epoch: int) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt):
        run(phantom, config, checkpoint=checkpoint, on_epoch=cancel_after_first_epoch)
    state = load_checkpoint(checkpoint)
    assert state["epoch"] == 1 and len(state["history"]) == 1
    recorder = Recorder()
    resumed = run(phantom, config, resume=state, reporter=recorder)
    assert "resumed after epoch 1" in recorder.logs
    assert all(torch.equal(straight[k], resumed.model.state_dict()[k]) for k in straight)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    with pytest.raises(TrainingSetupError, match="another architecture"):
        run(phantom, tiny_config(epochs=3, base_channels=8), resume=state)


def test_transfer_learning_starts_from_the_parent_and_can_freeze_its_encoder(phantom) -> None:
    parent = run(phantom, tiny_config(epochs=1)).model
    card = {"input": {"slices": 3, "pixel_size_nm": 10.0, "slice_step_nm": 40.0}}
    mito = Target(("mitochondria",), (3,))
    recorder = Recorder()
    child = run(
        phantom,
        tiny_config(epochs=1, freeze_encoder_epochs=1),
        target=mito,
        parent=(parent, card),
        reporter=recorder,
    )
    assert child.config.out_channels == 1
    assert "new: head" in child.init_report
    p, c = parent.state_dict(), child.model.state_dict()
    encoder = [k for k in p if k.startswith("encoder.")]
    assert all(torch.equal(p[k], c[k]) for k in encoder)  # frozen: exactly the parent's
    assert not all(torch.equal(p[k], c[k]) for k in p if k.startswith("decoder."))
    with pytest.raises(ModelMismatchError, match="takes 3 slices"):
        run(phantom, tiny_config(epochs=1, input_slices=5), parent=(parent, card))


def test_transfer_learning_keeps_the_parents_architecture_whatever_size_is_asked(phantom):
    parent_config = tiny_config(epochs=1, stem=2)
    parent = run(phantom, parent_config).model
    card = {
        "size": "custom",
        "architecture": parent_config.architecture(2).to_json(),
        "input": {"slices": 3, "pixel_size_nm": 10.0, "slice_step_nm": 40.0},
    }
    recorder = Recorder()
    asked = tiny_config(epochs=1, depth=None, base_channels=None, freeze_encoder_epochs=1)
    child = run(phantom, asked, parent=(parent, card), reporter=recorder)
    assert (child.config.depth, child.config.base_channels, child.config.stem) == (2, 4, 2)
    assert any("keeps its architecture (the size setting, small, does not apply)" in m
               for m in recorder.logs)  # fmt: skip
    assert asked.size == "custom"  # the card of the new model says what it is
    p, c = parent.state_dict(), child.model.state_dict()
    assert all(torch.equal(p[k], c[k]) for k in p if k.startswith("encoder."))


def test_a_parent_whose_encoder_does_not_fit_is_refused() -> None:
    small = UNet2p5D(UNetConfig(in_channels=3, out_channels=2, depth=2, base_channels=4))
    other = UNet2p5D(UNetConfig(in_channels=3, out_channels=2, depth=2, base_channels=8))
    with pytest.raises(ModelMismatchError, match="encoder does not fit"):
        init_from(other, small)  # only the shapeless batch-norm counters would match


def test_early_stopping(phantom) -> None:
    result = run(phantom, tiny_config(epochs=6, patience=1, lr=1e-9))
    assert result.stopped_early and len(result.history) == 2 and result.best_epoch == 1


def test_bad_settings_are_refused_with_a_way_out(phantom) -> None:
    with pytest.raises(TrainingSetupError, match="choose --patch 96 or less"):
        run(phantom, tiny_config(patch=128))
    with pytest.raises(TrainingSetupError, match="multiple of 4"):
        run(phantom, tiny_config(patch=30))
    with pytest.raises(TrainingSetupError, match=r"needs about 114\.4 GiB of memory to train"):
        run(phantom, tiny_config(batch=100_000))  # 100,000 patches of 32 px
    with pytest.raises(TrainingSetupError, match="--epochs must be at least 1"):
        TrainConfig.from_json({"epochs": 0})
    with pytest.raises(TrainingSetupError, match="--input-slices must be odd"):
        TrainConfig.from_json({"input_slices": 4})  # the plane predicted would not be an input
    with pytest.raises(TrainingSetupError, match="unknown model size"):
        run(phantom, TrainConfig(size="huge", patch=32))
    with pytest.raises(TrainingSetupError, match="the stem setting must be one of 1, 2, 4"):
        TrainConfig.from_json({"stem": 3})
    for values, message in (
        ({"lr": float("nan")}, "--lr must be a positive number"),
        ({"lr": float("inf")}, "--lr must be a positive number"),
        ({"seed": -1}, "--seed must be a whole number"),
        ({"patch": 8}, "--patch must be at least 16 pixels"),
        ({"patience": -1}, "--patience must be 0 or more"),
        ({"freeze_encoder_epochs": -2}, "--freeze-encoder must be 0 or more"),
        ({"pixel_size_nm": 0.0}, "--pixel-size must be a positive number of nm"),
    ):
        with pytest.raises(TrainingSetupError, match=message):
            TrainConfig.from_json(values)


def test_a_starting_model_of_other_classes_gives_no_output_layer(phantom) -> None:
    """A membrane model's output layer fits a mitochondria training (one map each) but would
    start it off predicting membranes: it starts afresh instead, and the report says why."""
    membrane, mito = Target(("membrane",), (1,)), Target(("mitochondria",), (3,))
    parent = run(phantom, tiny_config(epochs=1), target=membrane).model
    card = {"input": {"slices": 3, "pixel_size_nm": 10.0, "slice_step_nm": 40.0}}
    for classes, fresh in ((["membrane"], True), (["mitochondria"], False)):
        child = run(phantom, tiny_config(epochs=1), target=mito,
                    parent=(parent, {**card, "classes": classes}))  # fmt: skip
        assert ("starts afresh: the starting model gave membrane, this training learns "
                "mitochondria" in child.init_report) is fresh  # fmt: skip
        assert ("new: head" in child.init_report) is fresh


def test_freezing_needs_a_starting_model_and_validation_says_where_it_scored(phantom):
    with pytest.raises(TrainingSetupError, match="freezing the encoder keeps a starting model"):
        run(phantom, tiny_config(freeze_encoder_epochs=1))
    recorder = Recorder()
    result = run(phantom, tiny_config(epochs=1, val_fraction=0.0), reporter=recorder)
    said = "--val-fraction is 0: validation uses the training slices"
    assert any(m.startswith(said) for m in recorder.logs) and not result.held_out
    scored = {"dice": {"a": 0.5}, "slices": result.val_slices, "held_out": False}
    rows = dict(summary({"classes": ["a"], "validation": scored}))
    assert rows["Validation"].endswith("on patches of the training slices z 1, 4, 7, 10 (none held "
                                       "out: not a score on unseen data)")  # fmt: skip
    recorder = Recorder()
    result = run(phantom, tiny_config(epochs=1), reporter=recorder)
    assert result.held_out and "validation on held-out slices z " in " ".join(recorder.logs)


def test_a_training_whose_weights_become_nan_fails_and_keeps_no_model(phantom, monkeypatch):
    real_epoch = Trainer.run_epoch

    def diverging(self, epoch):
        loss = real_epoch(self, epoch)
        with torch.no_grad():
            next(self.model.parameters()).fill_(float("nan"))  # as a too-high rate leaves them
        return loss

    monkeypatch.setattr(Trainer, "run_epoch", diverging)
    with pytest.raises(TrainingDivergedError, match="training failed in epoch 1: the model's"):
        run(phantom, tiny_config())


def test_sizes_give_their_preset_stem_and_a_custom_size_none() -> None:
    assert TrainConfig().architecture(2).stem == presets.SIZES["default"].stem == 2
    assert TrainConfig(size="custom", depth=3, base_channels=8).architecture(2).stem == 1


def test_auto_views_leave_xz_and_yz_out_for_very_anisotropic_voxels(phantom) -> None:
    image, semantic = phantom
    sstem = TrainData(image, semantic, (50.0, 4.0, 4.0), LabelledSlices(z=(1,)), TARGET)
    grid = {"pixel_size_nm": 4.0, "slice_step_nm": 50.0}
    recorder = Recorder()
    assert list(build_views(sstem, tiny_config(), grid, recorder)) == ["xy"]
    assert "12.5x anisotropic" in recorder.logs[0]
    asked = tiny_config(axes=["xy", "xz"])
    assert list(build_views(sstem, asked, grid, recorder)) == ["xy", "xz"]
    assert list(build_views(data(phantom), tiny_config(), dict(grid, pixel_size_nm=10.0),
                            recorder)) == ["xy", "xz", "yz"]  # 4x: all views  # fmt: skip


def test_a_fine_tuning_is_scored_against_the_model_it_started_from(phantom, monkeypatch):
    parent = run(phantom, tiny_config(epochs=3)).model  # a card naming no classes: head kept
    card = {"input": {"slices": 3, "pixel_size_nm": 10.0, "slice_step_nm": 40.0}}
    recorder = Recorder()
    child = run(phantom, tiny_config(epochs=1), parent=(parent, card), reporter=recorder)
    started = [m for m in recorder.logs if m.startswith("the starting model, before training")]
    assert len(started) == 1 and set(child.start_dice) == {"membrane", "mitochondria"}
    assert min(child.start_dice.values()) >= 0.0 and max(child.start_dice.values()) <= 1.0
    for start, said in ((1.0, True), (0.0, False)):  # a starting model better, then worse
        monkeypatch.setattr(
            Trainer, "score_start", lambda self, d=start: dict.fromkeys(self.names, d)
        )
        recorder = Recorder()
        run(phantom, tiny_config(epochs=1), parent=(parent, card), reporter=recorder)
        lower = [m for m in recorder.logs if "scores lower than the model it started from" in m]
        assert bool(lower) is said, recorder.logs
    fresh = run(phantom, tiny_config(epochs=1))
    assert fresh.start_dice is None  # no starting model: nothing to compare with
    other = {**card, "classes": ["membrane"]}  # its head is not kept: not the same model
    assert run(phantom, tiny_config(epochs=1), parent=(parent, other)).start_dice is None
