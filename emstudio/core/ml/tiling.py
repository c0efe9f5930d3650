"""Overlapping tiles over a plane and the smooth window that blends them (no seams).

The tile grid depends only on the plane's size, so a plane gives the same result whichever
block of planes it is predicted in. The window is 1 in a tile's middle and falls off as a raised
cosine over the overlap, never reaching 0; blended values are sum(w * p) / sum(w).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def tiles_1d(size: int, tile: int, overlap: int, multiple: int) -> tuple[int, list[int]]:
    """(tile length, starts) covering ``size`` with as few tiles of at most ``tile`` as an
    overlap of at least ``overlap`` allows, shrunk evenly so no tile computes in vain (a 512
    plane takes three 192 tiles, not three 256 ones). One tile, padded to the model's
    ``multiple``, when the plane fits."""
    if size <= tile:
        return round_up(size, multiple), [0]
    count = -(-(size - overlap) // (tile - overlap))
    length = min(tile, round_up(-(-(size + (count - 1) * overlap) // count), multiple))
    return length, [round(i * (size - length) / (count - 1)) for i in range(count)]


def ramp(tile: int, overlap: int) -> np.ndarray:
    """1D window: raised-cosine ends of ``overlap`` pixels, 1 between, > 0 everywhere."""
    w = np.ones(tile, np.float32)
    n = min(overlap, tile // 2)
    if n > 0:
        edge = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        w[:n] = edge
        w[tile - n :] = edge[::-1]
    return w


@dataclass(frozen=True)
class TileGrid:
    """Tiles of one plane of ``size`` (model pixels): their shape, origins and blend weights."""

    size: tuple[int, int]
    tile: tuple[int, int]
    starts: tuple[tuple[int, ...], tuple[int, ...]]
    overlap: int

    @classmethod
    def for_plane(cls, size: tuple[int, int], tile: int, overlap: int, multiple: int) -> TileGrid:
        (tu, su), (tv, sv) = (tiles_1d(s, tile, overlap, multiple) for s in size)
        return cls(tuple(size), (tu, tv), (tuple(su), tuple(sv)), overlap)

    @property
    def padded(self) -> tuple[int, int]:
        """The plane size once padded to hold every tile."""
        return tuple(max(s, t) for s, t in zip(self.size, self.tile, strict=True))

    @property
    def count(self) -> int:
        return len(self.starts[0]) * len(self.starts[1])

    def positions(self) -> list[tuple[int, int]]:
        return [(r, c) for r in self.starts[0] for c in self.starts[1]]

    def window(self) -> np.ndarray:
        return np.outer(ramp(self.tile[0], self.overlap), ramp(self.tile[1], self.overlap))

    def weight_sum(self) -> np.ndarray:
        """Sum of the windows over the padded plane (the blend's denominator)."""
        total = np.zeros(self.padded, np.float32)
        window = self.window()
        for r, c in self.positions():
            total[r : r + self.tile[0], c : c + self.tile[1]] += window
        return total
