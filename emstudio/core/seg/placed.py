"""Flooded objects kept where the workers that flooded them stored them, and put in place box
by box when the labels are read.

Each worker writes its group's objects (component by component, Blosc-coded in the narrowest
unsigned type) to a file of its own; this process keeps only where each component's objects
lie, its box and its provisional id offset (``Placement``). Reading a box places the objects of
the components whose boxes meet it in the order they were flooded, each on the voxels no
earlier one took (a component's own voxels and its filled holes), so a box reads the same as
if the objects had been written into one array in that order, and boxes can be read in any
order and in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from emstudio.core.seg.instances import Box
from emstudio.core.seg.scratch import CODEC


def store_objects(path: Path, objects: list[np.ndarray]) -> list[tuple[int, int, int]]:
    """Write the arrays to the file ``path``, each coded in the narrowest unsigned type that
    holds it; (start, stop, item size) of each in the file."""
    spans = []
    start = 0
    with open(path, "wb") as file:
        for array in objects:
            dtype = np.min_scalar_type(int(array.max(initial=0)))
            data = CODEC.encode(np.ascontiguousarray(array, dtype))
            file.write(data)
            spans.append((start, start + len(data), dtype.itemsize))
            start += len(data)
    return spans


@dataclass
class Placement:
    """Per component (in flooding order): box [lo, hi), provisional id offset, and its objects'
    bytes [start, stop) in ``folder / f"{group}.bin"``, unsigned integers of ``itemsize``."""

    folder: Path
    lo: np.ndarray  # (n, 3) int64
    hi: np.ndarray  # (n, 3) int64, exclusive
    offset: np.ndarray  # (n,) int64
    group: np.ndarray  # (n,) int64
    start: np.ndarray  # (n,) int64
    stop: np.ndarray  # (n,) int64
    itemsize: np.ndarray  # (n,) int64

    @classmethod
    def empty(cls, folder: Path) -> Placement:
        box = np.zeros((0, 3), np.int64)
        none = np.zeros(0, np.int64)
        return cls(Path(folder), box, box, none, none, none, none, none)

    @classmethod
    def join(cls, folder: Path, parts: list[Placement]) -> Placement:
        """One placement of ``parts`` in their order."""
        arrays = [cls.empty(folder), *parts]
        joined = {f: np.concatenate([getattr(p, f) for p in arrays]) for f in _ARRAYS}
        return cls(Path(folder), **joined)

    def __len__(self) -> int:
        return len(self.offset)

    def within(self, box: Box) -> Placement:
        """The components whose boxes meet ``box``, in their order (what reading it needs)."""
        lo = np.array([s.start for s in box])
        hi = np.array([s.stop for s in box])
        keep = np.flatnonzero(((self.lo < hi) & (self.hi > lo)).all(1))
        return Placement(self.folder, **{f: getattr(self, f)[keep] for f in _ARRAYS})

    def objects(self, index: int) -> np.ndarray:
        """The objects (ids 1..k, 0 outside them) of component ``index`` in its box."""
        with open(self.folder / f"{int(self.group[index])}.bin", "rb") as file:
            file.seek(int(self.start[index]))
            data = file.read(int(self.stop[index] - self.start[index]))
        shape = tuple(int(v) for v in self.hi[index] - self.lo[index])
        dtype = np.dtype(f"u{int(self.itemsize[index])}")
        return np.frombuffer(CODEC.decode(data), dtype).reshape(shape)

    def paint(self, out: np.ndarray, box: Box, lut: np.ndarray | None = None) -> None:
        """Place the objects in ``out`` (zeros, of ``box``) as their provisional ids, or with
        ``lut`` as the ids those map to, each component on the voxels of its objects that no
        earlier component took (an object the lookup drops still takes its voxels)."""
        origin = np.array([s.start for s in box])
        dropped = np.iinfo(out.dtype).max  # held by dropped objects while painting: no id
        for index in range(len(self)):
            lo = np.maximum(self.lo[index], origin)
            hi = np.minimum(self.hi[index], origin + out.shape)
            if (hi <= lo).any():
                continue
            source = self.objects(index)[_slices(lo - self.lo[index], hi - lo)]
            target = out[_slices(lo - origin, hi - lo)]
            writable = (source > 0) & (target == 0)
            ids = source[writable].astype(np.intp) + int(self.offset[index])
            if lut is not None:
                ids = lut[ids]
                ids[ids == 0] = dropped
            target[writable] = ids
        if lut is not None:
            out[out == dropped] = 0


_ARRAYS = tuple(f.name for f in fields(Placement) if f.name != "folder")


def _slices(start: np.ndarray, size: np.ndarray) -> Box:
    return tuple(slice(int(a), int(a + n)) for a, n in zip(start, size, strict=True))
