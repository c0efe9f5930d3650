"""Image formation of a work unit: granularity, ribosome-like dots, in-plane PSF, plane gain and
signal-dependent noise."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from emstudio.core.synth.params import (
    DOT_DENSITY,
    DOT_PEAK,
    NOISE_READ,
    NOISE_SHOT,
    PLANE_GAIN,
    PSF_PX,
    ROWS,
)


def form_image(
    img: np.ndarray,
    grain_amp: np.ndarray,
    cyto: np.ndarray,
    seed: int,
    planes: np.ndarray,
    r0: int,
    r1: int,
) -> np.ndarray:
    """The noisy image of planes x rows r0..r1-1 from the noise-free one (float32, modified);
    grain_amp (scaled in place) and cyto as painted by the objects."""
    n, nrow, nx_ = img.shape
    # random parts, from generators seeded per (plane, fixed row block), so that any row range
    # draws the same numbers. Granularity and dots are added before the PSF, which shapes them.
    noise = np.empty((n, nrow, nx_), np.float32)
    gain = np.empty((n, 1, 1), np.float32)
    offset = np.empty((n, 1, 1), np.float32)
    # the PSF divides the std of white noise by 2 sqrt(pi) s and a unit impulse by 2 pi s^2
    grain_amp *= np.float32(2.0 * math.sqrt(math.pi) * PSF_PX)
    dot_w = np.float32(DOT_PEAK * 2.0 * math.pi * PSF_PX**2)
    for i, k in enumerate(planes):
        prng = np.random.default_rng([seed, 0xE5, 3, int(k)])
        gain[i] = 1.0 + PLANE_GAIN * prng.standard_normal()
        offset[i] = 0.5 * PLANE_GAIN * prng.standard_normal()
        for b in range(r0 // ROWS, -(-r1 // ROWS)):
            brng = np.random.default_rng([seed, 0xE5, 4, int(k), b])
            white = brng.standard_normal((2, ROWS, nx_), np.float32)
            nd = int(brng.poisson(DOT_DENSITY * ROWS * nx_))
            dpos = brng.integers(0, ROWS * nx_, nd)
            dw = brng.uniform(0.5, 1.0, nd)
            lo_, hi_ = max(r0, b * ROWS), min(r1, b * ROWS + ROWS)
            src = slice(lo_ - b * ROWS, hi_ - b * ROWS)
            dst = slice(lo_ - r0, hi_ - r0)
            dots = np.bincount(dpos, dw, ROWS * nx_).reshape(ROWS, nx_)[src]
            img[i, dst] += white[0, src] * grain_amp[i, dst] - (dots * cyto[i, dst]) * dot_w
            noise[i, dst] = white[1, src]
    img = ndimage.gaussian_filter(img, (0, PSF_PX, PSF_PX), truncate=3.5)
    img = img * gain + offset
    img += noise * np.sqrt(np.float32(NOISE_SHOT) * np.maximum(img, 0) + np.float32(NOISE_READ))
    return img
