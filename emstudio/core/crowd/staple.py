"""Binary STAPLE (Warfield, Zou & Wells 2004): the truth and each rater's quality, by EM.

Each rater j has a sensitivity p_j = P(says 1 | truth 1) and a specificity q_j = P(says 0 |
truth 0). The E-step gives each pixel's probability W of being foreground from all decisions;
the M-step re-estimates p and q (and, unless given, the foreground prior) from W. A rater who
marks the wrong thing gets a low p or q and so little weight (an inverted rater even becomes
informative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-6


@dataclass
class StapleResult:
    probability: np.ndarray  # (N,) P(truth = 1 | decisions)
    sensitivity: np.ndarray  # (R,)
    specificity: np.ndarray  # (R,)
    iterations: int


def staple(
    decisions: np.ndarray,
    prior: float | None = None,
    max_iter: int = 100,
    tol: float = 1e-5,
    init: float = 0.9,
) -> StapleResult:
    """STAPLE over ``decisions`` (R raters, N pixels; bool). ``prior``: P(truth = 1); by default
    it is estimated along with the raters (started at the fraction of positive decisions), which
    keeps raters who over-mark from biasing it."""
    d = np.asarray(decisions, dtype=np.float32).reshape(len(decisions), -1)
    r, n = d.shape
    f = min(max(float(d.mean()) if prior is None else float(prior), EPS), 1 - EPS)
    p = np.full(r, init)
    q = np.full(r, init)
    w = d.mean(axis=0) if r else np.zeros(n)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        log_a = np.log(f) + np.log(p) @ d + np.log1p(-p) @ (1 - d)
        log_b = np.log1p(-f) + np.log(q) @ (1 - d) + np.log1p(-q) @ d
        w = 1.0 / (1.0 + np.exp(np.clip(log_b - log_a, -50, 50)))
        fg, bg = float(w.sum()), float(n - w.sum())
        p_new = np.clip(d @ w / fg, EPS, 1 - EPS) if fg > EPS else p
        q_new = np.clip((1 - d) @ (1 - w) / bg, EPS, 1 - EPS) if bg > EPS else q
        change = max(np.abs(p_new - p).max(initial=0), np.abs(q_new - q).max(initial=0))
        p, q = p_new, q_new
        if prior is None:
            f = min(max(fg / max(n, 1), EPS), 1 - EPS)
        if change < tol:
            break
    return StapleResult(w.astype(np.float32), p, q, iterations)
