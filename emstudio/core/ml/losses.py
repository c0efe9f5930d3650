"""Losses and validation figures over labelled pixels only (the mask).

Outputs of a model, in order: with ``bce_dice`` one sigmoid map per class; with ``ce_dice`` a
background map then one per class (softmax over them); then, if trained with one, a sigmoid
boundary map. Class weights (BCE ``pos_weight`` / CE weights) lift thin, rare structures.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

LOSSES = ("bce_dice", "ce_dice")
MAX_WEIGHT = 5.0


def output_channels(classes: int, boundary: bool, loss: str) -> int:
    return classes + (loss == "ce_dice") + int(boundary)


def class_weights(fractions: np.ndarray) -> list[float]:
    """Weight of each class (and boundary) from its labelled-pixel fraction: (neg/pos)^(1/4).

    Mild on purpose: the Dice term already balances classes, and a strong BCE weight makes thin
    structures come out too thick at the 0.5 threshold."""
    f = np.clip(np.asarray(fractions, np.float64), 1e-4, 1 - 1e-4)
    return [float(w) for w in np.clip(((1 - f) / f) ** 0.25, 1.0, MAX_WEIGHT)]


def probabilities(logits: torch.Tensor, classes: int, loss: str) -> torch.Tensor:
    """(B, classes [+ boundary], H, W) probabilities from a model's logits."""
    if loss == "ce_dice":
        maps = torch.softmax(logits[:, : classes + 1].float(), dim=1)[:, 1:]
        extra = logits[:, classes + 1 :]
    else:
        maps = torch.sigmoid(logits[:, :classes].float())
        extra = logits[:, classes:]
    if extra.shape[1]:
        maps = torch.cat([maps, torch.sigmoid(extra.float())], dim=1)
    return maps


def _dice_loss(prob: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice per channel over the batch, averaged; prob/target (B, K, H, W)."""
    m = mask.unsqueeze(1)
    inter = (prob * target * m).sum(dim=(0, 2, 3))
    total = (prob * m).sum(dim=(0, 2, 3)) + (target * m).sum(dim=(0, 2, 3))
    return (1 - (2 * inter + 1) / (total + 1)).mean()


def _per_patch_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over each patch's labelled pixels, then over patches: a patch labelled on a few
    rows only (an XZ view of XY labels) counts as much as a fully labelled one."""
    counts = mask.sum(dim=(1, 2))
    per_patch = (values * mask).sum(dim=(1, 2)) / counts.clamp_min(1.0)
    return per_patch.sum() / (counts > 0).sum().clamp_min(1)


class SegmentationLoss:
    """Dice + BCE (or Dice + cross-entropy) over labelled pixels, with class weighting."""

    def __init__(self, classes: int, boundary: bool, loss: str, weights: list[float]) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {loss!r}")
        self.classes = classes
        self.boundary = boundary
        self.loss = loss
        self.weights = torch.tensor(weights, dtype=torch.float32)

    def targets(self, index: torch.Tensor, boundary: torch.Tensor | None) -> torch.Tensor:
        """(B, classes [+ boundary], H, W) binary targets."""
        onehot = F.one_hot(index, self.classes + 1).permute(0, 3, 1, 2)[:, 1:].float()
        if self.boundary and boundary is not None:
            onehot = torch.cat([onehot, boundary.unsqueeze(1).float()], dim=1)
        return onehot

    def __call__(self, logits, index, boundary, mask) -> torch.Tensor:
        logits = logits.float()
        weights = self.weights.to(logits.device)
        target = self.targets(index, boundary)
        k = self.classes
        if self.loss == "ce_dice":
            ce_w = torch.cat([torch.ones(1, device=logits.device), weights[:k]])
            ce = F.cross_entropy(logits[:, : k + 1], index, weight=ce_w, reduction="none")
            pixel = _per_patch_mean(ce, mask)
            sig_logits, sig_target, sig_w = logits[:, k + 1 :], target[:, k:], weights[k:]
        else:
            pixel = logits.new_zeros(())
            sig_logits, sig_target, sig_w = logits, target, weights
        if sig_logits.shape[1]:
            bce = F.binary_cross_entropy_with_logits(
                sig_logits, sig_target, pos_weight=sig_w.view(1, -1, 1, 1), reduction="none"
            )
            pixel = pixel + _per_patch_mean(bce.mean(dim=1), mask)
        prob = probabilities(logits, k, self.loss)
        return pixel + _dice_loss(prob, target, mask)


class Scores:
    """Accumulates true/false positives/negatives per channel at probability 0.5."""

    def __init__(self, channels: int) -> None:
        self.tp = np.zeros(channels)
        self.fp = np.zeros(channels)
        self.fn = np.zeros(channels)

    def add(self, prob: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> None:
        pred = prob >= 0.5
        truth = target >= 0.5
        m = mask.unsqueeze(1) > 0
        dims = (0, 2, 3)
        self.tp += ((pred & truth & m).sum(dim=dims)).cpu().numpy()
        self.fp += ((pred & ~truth & m).sum(dim=dims)).cpu().numpy()
        self.fn += ((~pred & truth & m).sum(dim=dims)).cpu().numpy()

    def dice(self) -> np.ndarray:
        return 2 * self.tp / np.maximum(2 * self.tp + self.fp + self.fn, 1)

    def iou(self) -> np.ndarray:
        return self.tp / np.maximum(self.tp + self.fp + self.fn, 1)
