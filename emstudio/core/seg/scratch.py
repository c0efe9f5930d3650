"""A scratch label array on disk: one LZ4-compressed file per chunk, absent chunks read as 0.

Provisional labels are written once per region and read back once per box; zarr-python's
generic path costs ~0.3 s per 64 MB region here (async machinery per chunk), this one runs at
compression speed (Blosc releases the GIL, so chunks are coded in a few threads).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path

import numcodecs
import numpy as np

from emstudio.core.seg.instances import Box
from emstudio.core.volume.chunkio import WRITE_THREADS

CODEC = numcodecs.Blosc("lz4", 1, numcodecs.Blosc.SHUFFLE)


class ScratchArray:
    """A (z, y, x) array indexable by boxes of slices (or a point) like a zarr array."""

    def __init__(
        self, folder: Path, shape: tuple[int, ...], chunks: tuple[int, ...], dtype: np.dtype
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.shape = tuple(int(s) for s in shape)
        self.chunks = tuple(min(int(c), s) for c, s in zip(chunks, self.shape, strict=True))
        self.dtype = np.dtype(dtype)

    def _box(self, key: object) -> tuple[Box, tuple[int, ...]]:
        """The box a key covers, and the axes indexed by an integer (dropped on reading)."""
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        box, points = [], []
        for axis, (k, n) in enumerate(zip(key, self.shape, strict=True)):
            if isinstance(k, slice):
                start, stop, step = k.indices(n)
                if step != 1:
                    raise IndexError("scratch arrays take contiguous boxes only")
                box.append(slice(start, stop))
            else:
                box.append(slice(int(k), int(k) + 1))
                points.append(axis)
        return tuple(box), tuple(points)

    def _keys(self, box: Box) -> list[tuple[int, ...]]:
        ranges = [
            range(s.start // c, -(-s.stop // c)) if s.stop > s.start else range(0)
            for s, c in zip(box, self.chunks, strict=True)
        ]
        return list(product(*ranges))

    def _parts(self, key: tuple[int, ...], box: Box) -> tuple[Box, Box]:
        """(part of the chunk, part of the box) where chunk ``key`` meets ``box``."""
        inner, outer = [], []
        for k, c, s in zip(key, self.chunks, box, strict=True):
            a, b = max(s.start, k * c), min(s.stop, (k + 1) * c)
            inner.append(slice(a - k * c, b - k * c))
            outer.append(slice(a - s.start, b - s.start))
        return tuple(inner), tuple(outer)

    def _path(self, key: tuple[int, ...]) -> Path:
        return self.folder / ".".join(map(str, key))

    def _chunk_shape(self, key: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(
            min(c, n - k * c) for k, c, n in zip(key, self.chunks, self.shape, strict=True)
        )

    def _load(self, key: tuple[int, ...]) -> np.ndarray | None:
        """A stored chunk, or None where there is none (its values are all 0)."""
        try:
            coded = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        data = np.empty(self._chunk_shape(key), self.dtype)
        CODEC.decode(coded, out=data)  # straight into writable memory, no copy
        return data

    def __getitem__(self, key: object) -> np.ndarray:
        box, points = self._box(key)
        out = np.zeros([s.stop - s.start for s in box], self.dtype)

        def read(chunk: tuple[int, ...]) -> None:
            data = self._load(chunk)
            if data is not None:
                inner, outer = self._parts(chunk, box)
                out[outer] = data[inner]

        stored = [key for key in self._keys(box) if self._path(key).exists()]
        _each(read, stored)  # no threads for a box of absent chunks (0), the common case
        return out.squeeze(points) if points else out

    def ensure_holds(self, largest: int) -> None:
        """Make the array able to hold values up to ``largest``: the stored chunks are
        rewritten as uint64 the first time a value outgrows the type (provisional ids start
        as uint32, half the bytes, and practically never outgrow it). A failure midway leaves
        the array unusable (it is scratch: the caller's run fails and removes it)."""
        if largest <= np.iinfo(self.dtype).max:
            return
        wide = np.dtype(np.uint64)
        if largest > np.iinfo(wide).max:
            raise OverflowError(f"{largest} does not fit a uint64 array")

        def widen(key: tuple[int, ...]) -> None:
            data = self._load(key)
            if data is not None:
                self._path(key).write_bytes(CODEC.encode(data.astype(wide)))

        _each(widen, [tuple(int(v) for v in p.name.split(".")) for p in self.folder.iterdir()])
        self.dtype = wide

    def _store(self, key: tuple[int, ...], data: np.ndarray) -> None:
        path = self._path(key)
        if not data.any():
            path.unlink(missing_ok=True)
            return
        path.write_bytes(CODEC.encode(data))

    def __setitem__(self, key: object, value: np.ndarray) -> None:
        box, _ = self._box(key)
        value = np.broadcast_to(np.asarray(value, self.dtype), [s.stop - s.start for s in box])

        def write(chunk: tuple[int, ...]) -> None:
            inner, outer = self._parts(chunk, box)
            shape = self._chunk_shape(chunk)
            if all(i.stop - i.start == n for i, n in zip(inner, shape, strict=True)):
                data = np.ascontiguousarray(value[outer])
            else:
                data = self._load(chunk)
                data = np.zeros(shape, self.dtype) if data is None else data
                data[inner] = value[outer]
            self._store(chunk, data)

        _each(write, self._keys(box))


def _each(work: Callable[[tuple[int, ...]], None], keys: list[tuple[int, ...]]) -> None:
    if len(keys) <= 1:
        for key in keys:
            work(key)
        return
    with ThreadPoolExecutor(min(WRITE_THREADS, len(keys))) as pool:
        list(pool.map(work, keys))
