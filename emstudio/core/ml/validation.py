"""Scoring a model during training on its fixed validation batch (patches of held-out slices),
and moving a batch of patches to the device."""

from __future__ import annotations

import torch

from emstudio.core.ml.device import autocast
from emstudio.core.ml.losses import Scores, SegmentationLoss, probabilities
from emstudio.core.ml.sampling import Batch
from emstudio.core.ml.unet import UNet2p5D

VALIDATION_EDGE_FRACTION = 8  # validation scores a patch without this part of it at each edge


def batch_on_device(batch: Batch, device: torch.device):
    """(image, class index, boundary or None, mask) of ``batch`` as tensors on ``device``."""
    boundary = None if batch.boundary is None else torch.from_numpy(batch.boundary).to(device)
    return (
        torch.from_numpy(batch.image).to(device),
        torch.from_numpy(batch.index).to(device),
        boundary,
        torch.from_numpy(batch.mask).to(device),
    )


def evaluate(
    model: UNet2p5D, batch: Batch, loss: SegmentationLoss, device: torch.device, chunk: int = 8
) -> Scores:
    """Dice/IoU of ``model`` on a fixed validation batch, over the middle of each patch: near
    its edges a patch lacks the context a prediction's overlapping tiles have, and scoring them
    put a model at half the Dice it has on whole slices."""
    model.eval()
    scores = Scores(len(loss.weights))
    edge = batch.image.shape[-1] // VALIDATION_EDGE_FRACTION
    middle = (..., slice(edge, -edge or None), slice(edge, -edge or None))
    with torch.inference_mode(), autocast(device):
        for s in range(0, len(batch.image), chunk):
            part = Batch(
                batch.image[s : s + chunk],
                batch.index[s : s + chunk],
                None if batch.boundary is None else batch.boundary[s : s + chunk],
                batch.mask[s : s + chunk],
                batch.turnable[s : s + chunk],
            )
            image, index, boundary, mask = batch_on_device(part, device)
            logits = model(image.contiguous(memory_format=torch.channels_last))
            prob = probabilities(logits, loss.classes, loss.loss)
            target = loss.targets(index, boundary)
            scores.add(prob[middle], target[middle], mask[middle])
    return scores
