"""Tiled tri-axis prediction: tiles blend without seams, blocks do not matter, axes combine,
a restarted prediction skips finished blocks, out-of-memory falls back to smaller batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ml_helpers import CPU, VOXEL, run_volume

from emstudio.core.ml.errors import DeviceError, ModelMismatchError, PredictionSetupError
from emstudio.core.ml.geometry import View
from emstudio.core.ml.inference import TileRunner
from emstudio.core.ml.normalise import Normaliser
from emstudio.core.ml.planes import PlanePredictor
from emstudio.core.ml.prediction import (
    PredictConfig,
    Reporter,
    VolumePredictor,
    compile_by_default,
    fit_geometry,
)
from emstudio.core.ml.scratch import Scratch


def plane_predictor(model, image, axis, tile, overlap=8) -> PlanePredictor:
    net, _card = model
    view = View(axis, image.shape, VOXEL, 10.0, 40.0, 3)
    norm = Normaliser("volume", float(image.mean()), float(image.std()))
    return PlanePredictor(view, TileRunner(net, 2, "bce_dice", CPU), norm, tile, overlap, 4, 2)


@pytest.mark.parametrize("axis", ["xy", "xz"])
def test_tiled_equals_untiled(phantom, model, axis) -> None:
    image, _ = phantom
    planes = image.shape[0 if axis == "xy" else 1]
    whole = plane_predictor(model, image, axis, tile=128).predict(image, 0, 0, planes)
    tiled = plane_predictor(model, image, axis, tile=32).predict(image, 0, 0, planes)
    diff = np.abs(whole.astype(int) - tiled.astype(int))
    if axis == "xz":  # one tile pads the 45 model rows to 48, several tiles do not: the last
        diff = diff[:, :, :-1]  # plane differs by that border effect, not by a seam
    assert diff.mean() < 0.5 and diff.max() <= 3  # of 255: no seam anywhere


def test_a_plane_gives_the_same_values_in_any_block(phantom, model) -> None:
    image, _ = phantom
    predictor = plane_predictor(model, image, "xy", tile=32)
    once = predictor.predict(image, 0, 0, 12)
    parts = [
        predictor.predict(image[lo:hi], lo, first, stop)
        for (first, stop), (lo, hi) in (((0, 5), (0, 6)), ((5, 12), (4, 12)))
    ]
    assert np.abs(np.concatenate(parts).astype(int) - once).max() <= 1


def test_axes_are_predicted_and_combined(phantom, model, tmp_path) -> None:
    image, _ = phantom
    _, out = run_volume(model, image, tmp_path, axes=["xy", "xz", "yz"], combine="max")
    maps = out["axes"]["membrane"]
    assert all(m.shape == image.shape and m.dtype == np.uint8 for m in maps.values())
    assert not np.array_equal(maps["xy"], maps["xz"])
    assert np.array_equal(
        out["combined"]["membrane"], np.maximum(np.maximum(maps["xy"], maps["xz"]), maps["yz"])
    )
    _, xy_only = run_volume(model, image, tmp_path, name="t", axes=["xy"])
    assert np.abs(xy_only["combined"]["membrane"].astype(int) - maps["xy"]).max() <= 1


def test_a_restarted_prediction_skips_finished_blocks(phantom, model, tmp_path, monkeypatch):
    image, _ = phantom
    net, card = model
    config = dict(axes=["xz", "yz"], memory_mb=1)  # tiny budget: several blocks per axis
    _, reference = run_volume(model, image, tmp_path, name="ref", **config)
    predictor = VolumePredictor(net, card, image, VOXEL, PredictConfig(tile=32, **config), CPU)
    blocks = predictor._block_list("xz") + predictor._block_list("yz")
    assert len(blocks) > 3
    scratch, resumed = Scratch.open(
        tmp_path / "job", image.shape, predictor.outputs, predictor.plan()
    )
    assert not resumed
    written = []
    original = Scratch.write

    def write_then_crash(self, axis, first, block):
        original(self, axis, first, block)
        written.append((axis, first))
        if len(written) == 3:
            raise KeyboardInterrupt  # the job is cancelled after three blocks

    monkeypatch.setattr(Scratch, "write", write_then_crash)
    with pytest.raises(KeyboardInterrupt):
        predictor.run(scratch)
    monkeypatch.setattr(Scratch, "write", original)
    again = VolumePredictor(net, card, image, VOXEL, PredictConfig(tile=32, **config), CPU)
    computed = []
    predict = PlanePredictor.predict

    def counting(self, native, first_read, first, stop):
        computed.append((self.view.axis, first))
        return predict(self, native, first_read, first, stop)

    monkeypatch.setattr(PlanePredictor, "predict", counting)
    logs: list[str] = []
    again.reporter = Reporter(log=logs.append)
    scratch, resumed = Scratch.open(tmp_path / "job", image.shape, again.outputs, again.plan())
    assert resumed
    again.run(scratch)
    assert len(computed) == len(blocks) - 3 and not set(computed) & set(written)
    assert "3 blocks already predicted, skipped" in logs[0]
    for name in again.outputs:
        result = np.concatenate([c[name] for _, c, _ in again.combined_slabs(scratch)])
        assert np.abs(result.astype(int) - reference["combined"][name]).max() <= 1
    # other settings: the old blocks are not reused
    changed = VolumePredictor(
        net, card, image, VOXEL, PredictConfig(tile=32, tta=True, **config), CPU
    )
    assert not Scratch.open(tmp_path / "job", image.shape, changed.outputs, changed.plan())[1]


class OutOfMemoryAbove(torch.nn.Module):
    """Wraps a model and fails like CUDA does when a batch is larger than ``limit``."""

    def __init__(self, model: torch.nn.Module, limit: int) -> None:
        super().__init__()
        self.model = model
        self.limit = limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.model(x)


def test_out_of_memory_falls_back_to_smaller_batches_and_says_so(model) -> None:
    net, _ = model
    tiles = torch.randn(10, 3, 32, 32)
    expected = TileRunner(net, 2, "bce_dice", CPU, batch=10)(tiles)
    logs: list[str] = []
    runner = TileRunner(OutOfMemoryAbove(net, 3), 2, "bce_dice", CPU, batch=10, log=logs.append)
    assert torch.allclose(runner(tiles), expected, atol=1e-5)
    assert runner.batch == 2 and "out of GPU memory: continuing with batches of 2" in logs[-1]
    hopeless = TileRunner(OutOfMemoryAbove(net, 0), 2, "bce_dice", CPU, batch=4)
    with pytest.raises(DeviceError, match="out of memory even for a single tile"):
        hopeless(tiles)


def test_a_compiled_model_that_fails_is_replaced_by_the_plain_one(model, monkeypatch) -> None:
    def broken(_module):
        def call(_x):
            raise RuntimeError("backend compiler failed: no C compiler found\nmore detail")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    net, _ = model
    tiles = torch.randn(4, 3, 32, 32)
    logs: list[str] = []
    runner = TileRunner(net, 2, "bce_dice", CPU, compile=True, log=logs.append)
    assert torch.allclose(runner(tiles), TileRunner(net, 2, "bce_dice", CPU)(tiles), atol=1e-6)
    assert runner.net is runner.model and len(logs) == 1
    assert "torch.compile did not work" in logs[0] and "no C compiler found" in logs[0]
    runner(tiles)
    assert len(logs) == 1  # said once


def test_a_compiled_job_compiles_its_model_once(phantom, model, tmp_path, graphs_compiled):
    image, _ = phantom
    axes = ["xy", "xz", "yz"]
    plain, expected = run_volume(model, image, tmp_path, name="plain", tile=40, axes=axes)
    shapes = {p.grid.tile for p in plain.predictors.values()}
    assert len(shapes) > 1  # 40 nm sections: the XZ and YZ planes cut tiles of another shape
    compiled, out = run_volume(
        model, image, tmp_path, name="compiled", tile=40, axes=axes, compile=True
    )
    assert compiled.runner.net is not compiled.runner.model  # it did not fall back to plain
    assert graphs_compiled() == 1
    assert compiled.runner.varying == (0, 2)  # the batch, the tiles' rows (not their columns)
    for name, maps in expected["axes"].items():
        for axis, values in maps.items():
            assert np.array_equal(out["axes"][name][axis], values)


def test_large_gpu_jobs_compile_their_model_unless_told() -> None:
    def views(shape):
        return [View(a, shape, (40.0, 10.0, 10.0), 10.0, 40.0, 5) for a in ("xy", "xz", "yz")]

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    bench, large = views((517, 2048, 2048)), views((517, 8192, 8192))  # 20 and 312 Gpx
    assert compile_by_default(cuda, large, tta=False)
    assert not compile_by_default(cuda, bench, tta=False)  # compiling would not pay back
    assert compile_by_default(cuda, bench, tta=True)  # four flips: four times the work
    assert not compile_by_default(cpu, large, tta=False)


def test_tta_averages_flipped_predictions(model) -> None:
    net, _ = model
    tiles = torch.randn(2, 3, 32, 32)
    plain = TileRunner(net, 2, "bce_dice", CPU)(tiles)
    tta = TileRunner(net, 2, "bce_dice", CPU, tta=True)(tiles)
    assert tta.shape == plain.shape and not torch.allclose(tta, plain)
    assert torch.allclose(
        TileRunner(net, 2, "bce_dice", CPU, tta=True)(tiles.flip(-1)), tta.flip(-1), atol=1e-5
    )


def test_the_model_must_fit_the_voxel_size(model) -> None:
    _, card = model
    logs: list[str] = []
    assert fit_geometry(card, (1.0, 1.0, 1.0), False, logs.append) == VOXEL
    assert "assuming the model's training voxel size" in logs[0]
    assert fit_geometry(card, (50.0, 12.0, 12.0), True, logs.append) == (50.0, 12.0, 12.0)
    with pytest.raises(ModelMismatchError, match="more than 8x apart"):
        fit_geometry(card, (40.0, 100.0, 100.0), True, logs.append)
    with pytest.raises(ModelMismatchError, match="more than 8x apart"):
        fit_geometry(card, (4.0, 1.0, 1.0), True, logs.append)


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [({"batch": 0}, "--batch must be at least 1"), ({"batch": -3}, "--batch"),
     ({"tile": -5}, "--tile must be at least 1"), ({"memory_mb": 0}, "--memory")],
)  # fmt: skip
def test_settings_below_one_are_refused_before_any_work(setting, fragment) -> None:
    # a batch of 0 tiles used to loop for ever; a tile of -5 px ran with 8 px tiles
    with pytest.raises(PredictionSetupError, match=fragment):
        PredictConfig(**setting).check()
