"""Time estimates shown in the Train and Predict dialogs."""

from __future__ import annotations

import pytest

from emstudio.core.ml import presets

BENCH_SHAPE = (517, 2048, 2048)
BENCH_VOXEL = (40.0, 10.0, 10.0)


def test_gpu_estimate_reproduces_the_measured_h100_run() -> None:
    seconds = presets.estimate_predict_seconds("default", BENCH_SHAPE, BENCH_VOXEL, gpu=True)
    assert seconds == pytest.approx(39.0, rel=0.1)  # bench_predict.py on an H100, 2026-11-26


def test_estimates_grow_with_model_size_axes_and_tta() -> None:
    def cpu(size: str, **kw) -> float:
        return presets.estimate_predict_seconds(size, (64, 512, 512), BENCH_VOXEL, **kw)

    assert cpu("small") < cpu("default") < cpu("large")
    assert cpu("default", axes=["xy"]) < cpu("default") < cpu("default", tta=True)
    gpu = presets.estimate_predict_seconds("default", (64, 512, 512), BENCH_VOXEL, gpu=True)
    assert gpu < cpu("default") / 50
    assert presets.SIZES["large"].speed_text() == (
        "predicts a 1000 x 1000 slice in about 8.3 s on a 2-core CPU, 2.9 ms on a GPU"
    )
    assert presets.describe_seconds(None).startswith("not measured yet")


def test_models_predict_along_the_views_they_were_trained_on_by_default() -> None:
    assert presets.model_axes({"training": {"axes": ["xy"]}}) == ["xy"]
    assert presets.model_axes({"training": {"axes": ["yz", "xy"]}}) == ["xy", "yz"]
    assert presets.model_axes({"training": {}}) == ["xy", "xz", "yz"]  # older cards


def test_train_estimate_reproduces_measured_cpu_trainings() -> None:
    """Demo trainings on the 2-core development machine (10 iterations of 8 x 256 px per
    epoch): small 2 epochs 28.4 s, 4 epochs 46.7 s; default 2 epochs 57.6 s (2026-11-26)."""
    for size, epochs, measured in (("small", 2, 28.4), ("small", 4, 46.7), ("default", 2, 57.6)):
        estimate = presets.estimate_train_seconds(size, epochs, 10, 8, 256)
        assert estimate == pytest.approx(measured, rel=0.2)
