"""A filled mask's outline as a band of given physical width (e.g. the nuclear envelope)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from emstudio.core.crowd.consensus import SIDES


def outline_band(
    mask: np.ndarray, width: float, spacing: Sequence[float] = (1.0, 1.0), side: str = "centre"
) -> np.ndarray:
    """The pixels whose centre lies within ``width / 2`` of the outline of ``mask`` (side
    "centre": the outline is the middle of the band) or within ``width`` of it inside the mask
    ("inside": the outline is the band's outer edge). The outline runs half way between inside
    and outside pixel centres; the array edge is not an outline. ``width`` and ``spacing`` in
    one unit (nm, or 1.0 for pixels)."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    mask = np.asarray(mask, bool)
    if not mask.any() or mask.all():
        return np.zeros_like(mask)
    half_step = min(spacing) / 2.0  # a pixel next to the outline has its centre this far from it
    inside = ndimage.distance_transform_edt(mask, sampling=spacing)
    if side == "inside":
        return mask & (inside <= width + half_step)
    reach = width / 2.0 + half_step
    outside = ndimage.distance_transform_edt(~mask, sampling=spacing)
    return (mask & (inside <= reach)) | (~mask & (outside <= reach))
