"""What a viewer shows of a crowd label set on one slice: how many of the chosen volunteers put
each pixel inside their outline (the agreement map), and which slices a volunteer traced."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from emstudio.core.crowd.mapping import plane_shape
from emstudio.core.crowd.raster import Box, bounding_box, rasterize
from emstudio.core.crowd.tracings import SliceKey, TracingSet


@dataclass(frozen=True)
class SliceAgreement:
    """``counts`` (uint16 over ``box`` of the plane): volunteers whose outline holds the pixel,
    out of ``volunteers`` who traced the slice."""

    box: Box
    counts: np.ndarray
    volunteers: int

    @property
    def fraction(self) -> np.ndarray:
        """Share of the volunteers (0..1, float32) per pixel of ``box``."""
        return (self.counts / self.volunteers).astype(np.float32)

    def as_uint8(self) -> np.ndarray:
        """The fraction as 0..255 (the convention of probability maps)."""
        return np.round(self.fraction * 255).astype(np.uint8)

    def at(self, row: int, col: int) -> int:
        """Volunteers holding plane pixel (row, col); 0 outside the box."""
        r0, r1, c0, c1 = self.box
        return int(self.counts[row - r0, col - c0]) if r0 <= row < r1 and c0 <= col < c1 else 0


def slice_agreement(
    tracings: TracingSet, key: SliceKey, volunteers: Collection[str] | None = None
) -> SliceAgreement | None:
    """The agreement of ``volunteers`` (default: all) on slice ``key``; None when none of them
    traced it."""
    traced = [
        t for t in tracings.slices.get(key, []) if volunteers is None or t.volunteer in volunteers
    ]
    if not traced:
        return None
    loops = [o for t in traced for o in t.outlines]
    plane = plane_shape(tracings.image_shape, key[0])
    box = bounding_box(loops, plane, margin=1) if loops else (0, 0, 0, 0)
    counts = np.zeros((box[1] - box[0], box[3] - box[2]), dtype=np.uint16)
    for tracing in traced:
        counts += rasterize(tracing.outlines, box)
    return SliceAgreement(box, counts, len(traced))


def traced_slices(tracings: TracingSet, volunteer: str) -> list[SliceKey]:
    """The slices ``volunteer`` traced, in (axis, index) order."""
    return sorted(
        key
        for key, traced in tracings.slices.items()
        if any(t.volunteer == volunteer for t in traced)
    )
