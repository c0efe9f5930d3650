"""Model speed per size (issue: Deep learning): the figures behind the "small / default / large"
choice in the Train and Predict dialogs (``emstudio/core/ml/presets.py``).

Run with ``python benchmarks/bench_models.py [--device auto] [--sizes small,default,large]``.

For each size, on the chosen device:
- prediction: model-grid pixels per second through ``inference.TileRunner`` (the code the
  predict job uses: batches sized from free GPU memory, bf16 autocast and channels_last on
  CUDA) on 512 x 512 tiles of 5 slices already on the device, so the figure is the model's own
  speed, without reading or writing volumes (``bench_predict.py`` measures the whole job);
- training: model-grid pixels per second through forward + Dice/BCE loss + backward + AdamW
  on batches of 8 x 256 x 256 patches (autocast on CUDA, as the train job does).
Each figure is the median of --repeats timed runs after a warm-up. Prints a table and the
peak GPU memory.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from emstudio.core.ml import presets
from emstudio.core.ml.device import autocast, describe, select_device
from emstudio.core.ml.inference import TileRunner
from emstudio.core.ml.losses import SegmentationLoss
from emstudio.core.ml.unet import UNet2p5D, UNetConfig

SLICES = 5
CLASSES = 3
PREDICT_TILE = 512
TRAIN_BATCH, TRAIN_PATCH = 8, 256


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(step, device: torch.device, repeats: int) -> float:
    """Median seconds of ``step()`` after one warm-up call."""
    step()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def model_for(size: str) -> UNet2p5D:
    preset = presets.SIZES[size]
    torch.manual_seed(0)
    return UNet2p5D(
        UNetConfig(SLICES, CLASSES, preset.depth, preset.base_channels, stem=preset.stem)
    )


def predict_speed(size: str, device: torch.device, repeats: int) -> tuple[float, int]:
    """(model pixels / s, tiles per batch) for prediction."""
    runner = TileRunner(model_for(size), CLASSES, "bce_dice", device)
    tile_shape = (SLICES, PREDICT_TILE, PREDICT_TILE)
    batch = runner.size_batch(tile_shape)
    count = max(batch, 8 if device.type == "cpu" else 2 * batch)
    tiles = torch.rand((count, *tile_shape), device=device)
    seconds = timed(lambda: runner(tiles), device, repeats)
    return count * PREDICT_TILE**2 / seconds, batch


def train_speed(size: str, device: torch.device, repeats: int) -> float:
    """Model pixels / s through one optimisation step."""
    model = model_for(size).to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = SegmentationLoss(CLASSES, False, "bce_dice", [1.0] * CLASSES)
    shape = (TRAIN_BATCH, TRAIN_PATCH, TRAIN_PATCH)
    image = torch.rand((TRAIN_BATCH, SLICES, TRAIN_PATCH, TRAIN_PATCH), device=device)
    index = torch.randint(0, CLASSES + 1, shape, device=device)
    mask = torch.ones(shape, device=device)

    def step() -> None:
        with autocast(device):
            logits = model(image.contiguous(memory_format=torch.channels_last))
        loss = loss_fn(logits, index, None, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return TRAIN_BATCH * TRAIN_PATCH**2 / timed(step, device, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default=",".join(presets.SIZES))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = select_device(args.device)
    print(f"Model speed on {describe(device)}, PyTorch {torch.__version__}")
    print(f"{'size':<9}{'predict Mpx/s':>15}{'batch':>7}{'train Mpx/s':>13}{'GPU peak':>11}")
    for size in args.sizes.split(","):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        predict, batch = predict_speed(size, device, args.repeats)
        train = train_speed(size, device, args.repeats)
        peak = (
            f"{torch.cuda.max_memory_allocated(device) / 2**30:>8.1f} GiB"
            if device.type == "cuda"
            else f"{'n/a':>11}"
        )
        print(f"{size:<9}{predict / 1e6:>15.2f}{batch:>7}{train / 1e6:>13.2f}{peak}")


if __name__ == "__main__":
    main()
