"""Shared plumbing of the volume readers: open/closed state, slab bounds, the 3D-stack check."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Self

import numpy as np

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo

#: Default upper bound of one slab in bytes when a caller streams a whole volume.
DEFAULT_SLAB_BYTES = 64 * 1024 * 1024


class SourceBase:
    """Base of the readers: context manager, ``closed`` flag and slab-argument checks.

    Subclasses set ``self.info`` in ``__init__``, implement ``_read(z0, z1)`` (arguments
    already checked) and ``_close()``.
    """

    info: SourceInfo

    _closed: bool = False

    def read_slab(self, z0: int, z1: int) -> np.ndarray:
        """Planes [z0, z1) as stored: shape (z1 - z0, y, x) or (z1 - z0, y, x, c)."""
        if self._closed:
            raise ValueError(f"{self.info.path}: reader is closed")
        depth = self.info.shape[0]
        z0, z1 = int(z0), int(z1)
        if not 0 <= z0 <= z1 <= depth:
            raise ValueError(f"slab [{z0}, {z1}) is outside 0..{depth}")
        if z0 == z1:
            return np.empty((0, *self.slab_shape(0)[1:]), dtype=self.info.dtype)
        block = self._read(z0, z1)
        expected = self.slab_shape(z1 - z0)
        if block.shape != expected:  # a reader bug or a file that changed under us
            raise InputFileError(
                self.info.path,
                f"planes {z0}..{z1 - 1} have shape {block.shape}, expected {expected}",
            )
        return block

    def slab_shape(self, depth: int) -> tuple[int, ...]:
        """Shape of a slab of ``depth`` planes."""
        _, y, x = self.info.shape
        if self.info.channels > 1:
            return (depth, y, x, self.info.channels)
        return (depth, y, x)

    def close(self) -> None:
        """Release the file handles; further reads raise ValueError. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        info = self.info
        return f"<{type(self).__name__} {info.path} {info.shape} {info.dtype}>"

    def _read(self, z0: int, z1: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _close(self) -> None:  # pragma: no cover - default: nothing to release
        pass


def require_stack(path: object, shape: tuple[int, ...], what: str = "file") -> None:
    """Raise InputFileError unless ``shape`` (z, y, x) has at least 2 planes in z."""
    z, y, x = shape
    if z < 2:
        raise InputFileError(
            path,
            f"is a single 2D image ({y} x {x}, Y x X); a 3D stack is needed: "
            "a multi-page TIFF or a folder of slices",
        )
    if y < 1 or x < 1:
        raise InputFileError(path, f"{what} holds an empty image (shape {shape})")


def slab_depth(info: SourceInfo, max_bytes: int = DEFAULT_SLAB_BYTES) -> int:
    """Number of planes per slab so one slab of ``info`` stays under ``max_bytes``."""
    _, y, x = info.shape
    plane = y * x * max(1, info.channels) * np.dtype(info.dtype).itemsize
    return max(1, min(info.shape[0], max_bytes // max(1, plane)))


def iter_slabs(info: SourceInfo, max_bytes: int = DEFAULT_SLAB_BYTES) -> Iterator[tuple[int, int]]:
    """Yield (z0, z1) ranges covering the volume, each slab under ``max_bytes`` (>= 1 plane)."""
    step = slab_depth(info, max_bytes)
    for z0 in range(0, info.shape[0], step):
        yield z0, min(z0 + step, info.shape[0])
