"""Plane-wave fields over the volume: cytoplasm shading, chromatin, the cells' warp."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from emstudio.core.synth.params import CYTO, LOWFREQ_AMP, TILE

if TYPE_CHECKING:
    from emstudio.core.synth.spec import PhantomSpec


class WaveTables:
    """cos/sin of k_y*y and k_x*x over the full axes, for fields that are sums of plane waves."""

    def __init__(self, spec: PhantomSpec):
        _, ny_, nx_ = spec.shape
        vs = spec.voxel_size_nm
        self.ys = np.arange(ny_) * vs[1]
        self.xs = np.arange(nx_) * vs[2]
        self.fields = {}
        for name, k, ph in (
            ("tex", spec.tex_k, spec.tex_phase),
            ("chrom", spec.chrom_k, spec.chrom_phase),
        ):
            ay = np.multiply.outer(k[:, 1], self.ys)
            ax = np.multiply.outer(k[:, 2], self.xs)
            self.fields[name] = (k[:, 0], ph, np.cos(ay), np.sin(ay), np.cos(ax), np.sin(ax))
        self.warp = spec.warp
        # x' = x + fz(z) + fy(y); y' = y + gz(z) + gx(x); z' = z + hy(y) + hx(x)
        # over the whole tile grid (edge tiles reach past the volume)
        yt = np.arange(-(-ny_ // TILE) * TILE) * vs[1]
        xt = np.arange(-(-nx_ // TILE) * TILE) * vs[2]
        self.fy = self._wave1d(1, yt)
        self.gx = self._wave1d(3, xt)
        self.hy = self._wave1d(4, yt)
        self.hx = self._wave1d(5, xt)

    def _wave1d(self, i: int, a: np.ndarray) -> np.ndarray:
        k, ph, amp = self.warp[i, :, 0], self.warp[i, :, 1], self.warp[i, :, 2]
        return amp[0] * np.sin(k[0] * a + ph[0]) + amp[1] * np.sin(k[1] * a + ph[1])

    def warp_z(self, i: int, z: float) -> float:
        """The z-dependent warp term of function i (0: x' shift, 2: y' shift) at z."""
        k, ph, amp = self.warp[i, :, 0], self.warp[i, :, 1], self.warp[i, :, 2]
        return amp[0] * math.sin(k[0] * z + ph[0]) + amp[1] * math.sin(k[1] * z + ph[1])

    def _waves(self, name: str, zc: np.ndarray, sel: slice, axis: int, r: slice) -> np.ndarray:
        """sum over the waves sel of sqrt(2/K) cos(k_z z + k_a a + phase), a = y (axis 1) or
        x (axis 2), on planes zc (n,) and rows/columns r: (n, len)."""
        kz, ph, cy, sy, cx, sx = self.fields[name]
        ca, sa = (cy, sy) if axis == 1 else (cx, sx)
        idx = range(len(ph))[sel]
        amp = math.sqrt(2.0 / len(idx))
        out = np.zeros((len(zc), ca[0, r].size))
        for i in idx:
            cz = np.array([amp * math.cos(kz[i] * z + ph[i]) for z in zc])[:, None]
            sz = np.array([amp * math.sin(kz[i] * z + ph[i]) for z in zc])[:, None]
            out += cz * ca[i, r] - sz * sa[i, r]
        return out

    def shading(self, zc: np.ndarray, ry: slice, rx: slice) -> np.ndarray:
        """The cytoplasm level plus a smooth low-frequency field u(z,y) + v(z,x) + u2 v2 of
        standard deviation LOWFREQ_AMP (float32)."""
        u = self._waves("tex", zc, slice(0, 4), 1, ry)
        v = self._waves("tex", zc, slice(4, 8), 2, rx)
        u2 = self._waves("tex", zc, slice(8, 12), 1, ry)
        v2 = self._waves("tex", zc, slice(12, 16), 2, rx)
        g = np.float32(LOWFREQ_AMP / math.sqrt(3.0))
        u, v, u2, v2 = (a.astype(np.float32) * g for a in (u, v, u2, v2))
        u += np.float32(CYTO)
        return (u[:, :, None] + v[:, None, :]) + u2[:, :, None] * (v2[:, None, :] / g)

    def fourier(self, name: str, zc: np.ndarray, ry: slice, rx: slice) -> np.ndarray:
        """sum_i sqrt(2/K) cos(k_i . p + phase_i) on planes zc (n,), rows ry, columns rx."""
        kz, ph, cy, sy, cx, sx = self.fields[name]
        amp = math.sqrt(2.0 / len(ph))
        out = np.zeros((len(zc), cy[0, ry].size, cx[0, rx].size))
        for i in range(len(ph)):
            cz = np.array([amp * math.cos(kz[i] * z + ph[i]) for z in zc])[:, None]
            sz = np.array([amp * math.sin(kz[i] * z + ph[i]) for z in zc])[:, None]
            re = cz * cy[i, ry] - sz * sy[i, ry]
            im = sz * cy[i, ry] + cz * sy[i, ry]
            out += re[:, :, None] * cx[i, rx] - im[:, :, None] * sx[i, rx]
        return out
