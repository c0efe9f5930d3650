"""Augmentation keeps image and labels aligned; losses count labelled pixels only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emstudio.core.ml.augment import AugmentConfig, augment
from emstudio.core.ml.losses import (
    Scores,
    SegmentationLoss,
    class_weights,
    output_channels,
    probabilities,
)


def batch(n=6, size=24):
    gen = torch.Generator().manual_seed(0)
    coarse = (torch.rand((n, 1, size // 6, size // 6), generator=gen) > 0.7).float()
    index = torch.nn.functional.interpolate(coarse, size=(size, size))[:, 0].long()  # blobs
    image = index.float().unsqueeze(1).repeat(1, 3, 1, 1)  # the image *is* the labels
    mask = torch.ones((n, size, size))
    mask[:, :, :4] = 0
    return image, index, index.float(), mask


@pytest.mark.parametrize("elastic", [False, True])
def test_geometric_augmentation_moves_image_and_labels_together(elastic) -> None:
    image, index, boundary, mask = batch()
    config = AugmentConfig(intensity=False, blur=0.0, noise=0.0, elastic=elastic)
    out_image, out_index, out_boundary, out_mask = augment(
        (image, index, boundary, mask), config, torch.Generator().manual_seed(1)
    )
    assert out_image.shape == image.shape and out_index.dtype == torch.long
    inside = out_mask > 0
    agree = (out_image[:, 1] > 0.5) == (out_index == 1)
    assert agree[inside].float().mean() > (0.97 if elastic else 0.999)
    assert torch.equal(out_boundary, out_index.float()) or elastic
    assert not torch.equal(out_index, index)  # something moved
    assert set(out_index.unique().tolist()) <= {0, 1}


def test_views_with_a_vertical_z_axis_keep_it_vertical() -> None:
    image, index, boundary, mask = batch(n=16)
    index[:, :, :] = torch.arange(24).view(1, 24, 1)  # rows numbered: z grows downwards
    config = AugmentConfig(intensity=False, blur=0.0, noise=0.0)
    out = augment((image, index, boundary, mask), config, torch.Generator().manual_seed(4),
                  turnable=[False] * 16)  # fmt: skip
    for labels in out[1]:
        assert (labels == labels[:, :1]).all()  # rows stay rows: mirrored at most


def test_intensity_blur_noise_change_the_image_only() -> None:
    image, index, boundary, mask = batch()
    image = image + torch.randn(image.shape, generator=torch.Generator().manual_seed(3))
    config = AugmentConfig(flips=False, blur=1.0, noise=1.0)
    out = augment((image, index, boundary, mask), config, torch.Generator().manual_seed(2))
    assert not torch.allclose(out[0], image)
    assert torch.equal(out[1], index) and torch.equal(out[3], mask)
    off = augment((image, index, boundary, mask), AugmentConfig.off(), torch.Generator())
    assert torch.equal(off[0], image)


def test_seeded_augmentation_is_reproducible() -> None:
    tensors = batch()
    a = augment(tensors, AugmentConfig(elastic=True), torch.Generator().manual_seed(5))
    b = augment(tensors, AugmentConfig(elastic=True), torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True) if x is not None)


@pytest.mark.parametrize("kind", ["bce_dice", "ce_dice"])
def test_loss_is_low_for_the_truth_and_ignores_unlabelled_pixels(kind) -> None:
    index = torch.zeros((2, 16, 16), dtype=torch.long)
    index[:, 4:8] = 1
    index[:, 10:12] = 2
    boundary = torch.zeros((2, 16, 16))
    boundary[:, 4] = 1
    channels = output_channels(2, True, kind)
    loss = SegmentationLoss(2, True, kind, [1.0, 1.0, 1.0])
    target = loss.targets(index, boundary)  # (2, 3, 16, 16): classes then boundary
    logits = torch.full((2, channels, 16, 16), -20.0)
    if kind == "ce_dice":
        logits[:, 0] = 20.0 * (index == 0)
        logits[:, 1:3] = 40.0 * target[:, :2] - 20.0
        logits[:, 3] = 40.0 * target[:, 2] - 20.0
    else:
        logits = 40.0 * target - 20.0
    mask = torch.ones((2, 16, 16))
    good = float(loss(logits, index, boundary, mask))
    wrong = float(loss(-logits, index, boundary, mask))
    assert good < 0.05 < wrong
    prob = probabilities(logits, 2, kind)
    assert prob.shape == (2, 3, 16, 16) and torch.allclose(prob, target, atol=1e-6)
    # errors where nothing is labelled cost nothing
    spoiled = logits.clone()
    spoiled[:, :, :, :3] *= -1
    mask[:, :, :3] = 0
    assert float(loss(spoiled, index, boundary, mask)) < 0.05


def test_class_weights_lift_thin_structures() -> None:
    weights = class_weights(np.array([0.5, 0.01, 0.0]))
    assert weights[0] == 1.0 and 3.0 < weights[1] < 3.3 and weights[2] == 5.0


def test_scores_count_at_one_half() -> None:
    scores = Scores(1)
    prob = torch.tensor([[[[0.9, 0.9, 0.1, 0.1]]]])
    truth = torch.tensor([[[[1.0, 0.0, 1.0, 0.0]]]])
    scores.add(prob, truth, torch.ones((1, 1, 4)))
    assert scores.dice().tolist() == [0.5] and scores.iou().tolist() == [1 / 3]
