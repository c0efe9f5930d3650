"""STAPLE on hand-made raters, the simple consensus rules, outline bands, and agreement scores."""

from __future__ import annotations

import numpy as np
import pytest

from emstudio.core.crowd.consensus import consensus
from emstudio.core.crowd.outline import outline_band
from emstudio.core.crowd.reliability import dice_to, mean_pairwise_dice
from emstudio.core.crowd.staple import staple
from emstudio.core.metrics.semantic import average_hausdorff, dice


def test_staple_hand_made() -> None:
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    raters = np.array(
        [
            truth,
            truth,
            [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],  # misses one foreground pixel
            [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],  # marks two background pixels
        ],
        bool,
    )
    result = staple(raters)
    assert np.array_equal(result.probability >= 0.5, truth)
    assert result.sensitivity[2] == pytest.approx(0.75, abs=0.02)
    assert result.specificity[3] == pytest.approx(4 / 6, abs=0.02)
    assert result.sensitivity[:2].min() > 0.98 and result.specificity[:2].min() > 0.98
    agreeing = staple(np.array([truth, truth]))
    assert np.array_equal(agreeing.probability >= 0.5, truth) and agreeing.iterations < 100


def test_staple_recovers_rater_quality_and_beats_the_vote() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random(20000) < 0.3
    quality = [(0.95, 0.97), (0.9, 0.95), (0.6, 0.6), (0.55, 0.6), (0.6, 0.55)]
    raters = np.array([np.where(truth, rng.random(truth.size) < p, rng.random(truth.size) > q)
                       for p, q in quality])  # fmt: skip
    result = staple(raters)
    for (p, q), p_hat, q_hat in zip(quality, result.sensitivity, result.specificity, strict=True):
        assert p_hat == pytest.approx(p, abs=0.03) and q_hat == pytest.approx(q, abs=0.03)
    errors = {m: (consensus(raters, m).mask != truth).mean() for m in ("majority", "staple")}
    assert errors["staple"] < errors["majority"] / 2


def test_staple_of_two_disagreeing_volunteers_is_their_mean() -> None:
    first = np.zeros((20, 20), bool)
    first[2:12, 2:12] = True
    second = np.zeros((20, 20), bool)
    second[6:18, 8:19] = True  # overlaps the first only in part: no rater is more credible
    masks = np.stack([first, second])
    agreed = consensus(masks, "staple")
    assert np.array_equal(agreed.mask, first | second) and agreed.sensitivity is None
    assert consensus(masks[:1], "staple").mask.sum() == 100


def test_mean_and_majority_differ_on_ties() -> None:
    masks = np.array([[1, 1, 0], [1, 0, 0]], bool)
    assert consensus(masks, "mean").mask.tolist() == [True, True, False]
    assert consensus(masks, "majority").mask.tolist() == [True, False, False]
    with pytest.raises(ValueError, match="consensus method"):
        consensus(masks, "median")


def square(size: int = 40, lo: int = 10, hi: int = 30) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[lo:hi, lo:hi] = True
    return mask


def test_outline_band_width() -> None:
    mask = square()
    centred = outline_band(mask, 4.0)
    assert centred[20, 8:12].all() and not centred[20, 7] and not centred[20, 12]  # 2 + 2 px
    inside = outline_band(mask, 40.0, spacing=(10.0, 10.0), side="inside")
    assert inside[20, 10:14].all() and not inside[20, 14] and not inside[20, 9]
    assert not outline_band(np.zeros((5, 5), bool), 3.0).any()
    assert not outline_band(np.ones((5, 5), bool), 3.0).any()


def test_average_hausdorff_and_dice() -> None:
    a, b = square(), square(lo=11, hi=31)
    assert average_hausdorff(a, a) == 0.0
    assert 0.8 < average_hausdorff(a, b) <= 1.5
    assert average_hausdorff(a, b, sampling=(10, 10)) == pytest.approx(10 * average_hausdorff(a, b))
    assert average_hausdorff(a, np.zeros_like(a)) == float("inf")
    assert average_hausdorff(np.zeros_like(a), np.zeros_like(a)) == 0.0
    assert dice(a, a) == 1.0 and dice(a, ~a) == 0.0 and dice(a & False, a & False) == 1.0


def test_agreement_scores() -> None:
    a, b = square(), square(lo=12, hi=32)
    empty = np.zeros_like(a)
    assert dice_to(np.array([a, b, empty]), a).tolist() == pytest.approx([1.0, dice(a, b), 0.0])
    assert dice_to(np.array([empty]), empty).tolist() == [1.0]
    assert mean_pairwise_dice(np.array([a, a, b])) == pytest.approx((1 + 2 * dice(a, b)) / 3)
    assert mean_pairwise_dice(np.array([a])) is None
