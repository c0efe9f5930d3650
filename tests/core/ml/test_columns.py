"""The fused tri-axis pass: columns of whole chunks cover the volume once, their maps match the
pass through the per-axis scratch, and a restarted pass skips the columns already written."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ml_helpers import CPU, VOXEL, run_volume

from emstudio.core.ml import columns as columns_module
from emstudio.core.ml.columns import (
    ColumnPass,
    chunk_runs,
    column_halo,
    most_chunks,
    plan_columns,
)
from emstudio.core.ml.errors import DeviceError, PredictionSetupError
from emstudio.core.ml.prediction import PredictConfig, Reporter, VolumePredictor
from emstudio.core.ml.scratch import Scratch


def test_chunk_runs_are_as_even_as_whole_chunks_allow() -> None:
    assert chunk_runs(2048, 128, 9) == [(0, 1024), (1024, 2048)]
    assert chunk_runs(8192, 128, 9) == [(k * 1024, (k + 1) * 1024) for k in range(8)]
    assert chunk_runs(300, 128, 1) == [(0, 128), (128, 256), (256, 300)]
    assert chunk_runs(100, 128, 4) == [(0, 100)]


def test_columns_cover_the_volume_once_with_equal_boxes() -> None:
    shape, halo = (5, 1000, 700), 20
    planned = plan_columns(shape, (128, 128), 3, halo)
    cover = np.zeros(shape[1:], int)
    for c in planned:
        cover[slice(*c.y), slice(*c.x)] += 1
        assert c.y[0] % 128 == 0 and c.x[0] % 128 == 0
        assert (c.box_y[1] - c.box_y[0], c.box_x[1] - c.box_x[0]) == (384 + 2 * halo,) * 2
        for (a, b), (lo, hi), size in ((c.y, c.box_y, 1000), (c.x, c.box_x, 700)):
            assert lo >= 0 and hi <= size
            assert lo == 0 or a - lo >= halo  # context on every side the volume goes on
            assert hi == size or hi - b >= halo
    assert (cover == 1).all()
    assert len(planned) == 3 * 2  # 8 chunks of y in runs of 3, 3, 2; 6 of x in 3, 3


def test_column_size_follows_the_tile_and_the_memory(monkeypatch) -> None:
    halo = column_halo(64, (1.0, 1.0), 8)
    assert halo == 64 and column_halo(64, (0.5, 1.0), 200) == 200
    assert column_halo(64, (0.5, 0.5), 8) == 128  # coarse voxels: the overlap takes more of them
    plenty = [(80 * 2**30, 16)]
    assert most_chunks(1280, halo, 128, (1.0, 1.0), 517, plenty) == 9
    assert most_chunks(1024, halo, 128, (1.0, 1.0), 517, plenty) == 7
    tight = [*plenty, (2 * 2**30, 16)]  # 509 voxels a side at 16 bytes a voxel of 517 planes
    assert most_chunks(1280, halo, 128, (1.0, 1.0), 517, tight) == 3
    assert most_chunks(160, halo, 128, (1.0, 1.0), 517, plenty) == 0

    class Memory:
        available = 10 * 2**30  # a 16 GiB workstation with a GPU of 80 GiB

    monkeypatch.setattr(columns_module.psutil, "virtual_memory", Memory)
    device, host = columns_module.memory_budgets(80 * 2**30, 3, 3, keep_axes=False)
    assert device == (20 * 2**30, 3 * 4 + columns_module.COLUMN_EXTRA_BYTES)
    assert host == (2 * 2**30, 3 * 3 + columns_module.COLUMN_HOST_IMAGE_BYTES)
    assert most_chunks(1280, halo, 128, (1.0, 1.0), 517, [device, host]) == 4  # the host's


def assemble(predictor: VolumePredictor, scratch: Scratch) -> tuple[dict, dict]:
    """Run the column pass of ``predictor`` into whole (combined, per-axis) arrays."""
    combined = {n: np.zeros(predictor.shape, np.uint8) for n in predictor.outputs}
    axes = {n: {a: combined[n].copy() for a in predictor.config.axes} for n in predictor.outputs}

    def sink(column, maps):
        where = (slice(None), slice(*column.y), slice(*column.x))
        for name, block in maps[0].items():
            combined[name][where] = block
            for axis, part in maps[1][name].items():
                axes[name][axis][where] = part

    predictor.run_columns(scratch, sink)
    return combined, axes


def column_predictor(model, image, most=1, **config) -> VolumePredictor:
    """A predictor whose fused pass cuts the small phantom into 32-voxel columns."""
    net, card = model
    predictor = VolumePredictor(
        net, card, image, VOXEL, PredictConfig(tile=128, keep_axes=True, **config), CPU
    )
    predictor.columns = plan_columns(predictor.shape, (32, 32), most, 16)
    return predictor


def test_columns_match_the_pass_through_the_scratch(phantom, model, tmp_path) -> None:
    image, _ = phantom
    _, reference = run_volume(  # whole planes in one tile: only the columns cut them
        model, image, tmp_path, tile=128, axes=["xy", "xz", "yz"], combine="max"
    )
    predictor = column_predictor(model, image, axes=["xy", "xz", "yz"], combine="max")
    assert len(predictor.columns) == 9
    scratch, _ = Scratch.open(tmp_path / "c", image.shape, predictor.outputs, predictor.plan())
    combined, axes = assemble(predictor, scratch)
    for name in predictor.outputs:
        for axis in ("xy", "xz", "yz"):
            diff = np.abs(axes[name][axis].astype(int) - reference["axes"][name][axis])
            assert diff.mean() < 0.5 and diff.max() <= 4, (name, axis, diff.max())  # no seams
        by_axis = list(axes[name].values())
        assert np.array_equal(combined[name], np.maximum(np.maximum(*by_axis[:2]), by_axis[2]))
    assert len(predictor.column_seconds) == 9
    # where each column's turn went: each axis, combining, and waiting for the writer
    assert [sorted(p) for p in predictor.column_parts] == [
        ["combine", "writer", "xy", "xz", "yz"]
    ] * 9
    for axis in ("xy", "xz", "yz"):
        assert sum(p[axis] for p in predictor.column_parts) == pytest.approx(
            predictor.seconds[axis]
        )
    turns = [sum(p.values()) for p in predictor.column_parts]
    assert all(part <= turn for part, turn in zip(turns, predictor.column_seconds, strict=True))


def test_a_compiled_column_pass_compiles_its_model_once(
    phantom, model, tmp_path, graphs_compiled
) -> None:
    image, _ = phantom
    axes = ["xy", "xz", "yz"]
    # batches of 5 tiles and partial ones: 2 to 15 tiles, where the CPU's convolutions do not
    # change their algorithm (torch would compile again for that)
    plain = column_predictor(model, image, axes=axes, batch=5)
    expected, _ = assemble(plain, Scratch.open(tmp_path / "p", image.shape, plain.outputs, {})[0])
    compiled = column_predictor(model, image, axes=axes, batch=5, compile=True)
    scratch, _ = Scratch.open(tmp_path / "c", image.shape, compiled.outputs, {})
    combined, _ = assemble(compiled, scratch)
    assert compiled.runner.net is not compiled.runner.model
    assert graphs_compiled() == 1  # 64 x 64 boxes: XY tiles of 64 x 64, XZ and YZ of 48 x 64
    for name, values in expected.items():
        assert np.array_equal(combined[name], values)


def test_a_restarted_column_pass_skips_written_columns(phantom, model, tmp_path) -> None:
    image, _ = phantom
    reference, _ = assemble(column_predictor(model, image), Scratch.open(
        tmp_path / "ref", image.shape, ["membrane", "mitochondria"], {"run": "reference"}
    )[0])  # fmt: skip
    first = column_predictor(model, image)
    scratch, _ = Scratch.open(tmp_path / "job", image.shape, first.outputs, first.plan())
    written = []

    def sink_then_cancel(column, maps):
        written.append(column)
        if len(written) == 4:
            raise KeyboardInterrupt  # cancelled while the fourth column is being written

    with pytest.raises(KeyboardInterrupt):
        first.run_columns(scratch, sink_then_cancel)
    # a column is durable once the next one is written: the third was not yet known to be
    assert len(scratch.done(columns_module.DONE_LOG)) == 2
    again = column_predictor(model, image)
    logs: list[str] = []
    again.reporter = Reporter(log=logs.append)
    scratch, resumed = Scratch.open(tmp_path / "job", image.shape, again.outputs, again.plan())
    assert resumed
    combined, _ = assemble(again, scratch)
    assert "2 columns already predicted, skipped" in logs[0]
    assert len(again.column_seconds) == 7
    for column in again.columns[2:]:
        where = (slice(None), slice(*column.y), slice(*column.x))
        for name in again.outputs:
            assert np.array_equal(combined[name][where], reference[name][where])


def test_the_last_column_is_done_only_once_the_writes_are_flushed(phantom, model, tmp_path):
    image, _ = phantom
    predictor = column_predictor(model, image)
    scratch, _ = Scratch.open(tmp_path / "job", image.shape, predictor.outputs, predictor.plan())

    def flush_fails():
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        predictor.run_columns(scratch, lambda column, maps: None, flush_fails)
    done = scratch.done(columns_module.DONE_LOG)
    last = predictor.columns[-1]
    assert len(done) == 8 and (str(last.y[0]), str(last.x[0])) not in done
    predictor.run_columns(scratch, lambda column, maps: None)  # resumed: the last one again
    assert len(scratch.done(columns_module.DONE_LOG)) == 9


def test_columns_are_the_gpus_pass_unless_told(phantom, model) -> None:
    image, _ = phantom
    net, card = model

    def predictor(**config):
        return VolumePredictor(net, card, image, VOXEL, PredictConfig(**config), CPU)

    assert predictor().columns == []  # a CPU predicts axis by axis
    assert predictor(columns=True, tile=256).columns  # unless asked
    assert predictor(columns=True, axes=["xy"]).columns == []  # XY alone needs no scratch
    with pytest.raises(PredictionSetupError, match="columns"):
        predictor(columns=True, tile=32)


def test_a_column_the_gpu_cannot_hold_is_a_clear_error(phantom, model, tmp_path, monkeypatch):
    image, _ = phantom
    predictor = column_predictor(model, image)

    def out_of_memory(self, axis, column, image):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    monkeypatch.setattr(ColumnPass, "_predict_axis", out_of_memory)
    scratch, _ = Scratch.open(tmp_path / "c", image.shape, predictor.outputs, predictor.plan())
    with pytest.raises(DeviceError, match="out of memory for a column of 12 x 64 x 64 voxels"):
        predictor.run_columns(scratch, lambda column, maps: None)
    assert not scratch.done(columns_module.DONE_LOG)
