"""The train job's up-front time estimate: the Train dialog's, in a line of the job's log."""

from __future__ import annotations

from emstudio.core.ml import presets
from emstudio.core.ml.train_config import TrainConfig
from emstudio.core.progress import describe_duration
from emstudio.jobs.tasks.train import time_estimate


def test_a_cpu_training_says_up_front_what_it_takes_at_most() -> None:
    config = TrainConfig(size="small", epochs=4, iterations=20, batch=8, patch=128)
    seconds = presets.estimate_train_seconds("small", 4, 20, 8, 128)
    text = time_estimate(config, gpu=False)
    assert text.startswith(f"4 epochs of 20 batches: {describe_duration(seconds)} at most")
    longer = time_estimate(TrainConfig(size="large", epochs=40), gpu=False)
    assert presets.estimate_train_seconds("large", 40, 100, 8, 256) > 10 * seconds
    assert "h at most" in longer or "min at most" in longer


def test_no_estimate_where_the_speed_is_not_measured() -> None:
    assert presets.SIZES["default"].train_gpu is None
    assert time_estimate(TrainConfig(), gpu=True) == ""


def test_a_training_from_a_model_is_estimated_at_that_models_size() -> None:
    config = TrainConfig(size="small", epochs=1, iterations=100)  # --size small, --init a default
    default = presets.estimate_train_seconds("default", 1, 100, 8, 256)
    text = time_estimate(config, gpu=False, size="default")
    assert text.startswith(f"1 epoch of 100 batches: {describe_duration(default)} at most")
