"""Predicting a block of consecutive planes of one view: resample to the model grid, gather the
neighbouring slices, cut overlapping tiles, run the model, blend, resample back to voxels.

Every step is local to a plane (and its neighbours), so the result of a plane does not depend
on which block it was predicted in: blocks never show seams, and a resumed job writes the same
values as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from emstudio.core.ml.device import input_dtype, to_device
from emstudio.core.ml.geometry import TO_PLANE_MAJOR, View
from emstudio.core.ml.inference import TileRunner
from emstudio.core.ml.normalise import Normaliser
from emstudio.core.ml.tiling import TileGrid


def lerp_dim(x: torch.Tensor, dim: int, pos: np.ndarray) -> torch.Tensor:
    """Linear interpolation of ``x`` along ``dim`` at float positions (clamped); exact copies
    where positions are whole numbers. The positions go to a GPU through pinned memory: a copy
    from pageable memory would wait for all the work queued on the device first."""
    size = x.shape[dim]
    pos = np.clip(np.asarray(pos, np.float64), 0, size - 1)
    i0 = np.floor(pos).astype(np.int64)
    w = pos - i0
    if not w.any():
        if len(pos) == size and np.array_equal(i0, np.arange(size)):
            return x
        return x.index_select(dim, to_device(i0, x.device))
    i1 = np.minimum(i0 + 1, size - 1)
    shape = [1] * x.dim()
    shape[dim] = len(pos)
    wt = to_device(w.astype(np.float32), x.device).to(x.dtype).view(shape)
    a = x.index_select(dim, to_device(i0, x.device))
    b = x.index_select(dim, to_device(i1, x.device))
    return torch.lerp(a, b, wt)


@dataclass
class PlanePredictor:
    """Predicts planes of one view with a runner; holds the per-view tiling and blend weights."""

    view: View
    runner: TileRunner
    normaliser: Normaliser
    tile: int
    overlap: int
    multiple: int
    outputs: int

    def __post_init__(self) -> None:
        self.grid = TileGrid.for_plane(
            self.view.model_plane, self.tile, self.overlap, self.multiple
        )
        device = self.runner.device
        self.window = torch.from_numpy(self.grid.window()).to(device)
        self.inv_weight = (1.0 / torch.from_numpy(self.grid.weight_sum())).to(device)

    def planes_per_group(self, budget_bytes: int) -> int:
        """Planes to blend at once within ``budget_bytes`` of working memory."""
        mu, mv = self.grid.padded
        th, tw = self.grid.tile
        tiled = self.grid.count * th * tw / (mu * mv)  # tile area over plane area (overlap)
        # float32: the neighbouring planes, their tiles, the tiles' probabilities, the blend
        # and its resampled copy
        per_plane = 4 * mu * mv * (self.view.slices * (1 + tiled) + self.outputs * (tiled + 2))
        return max(1, int(budget_bytes // per_plane))

    def predict(self, box: np.ndarray, first_read: int, first: int, stop: int) -> np.ndarray:
        """Probabilities (uint8, (planes, outputs, u, v)) of planes ``first..stop-1``, given the
        (z, y, x) box of the native planes ``first_read..`` that holds their neighbours."""
        return self.predict_tensor(box, first_read, first, stop).cpu().numpy()

    def predict_tensor(
        self, box: np.ndarray | torch.Tensor, first_read: int, first: int, stop: int
    ) -> torch.Tensor:
        """:meth:`predict`'s probabilities as a uint8 tensor on the runner's device; ``box``
        may be there already."""
        x = box if isinstance(box, torch.Tensor) else to_device(box, self.runner.device)
        # plane-major on the device: transposing a YZ box on the CPU is a slow strided gather
        dtype = input_dtype(self.runner.device)
        x = x.permute(TO_PLANE_MAJOR[self.view.axis]).to(dtype).contiguous()
        x = self._normalise(x)
        mu, mv = self.view.model_plane
        x = lerp_dim(lerp_dim(x, 1, self.view.to_model(0, 0, mu)), 2, self.view.to_model(1, 0, mv))
        x = self._pad(x)
        ctx = (
            np.clip(
                np.arange(first, stop)[:, None] + self.view.offsets[None, :],
                0,
                self.view.planes - 1,
            )
            - first_read
        )
        stack = lerp_dim(x, 0, ctx.ravel())  # (planes * slices, U, V)
        stack = stack.view(stop - first, self.view.slices, *stack.shape[1:])
        blended = self._blend(stack)[:, :, :mu, :mv]
        nu = self.view.to_native(0)
        nv = self.view.to_native(1)
        out = lerp_dim(lerp_dim(blended, 2, nu), 3, nv)
        return (out.float() * 255).round_().clamp_(0, 255).to(torch.uint8)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.normaliser.mode == "volume":
            return (x - self.normaliser.mean) / self.normaliser.std
        return x  # patch mode: each tile on its own, in _blend

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """Pad the model-grid planes to hold whole tiles (reflected where possible)."""
        pu = self.grid.padded[0] - x.shape[1]
        pv = self.grid.padded[1] - x.shape[2]
        if not (pu or pv):
            return x
        mode = "reflect" if pu < x.shape[1] and pv < x.shape[2] else "replicate"
        return F.pad(x.unsqueeze(0), (0, pv, 0, pu), mode=mode)[0]

    def _blend(self, stack: torch.Tensor) -> torch.Tensor:
        planes = stack.shape[0]
        th, tw = self.grid.tile
        positions = self.grid.positions()
        tiles = torch.cat([stack[:, :, r : r + th, c : c + tw] for r, c in positions])
        if self.normaliser.mode == "patch":
            mean = tiles.mean(dim=(1, 2, 3), keepdim=True)
            std = tiles.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
            tiles = (tiles - mean) / std
        prob = self.runner(tiles)
        acc = torch.zeros((planes, prob.shape[1], *self.grid.padded), device=prob.device)
        for i, (r, c) in enumerate(positions):
            part = prob[i * planes : (i + 1) * planes].float()
            acc[:, :, r : r + th, c : c + tw] += part * self.window
        return acc * self.inv_weight
