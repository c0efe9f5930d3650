"""How much volunteers agree: with a reference mask (consensus, expert) and with each other."""

from __future__ import annotations

import numpy as np


def dice_to(masks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(R,) Dice of each of ``masks`` (R, ...) with ``reference`` (1.0 where both are empty)."""
    flat = np.asarray(masks, bool).reshape(len(masks), -1)
    ref = np.asarray(reference, bool).ravel()
    overlap = (flat & ref).sum(axis=1)
    total = flat.sum(axis=1) + ref.sum()
    return np.where(total > 0, 2.0 * overlap / np.maximum(total, 1), 1.0)


def mean_pairwise_dice(masks: np.ndarray) -> float | None:
    """Mean Dice over all pairs of ``masks`` (R, ...); None for fewer than two masks."""
    r = len(masks)
    if r < 2:
        return None
    flat = np.asarray(masks, bool).reshape(r, -1)
    overlap = np.array([np.count_nonzero(flat[i] & flat, axis=1) for i in range(r)])
    sizes = np.diag(overlap)
    total = sizes[:, None] + sizes[None, :]
    pair = np.where(total > 0, 2.0 * overlap / np.maximum(total, 1), 1.0)
    upper = np.triu_indices(r, k=1)
    return float(pair[upper].mean())
