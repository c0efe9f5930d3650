"""Shape-based interpolation between the sections of an anisotropic stack, for surface areas.

Marching cubes on a 0/1 mask of 50 x 5 x 5 nm voxels makes terraces: where an outline moves
between two sections the surface steps out flat, and a sphere's area comes out 15 % too large
(no smoothing of the mesh removes terraces ten vertices wide). Here each section's outline is
turned into a signed distance (nm, positive inside, from 2D distance transforms), the distances
are interpolated linearly between sections at ``steps`` planes per section, and the surface is
where the distance is 0: the outline moves smoothly from one section to the next. At 50 x 5 x 5
nm, spheres of 250-500 nm radius come out +2..3 %, ellipsoids +4..6 % (against +15..17 %);
measuring takes 2.3x as long (139 objects of 64 x 512 x 512 at 30 x 8 x 8 nm: 4.6 s against
2.0 s on one core). Beyond the object's first and last section the distance is that section's
mirrored, so the object ends half way to the next section, as its voxels do.

Distances are clipped to ``CLIP_PIXELS`` pixels: a block of a large object computed with that
much context (``HALO``) gets the same values as the whole object.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

MIN_RATIO = 1.5  # sections this much thicker than the pixels are interpolated
MAX_STEPS = 2  # planes per section (4: no better once smoothed, and measuring 1.4x slower)
CLIP_PIXELS = 12
HALO = (1, CLIP_PIXELS, CLIP_PIXELS)  # context (planes, rows, columns) a block needs
LEVEL = 2.0**-10  # nm: the surface, just off 0, which a distance half way between mirrored
# sections is exactly, so no crossing falls on a grid point


def section_steps(voxel_size: tuple[float, float, float]) -> int:
    """Planes per section to interpolate (1: the voxels are near enough to cubes)."""
    ratio = voxel_size[0] / min(voxel_size[1:])
    return 1 if ratio < MIN_RATIO else min(MAX_STEPS, round(ratio))


def section_distance(
    mask: np.ndarray, voxel_size: tuple[float, float, float], first: int, last: int
) -> np.ndarray:
    """Per section, the signed distance (nm) to the object's outline, clipped. ``first`` and
    ``last``: the object's first and last section (indices into ``mask``, which may lie
    outside it when ``mask`` is a block of a larger object); the section before the first and
    the one after the last mirror them, so that the object ends half way to them."""
    pixel = voxel_size[1:]
    clip = CLIP_PIXELS * min(pixel)
    distance = np.full(mask.shape, -clip, np.float32)
    for k in range(max(first, 0), min(last + 1, len(mask))):
        plane = mask[k]
        if plane.all():
            distance[k] = clip
        elif plane.any():
            inside = ndimage.distance_transform_edt(plane, sampling=pixel)
            outside = ndimage.distance_transform_edt(~plane, sampling=pixel)
            distance[k] = np.clip(inside - outside, -clip, clip)
    for end, beyond in ((first, first - 1), (last, last + 1)):
        if 0 <= beyond < len(mask) and 0 <= end < len(mask):
            distance[beyond] = -np.maximum(np.abs(distance[end]), min(pixel) / 2)
    return distance


def between_sections(distance: np.ndarray, steps: int) -> np.ndarray:
    """``distance`` with ``steps - 1`` planes interpolated between each two sections."""
    if steps == 1:
        return distance
    position = np.arange((len(distance) - 1) * steps + 1) / steps
    below = np.minimum(position.astype(np.int64), len(distance) - 2)
    weight = (position - below).astype(np.float32)[:, None, None]
    return distance[below] * (1 - weight) + distance[below + 1] * weight
