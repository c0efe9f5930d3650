"""Compact, exactly rounded profiles: bumps, smooth steps, blurred sheets, truth bands."""

from __future__ import annotations

import numpy as np


def bump(u2: np.ndarray) -> np.ndarray:
    """A Gaussian-like bump of u (given u^2): ~exp(-u^2/2), compact (zero for |u| > 3.46)."""
    b = np.maximum(1.0 - u2 * (1.0 / 12.0), 0.0)
    b2 = b * b
    return b2 * b2 * b2


def smooth_step(x: np.ndarray) -> np.ndarray:
    """Smooth step from 0 (x <= -3) to 1 (x >= 3), slope 1/4 at 0 like a logistic."""
    t = np.clip(0.5 + x * (1.0 / 6.0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def sheet_profile(d: np.ndarray, nz: np.ndarray, sigma0: float, sigma_z: float) -> np.ndarray:
    """A thin dark sheet at d = 0 seen through a PSF sigma_z wide along z: a bump of width
    sqrt(sigma0^2 + (nz sigma_z)^2), peak scaled to keep its integral (sheets seen en face are
    fainter and wider, as in serial-section images)."""
    s2 = sigma0 * sigma0 + (nz * sigma_z) ** 2
    return np.sqrt(sigma0 * sigma0 / s2) * bump(d * d / s2)


def sampling_term(nz: np.ndarray, ny: np.ndarray, nx: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """Half of (the voxel extent along the normal - the smallest voxel size), nm: widening a
    sheet's truth band by it makes the band tunnel free on the anisotropic grid."""
    return 0.5 * (np.abs(nz) * vs[0] + np.abs(ny) * vs[1] + np.abs(nx) * vs[2] - vs.min())
