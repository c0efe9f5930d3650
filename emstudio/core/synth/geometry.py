"""Vector helpers of the phantom: rotations, random directions, plane waves, distances."""

from __future__ import annotations

import numpy as np


def random_rotation(rng: np.random.Generator, max_tilt: float) -> np.ndarray:
    """A rotation (z, y, x coordinates): in-plane by a random angle, then tilted by <= max_tilt."""
    t = rng.uniform(0, 2 * np.pi)
    rz = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    f = rng.uniform(-max_tilt, max_tilt)
    rx = np.array([[np.cos(f), -np.sin(f), 0], [np.sin(f), np.cos(f), 0], [0, 0, 1]])
    return rx @ rz


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random directions (n, 3), uniform on the sphere."""
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fourier_features(
    rng: np.random.Generator, n: int, wavelength: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """n plane waves of random direction and wavelength: wave vectors (n, 3), rad/nm; phases."""
    lam = rng.uniform(*wavelength, size=n)
    k = unit_vectors(rng, n) * (2 * np.pi / lam)[:, None]
    return k, rng.uniform(0, 2 * np.pi, size=n)


def dot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot products over the last axis (length 3), broadcast; no BLAS (tiny products through a
    threaded BLAS cost milliseconds each)."""
    return (a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]) + a[..., 2] * b[..., 2]


def rotate_into(v: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """v @ rot for vectors v (..., 3): coordinates along the columns of rot."""
    return np.stack([dot3(v, rot[:, i]) for i in range(3)], axis=-1)


def seg_dist(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Distance between segments p0-p1 and q0-q1 (arrays (..., 3), broadcast; nonzero lengths)."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = (d1 * d1).sum(-1)
    e = (d2 * d2).sum(-1)
    b = (d1 * d2).sum(-1)
    c = (d1 * r).sum(-1)
    f = (d2 * r).sum(-1)
    den = a * e - b * b
    s = np.where(den > 1e-9 * a * e, np.clip((b * f - c * e) / np.maximum(den, 1e-300), 0, 1), 0.0)
    t = (b * s + f) / e
    s = np.where(t < 0, np.clip(-c / a, 0, 1), np.where(t > 1, np.clip((b - c) / a, 0, 1), s))
    t = np.clip(t, 0, 1)
    gap = (p0 + d1 * s[..., None]) - (q0 + d2 * t[..., None])
    return np.sqrt((gap * gap).sum(-1))
