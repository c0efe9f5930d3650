"""The arrays of one work unit of a phantom, into which its objects are painted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.synth.texture import WaveTables


@dataclass(frozen=True)
class Canvas:
    """Planes k0..k1-1 and rows r0..r1-1 (all columns) of a work unit, arrays (planes, rows, X):
    the ground truth, the image before darkening and noise, the darkness of the membranes, the
    granularity amplitude and where ribosome-like dots may appear."""

    tab: WaveTables
    vs: np.ndarray  # voxel size (nm)
    sigma_z: float  # z PSF sigma (nm)
    k0: int
    k1: int
    r0: int
    r1: int
    sem: np.ndarray
    mito_ids: np.ndarray
    nuc_ids: np.ndarray
    img: np.ndarray
    dark: np.ndarray
    grain_amp: np.ndarray
    cyto: np.ndarray

    def block(self, bx: np.ndarray):
        """Slices of (planes, rows, cols) where an object box meets this unit, the planes',
        rows' and columns' coordinates, and the rows (b0, b1)."""
        k0, k1, r0, r1, vs, tab = self.k0, self.k1, self.r0, self.r1, self.vs, self.tab
        a0, a1 = max(bx[0], k0), min(bx[1] + 1, k1)
        b0, b1 = max(bx[2], r0), min(bx[3], r1)
        region = (slice(a0 - k0, a1 - k0), slice(b0 - r0, b1 - r0), slice(bx[4], bx[5]))
        zz = (np.arange(a0, a1) * vs[0])[:, None, None]
        return (
            region,
            zz,
            tab.ys[b0:b1][None, :, None],
            tab.xs[bx[4] : bx[5]][None, None, :],
            (b0, b1),
        )
