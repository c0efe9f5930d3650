"""Training patches from labelled slices only, along XY and (when labels allow) XZ and YZ.

A patch is one plane of a view (``geometry.View``) at the model's resolution: ``slices``
neighbouring planes as channels, the label plane (nearest neighbour), and a mask of the voxels
that are labelled (in a labelled slice and not ``IGNORE``). About half the patches are centred
on a labelled voxel of a random target class, so thin and rare structures are seen often.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from emstudio.core.ml.geometry import PLANE_DIMS, View, lerp, read_box
from emstudio.core.ml.labels import IGNORE, LabelledSlices, Target
from emstudio.core.ml.normalise import Normaliser

INDEX_PER_PLANE = 1024  # labelled voxels remembered per class and slice, for centred patches
MIN_LABELLED = 16  # a patch needs at least this many labelled pixels
PARTIAL_WEIGHT = 1.0  # relative weight of a view labelled only on crossing slices


class Patch(NamedTuple):
    """One patch: image (C, T, T) float32, index (T, T) (0 = background, k + 1 = k-th target
    class), boundary (T, T) float32 or None, mask (T, T) bool (labelled), and its view."""

    image: np.ndarray
    index: np.ndarray
    boundary: np.ndarray | None
    mask: np.ndarray
    axis: str


@dataclass
class Batch:
    """Stacked patches: image (B, C, T, T) float32, index (B, T, T) int64, boundary (B, T, T)
    float32 or None, mask (B, T, T) float32; ``turnable`` (B,) bool: a patch whose pixels have
    the same native spacing both ways (may be turned by 90 degrees when augmenting)."""

    image: np.ndarray
    index: np.ndarray
    boundary: np.ndarray | None
    mask: np.ndarray
    turnable: np.ndarray


class PatchSampler:
    """Draws patches of ``patch`` x ``patch`` model pixels from labelled slices."""

    def __init__(
        self,
        image,
        labels,
        slices: LabelledSlices,
        views: dict[str, View],
        target: Target,
        patch: int,
        normaliser: Normaliser,
        instances=None,
        focus: float = 0.5,
    ) -> None:
        self.image, self.labels, self.instances = image, labels, instances
        self.slices = slices
        self.target = target
        self.patch = patch
        self.normaliser = normaliser
        self.focus = focus
        self.views = {a: v for a, v in views.items() if self._labelled_weight(v) > 0}
        weights = np.array([self._labelled_weight(v) for v in self.views.values()])
        self.axes = list(self.views)
        self.weights = weights / weights.sum() if len(weights) else weights
        self._lookup = {value: k + 1 for k, value in enumerate(target.values)}
        self.index = self._class_index()

    # -- what can be sampled --------------------------------------------------------------------
    def _labelled_weight(self, view: View) -> float:
        if self.slices.along(view.normal):
            return 1.0
        u, v = PLANE_DIMS[view.axis]
        return PARTIAL_WEIGHT if self.slices.along(u) or self.slices.along(v) else 0.0

    def _class_index(self) -> dict[int, np.ndarray]:
        """Coordinates (z, y, x) of labelled voxels of each target class (subsampled)."""
        rng = np.random.default_rng(0)
        found: dict[int, list[np.ndarray]] = {value: [] for value in self.target.values}
        for dim in range(3):
            for i in self.slices.along(dim):
                key: list = [slice(None)] * 3
                key[dim] = int(i)
                plane = np.asarray(self.labels[tuple(key)])
                for value in self.target.values:
                    coords = np.argwhere(plane == value)
                    if len(coords) > INDEX_PER_PLANE:
                        coords = coords[rng.choice(len(coords), INDEX_PER_PLANE, replace=False)]
                    full = np.empty((len(coords), 3), np.int64)
                    full[:, dim] = i
                    full[:, [d for d in range(3) if d != dim]] = coords
                    found[value].append(full)
        return {v: np.concatenate(c) for v, c in found.items() if c and sum(map(len, c))}

    def class_fractions(self, rng: np.random.Generator, patches: int = 32) -> np.ndarray:
        """Fraction of labelled pixels in each target class (and the boundary, if any)."""
        batch = self.batch(rng, patches, focus=0.0)
        mask = batch.mask > 0
        counts = [np.sum((batch.index == k + 1) & mask) for k in range(len(self.target.values))]
        if batch.boundary is not None:
            counts.append(np.sum((batch.boundary > 0) & mask))
        return np.array(counts, np.float64) / max(int(mask.sum()), 1)

    # -- drawing ---------------------------------------------------------------------------------
    def batch(self, rng: np.random.Generator, size: int, focus: float | None = None) -> Batch:
        items = [self.sample(rng, focus) for _ in range(size)]
        boundary = None
        if self.target.boundary_of is not None:
            boundary = np.stack([p.boundary for p in items]).astype(np.float32)
        turnable = {a: v.ratios[0] == v.ratios[1] for a, v in self.views.items()}
        return Batch(
            image=np.stack([p.image for p in items]),
            index=np.stack([p.index for p in items]).astype(np.int64),
            boundary=boundary,
            mask=np.stack([p.mask for p in items]).astype(np.float32),
            turnable=np.array([turnable[p.axis] for p in items]),
        )

    def sample(self, rng: np.random.Generator, focus: float | None = None) -> Patch:
        """A patch with enough labelled pixels."""
        focus = self.focus if focus is None else focus
        for _ in range(50):
            axis = self.axes[int(rng.choice(len(self.axes), p=self.weights))]
            plane, origin = self._place(self.views[axis], rng, focus)
            patch = self.extract(axis, plane, origin)
            if patch.mask.sum() >= MIN_LABELLED:
                return patch
        raise RuntimeError("no labelled patch found in 50 draws")  # guarded by the callers

    def _place(self, view: View, rng: np.random.Generator, focus: float):
        t = self.patch
        mu, mv = view.model_plane
        u, v = PLANE_DIMS[view.axis]
        if self.index and rng.random() < focus:
            values = list(self.index)
            coords = self.index[values[int(rng.integers(len(values)))]]
            voxel = coords[int(rng.integers(len(coords)))]
            fu, fv = view.ratios
            jitter = rng.integers(-t // 4, t // 4 + 1, size=2)
            r0 = int(np.clip(round(voxel[u] * fu) - t // 2 + jitter[0], 0, max(0, mu - t)))
            c0 = int(np.clip(round(voxel[v] * fv) - t // 2 + jitter[1], 0, max(0, mv - t)))
            return int(voxel[view.normal]), (r0, c0)
        full = self.slices.along(view.normal)
        partial = bool(self.slices.along(u) or self.slices.along(v))
        if full and (not partial or rng.random() < 0.5):
            plane = int(full[int(rng.integers(len(full)))])
        else:
            plane = int(rng.integers(view.planes))
        r0 = int(rng.integers(0, max(0, mu - t) + 1))
        c0 = int(rng.integers(0, max(0, mv - t) + 1))
        return plane, (r0, c0)

    def extract(self, axis: str, plane: int, origin: tuple[int, int]) -> Patch:
        """The patch of plane ``plane`` whose model-grid corner is ``origin``."""
        view = self.views[axis]
        t = self.patch
        nu, nv = view.native_plane
        pos_u = view.to_model(0, origin[0], t)
        pos_v = view.to_model(1, origin[1], t)
        inside = (pos_u <= nu - 1 + 1e-6)[:, None] & (pos_v <= nv - 1 + 1e-6)[None, :]
        pos_u, pos_v = np.minimum(pos_u, nu - 1), np.minimum(pos_v, nv - 1)
        ur = (int(np.floor(pos_u[0])), int(np.ceil(pos_u[-1])) + 1)
        vr = (int(np.floor(pos_v[0])), int(np.ceil(pos_v[-1])) + 1)
        ctx = np.clip(plane + view.offsets, 0, view.planes - 1)
        nr = (int(np.floor(ctx.min())), int(np.ceil(ctx.max())) + 1)
        box = read_box(self.image, axis, nr, ur, vr)
        img = lerp(lerp(lerp(box, 0, ctx - nr[0]), 1, pos_u - ur[0]), 2, pos_v - vr[0])
        img = self.normaliser.apply(img)
        iu = np.floor(pos_u + 0.5).astype(np.intp)  # nearest voxel (halves round up)
        iv = np.floor(pos_v + 0.5).astype(np.intp)
        lab = read_box(self.labels, axis, (plane, plane + 1), ur, vr)[0]
        lab = lab[np.ix_(iu - ur[0], iv - vr[0])]
        u, v = PLANE_DIMS[axis]
        mask = (
            (plane in self.slices.along(view.normal))
            | np.isin(iu, self.slices.along(u))[:, None]
            | np.isin(iv, self.slices.along(v))[None, :]
        )
        mask = mask & inside & (lab != IGNORE)
        index = np.zeros(lab.shape, np.int64)
        for value, k in self._lookup.items():
            index[lab == value] = k
        boundary = None
        if self.target.boundary_of is not None:
            boundary = self._boundary(axis, plane, ur, vr, iu, iv, lab)
        return Patch(img, index, boundary, mask, axis)

    def _boundary(self, axis, plane, ur, vr, iu, iv, lab) -> np.ndarray:
        """Object edges (2 model pixels wide) of the boundary class, or between instances."""
        if self.instances is not None:
            ids = read_box(self.instances, axis, (plane, plane + 1), ur, vr)[0]
            ids = ids[np.ix_(iu - ur[0], iv - vr[0])]
        else:
            value = self.target.values[self.target.classes.index(self.target.boundary_of)]
            ids = (lab == value).astype(np.uint8)
        edge = ndimage.maximum_filter(ids, 3) != ndimage.minimum_filter(ids, 3)
        return edge.astype(np.float32)


def in_memory_if_small(array, budget_bytes: int = 256 * 2**20):
    """The array itself, or a numpy copy when it is small (patch reads get much faster)."""
    nbytes = int(np.prod(array.shape)) * np.dtype(array.dtype).itemsize
    return np.asarray(array[...]) if nbytes <= budget_bytes else array
