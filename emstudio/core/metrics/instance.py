"""Instance metrics from the contingency table of (predicted id, true id) voxel counts.

The table is accumulated slab by slab, so volumes of any size are evaluated in bounded memory.

- Matching: a prediction and a true object match when IoU >= t (t = 0.5, 0.75); each object
  matches at most once (greedy, highest IoU first; for t >= 0.5 matches are unique anyway).
- AP@t (MitoEM / COCO style): predictions ranked by score, greedily matched in that order;
  precision interpolated at 101 recall points. A segmentation has no confidences: its objects
  are then ranked by size, largest first (ties in id order), so that AP does not depend on how
  the objects happen to be numbered.
- VOI split = H(pred | truth), VOI merge = H(truth | pred), in bits, over voxels where the
  truth is not background (CREMI convention).
- Adapted Rand error (as in the SNEMI3D challenge and scikit-image's ``adapted_rand_error``):
  1 - F-score of pair precision and recall, over voxels where the truth is not background.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass
class Contingency:
    """Sparse voxel counts of (pred id, truth id) pairs, background (0) included."""

    pred: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    truth: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def add(self, pred: np.ndarray, truth: np.ndarray) -> None:
        keys = (pred.astype(np.uint64).ravel() << np.uint64(32)) | truth.astype(np.uint64).ravel()
        found, counts = np.unique(keys, return_counts=True)
        old = (self.pred << np.uint64(32)) | self.truth
        keys, inverse = np.unique(np.concatenate([old, found]), return_inverse=True)
        total = np.bincount(inverse, weights=np.concatenate([self.count, counts]))
        self.pred = keys >> np.uint64(32)
        self.truth = keys & np.uint64(0xFFFFFFFF)
        self.count = total.astype(np.int64)

    def sizes(self, which: str) -> dict[int, int]:
        ids = self.pred if which == "pred" else self.truth
        out: dict[int, int] = {}
        for i, n in zip(ids.tolist(), self.count.tolist(), strict=True):
            out[i] = out.get(i, 0) + n
        return out

    def ious(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pred id, truth id, IoU) of overlapping object pairs."""
        pred_size, truth_size = self.sizes("pred"), self.sizes("truth")
        keep = (self.pred > 0) & (self.truth > 0)
        p, t, n = self.pred[keep], self.truth[keep], self.count[keep]
        union = (
            np.array(
                [pred_size[a] + truth_size[b] for a, b in zip(p.tolist(), t.tolist(), strict=True)],
                np.float64,
            )
            - n
        )
        return p, t, n / np.maximum(union, 1)


def match(contingency: Contingency, threshold: float) -> dict[str, float | int]:
    """True/false positives, false negatives, precision, recall and F1 at an IoU threshold."""
    pred_ids = [i for i in contingency.sizes("pred") if i]
    truth_ids = [i for i in contingency.sizes("truth") if i]
    p, t, iou = contingency.ious()
    order = np.argsort(-iou, kind="stable")
    used_p: set[int] = set()
    used_t: set[int] = set()
    for k in order:
        if iou[k] < threshold:
            break
        a, b = int(p[k]), int(t[k])
        if a not in used_p and b not in used_t:
            used_p.add(a)
            used_t.add(b)
    tp = len(used_p)
    fp, fn = len(pred_ids) - tp, len(truth_ids) - tp
    precision = tp / (tp + fp) if tp + fp else float(not truth_ids)
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def average_precision(
    contingency: Contingency, threshold: float, scores: dict[int, float] | None = None
) -> float | None:
    """COCO/MitoEM-style AP at one IoU threshold (101-point interpolation); None, undefined,
    when the truth has no objects."""
    pred_ids = sorted(i for i in contingency.sizes("pred") if i)
    n_truth = sum(1 for i in contingency.sizes("truth") if i)
    if n_truth == 0:
        return None
    scores = scores or {i: float(n) for i, n in contingency.sizes("pred").items()}
    ranked = sorted(pred_ids, key=lambda i: -scores.get(i, 0.0))
    p, t, iou = contingency.ious()
    candidates: dict[int, list[tuple[float, int]]] = {}
    for a, b, v in zip(p.tolist(), t.tolist(), iou.tolist(), strict=True):
        if v >= threshold:
            candidates.setdefault(a, []).append((v, b))
    used: set[int] = set()
    hits = []
    for a in ranked:
        best = max((c for c in candidates.get(a, []) if c[1] not in used), default=None)
        if best is not None:
            used.add(best[1])
        hits.append(best is not None)
    if not hits:
        return 0.0
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / n_truth
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    where = np.searchsorted(recall, RECALL_POINTS, side="left")
    return float(np.mean([envelope[w] if w < len(envelope) else 0.0 for w in where]))


def _entropy_terms(counts: np.ndarray, total: float) -> float:
    probabilities = counts[counts > 0] / total
    return float(-(probabilities * np.log2(probabilities)).sum())


def variation_of_information(contingency: Contingency) -> dict[str, float]:
    """VOI split H(pred|truth) and merge H(truth|pred), in bits, ignoring truth background."""
    keep = contingency.truth > 0
    p, t, n = contingency.pred[keep], contingency.truth[keep], contingency.count[keep]
    total = float(n.sum())
    if total == 0:
        return {"voi_split": 0.0, "voi_merge": 0.0}
    h_joint = _entropy_terms(n, total)
    h_pred = _entropy_terms(_group_sum(p, n), total)
    h_truth = _entropy_terms(_group_sum(t, n), total)
    return {"voi_split": h_joint - h_truth, "voi_merge": h_joint - h_pred}


def _group_sum(ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(ids, return_inverse=True)
    return np.bincount(inverse, weights=counts)


def adapted_rand(contingency: Contingency) -> dict[str, float]:
    """Adapted Rand error, pair precision and recall, ignoring truth background."""
    keep = contingency.truth > 0
    p, t, n = contingency.pred[keep], contingency.truth[keep], contingency.count[keep]
    total = float(n.sum())
    if total == 0:
        return {"adapted_rand_error": 0.0, "rand_precision": 1.0, "rand_recall": 1.0}
    sum_ij = float((n.astype(np.float64) ** 2).sum()) - total
    sum_a = float((_group_sum(t, n) ** 2).sum()) - total
    sum_b = float((_group_sum(p, n) ** 2).sum()) - total
    precision = sum_ij / sum_b if sum_b else 1.0
    recall = sum_ij / sum_a if sum_a else 1.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"adapted_rand_error": 1.0 - f, "rand_precision": precision, "rand_recall": recall}
