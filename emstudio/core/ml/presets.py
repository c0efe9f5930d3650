"""Model sizes, default settings and time estimates (no torch: the GUI reads this module).

Speeds are model-grid pixels per second measured on the development machine (a shared 2-core
AMD EPYC VM, PyTorch 2.13 CPU): prediction through ``inference.TileRunner`` on 256 px tiles,
training as forward + backward + AdamW on batches of 8 x 128 px. GPU speeds were measured with
``benchmarks/bench_models.py`` on an NVIDIA H200 (PyTorch 2.11, CUDA 13, bf16 autocast): the
model's own speed on 512 px tiles in batches of 256 (2026-11-26). A training step there ran
at 31-34 Mpx/s for every size, but a whole GPU training job (patch sampling on the CPU) was not
measured, so ``train_gpu`` stays ``None`` and the Train dialog says its GPU time is not known.
"""

from __future__ import annotations

from dataclasses import dataclass

from emstudio.core.ml.geometry import AXES, PLANE_DIMS, TTA_FLIPS, model_size
from emstudio.core.progress import describe_duration

SLICE_PIXELS = 1e6  # the slice in which ``ModelSize.speed_text`` states speeds


@dataclass(frozen=True)
class ModelSize:
    name: str
    depth: int
    base_channels: int
    summary: str
    predict_cpu: float  # model pixels / s, one plane direction, batch inference on CPU
    train_cpu: float  # model pixels / s through forward + backward on CPU
    predict_gpu: float | None = None  # not yet measured
    train_gpu: float | None = None
    stem: int = 1  # pixels folded into channels (``unet.UNetConfig.stem``)
    # peak memory of a training step (forward, backward, AdamW) per pixel of a batch, fp32 on
    # a CPU (batches of 4 and 16 patches of 256 px, 2026-11-27, rounded up)
    train_bytes_per_pixel: int = 4300

    def speed_text(self) -> str:
        """Its prediction speed in words a biologist reads at a glance: the time for one
        1000 x 1000 slice (the model's own work) on the machines its speeds were measured on."""
        gpu = (
            f"{SLICE_PIXELS / self.predict_gpu * 1000:.1f} ms on a GPU"
            if self.predict_gpu
            else "GPU speed not measured yet"
        )
        cpu = SLICE_PIXELS / self.predict_cpu
        return f"predicts a 1000 x 1000 slice in about {cpu:.1f} s on a 2-core CPU, {gpu}"


SIZES: dict[str, ModelSize] = {
    "small": ModelSize(
        "small",
        3,
        8,
        "fastest on a CPU; fine for clean data and quick tries",
        2.3e6,
        0.59e6,
        823e6,
        train_bytes_per_pixel=1200,
    ),
    # No layer at full resolution (stem 2): 2.1x the speed of the depth-4, 16-channel model it
    # replaced on an H200 (1246 against 590 Mpx/s, same day), 1.4x on a CPU, and as accurate on
    # real data: trained alike on a third of the slices, Dice 0.782 against 0.778 (ISBI 2012
    # membranes) and 0.588 against 0.582 (VNC mitochondria) on the slices not trained on.
    "default": ModelSize(
        "default",
        3,
        32,
        "the usual choice: membranes, organelles, nuclear envelope",
        0.76e6,
        0.23e6,
        1246e6,
        stem=2,
        train_bytes_per_pixel=1300,
    ),
    "large": ModelSize(
        "large",
        4,
        32,
        "hard, varied data; slowest (a GPU is advised)",
        0.12e6,
        0.03e6,
        348e6,
        train_bytes_per_pixel=4200,
    ),
}
# A whole GPU prediction job (reading, resampling, blending, combining and writing the volumes
# included) ran at this share of the model's own speed (measured on an H200), counted as
# ``estimate_predict_seconds`` counts: 39.0 s for 517 x 2048 x 2048 tri-axis at 40 x 10 x 10 nm
# with the default model, in columns, on an H100 (benchmarks/bench_predict.py, 2026-11-26).
GPU_JOB_EFFICIENCY = 0.52
DEFAULT_SIZE = "default"

TRAIN_DEFAULTS: dict[str, object] = {
    "size": DEFAULT_SIZE,
    "slices": 5,
    "epochs": 30,
    "iterations": 100,  # per epoch
    "batch": 8,
    "patch": 256,
    "lr": 2e-3,
    "loss": "bce_dice",
    "normalisation": "volume",
    "val_fraction": 0.2,
    "patience": 8,
    "seed": 0,
    "axes": "auto",
    "freeze_encoder_epochs": 0,
    "augment": True,
    "elastic": False,
}

PREDICT_DEFAULTS: dict[str, object] = {
    "axes": ["xy", "xz", "yz"],
    "combine": "mean",
    "tta": False,
    "keep_axes": False,
    "device": "auto",
}
COMBINE_RULES = ("mean", "max", "vote")


def model_axes(card: dict) -> list[str]:
    """The default axes to predict with a model: the views it was trained on (a model trained
    on XY alone, as for strongly anisotropic stacks, has never seen an XZ/YZ view), else all."""
    trained = (card.get("training") or {}).get("axes") or []
    return [a for a in AXES if a in trained] or list(AXES)


def model_pixels(
    shape: tuple[int, int, int], voxel_nm: tuple[float, float, float], pixel_nm: float, axis: str
) -> int:
    """Model-grid pixels a prediction along ``axis`` computes (anisotropy costs here)."""
    u, v = PLANE_DIMS[axis]
    normal = 3 - u - v
    return (
        shape[normal]
        * model_size(shape[u], voxel_nm[u] / pixel_nm)
        * model_size(shape[v], voxel_nm[v] / pixel_nm)
    )


def estimate_predict_seconds(
    size: str,
    shape: tuple[int, int, int],
    voxel_nm: tuple[float, float, float],
    axes: list[str] | tuple[str, ...] = AXES,
    tta: bool = False,
    gpu: bool = False,
    pixel_nm: float | None = None,
) -> float | None:
    """Rough seconds for a prediction (tile overlap included); None when unmeasured."""
    preset = SIZES[size]
    speed = preset.predict_gpu * GPU_JOB_EFFICIENCY if gpu and preset.predict_gpu else None
    speed = speed if gpu else preset.predict_cpu
    if not speed:
        return None
    pixel = pixel_nm or min(voxel_nm[1], voxel_nm[2])
    work = sum(model_pixels(shape, voxel_nm, pixel, a) for a in axes)
    overlap = 1.3
    return work * overlap * (len(TTA_FLIPS) if tta else 1) / speed


# Starting a training job (torch, the labelled slices, sampling, the saved model) on top of its
# epochs: 2-epoch CPU trainings of the demo (10 iterations of 8 x 256 px) took 28.4 s (small)
# and 74.6 s (the default of then) against 17 s and 62 s of epochs; 4 small epochs took 46.7 s.
TRAIN_JOB_START_S = 11.0


def train_step_bytes(size: str, batch: int, patch: int) -> int:
    """Rough peak bytes of one training step of a ``size`` model (the largest preset's rate for
    a custom size)."""
    preset = SIZES.get(size) or max(SIZES.values(), key=lambda s: s.train_bytes_per_pixel)
    return batch * patch * patch * preset.train_bytes_per_pixel


def estimate_train_seconds(
    size: str, epochs: int, iterations: int, batch: int, patch: int, gpu: bool = False
) -> float | None:
    """Rough seconds for a full training run (no early stop); None when unmeasured."""
    preset = SIZES[size]
    speed = preset.train_gpu if gpu else preset.train_cpu
    if not speed:
        return None
    return TRAIN_JOB_START_S + epochs * iterations * batch * patch * patch / speed


def describe_seconds(seconds: float | None) -> str:
    """An estimate in words; None: not known."""
    if seconds is None:
        return "not measured yet for this model size"
    return describe_duration(seconds)
