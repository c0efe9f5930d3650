"""A copy-on-write edit layer over level 0 of a stored label volume (Qt-free).

Unedited chunks are read from the store; edited chunks are kept in memory, Blosc-compressed
(label chunks shrink 50-500x), with a small cache of decoded ones. The store is never
written: saving the edits makes a new volume (``proofread.write_version``). Edits come as
``ChunkChange`` lists (changed voxels' flat indices, old and new values per chunk), so an
edit and its undo are both exact. Every method may be called from any thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numcodecs
import numpy as np

from emstudio.core.project.labels import ChunkKey, read_chunk
from emstudio.core.seg.instances import Box
from emstudio.core.volume.store import Volume

DECODED_CACHE_BYTES = 128 * 2**20
_CODEC = numcodecs.Blosc("lz4", 5, numcodecs.Blosc.BITSHUFFLE)


@dataclass(frozen=True)
class ChunkChange:
    """Voxels of one chunk changed by an edit: flat indices into the (full-shape) chunk."""

    key: ChunkKey
    flat: np.ndarray
    old: np.ndarray
    new: np.ndarray


class EditLayer:
    """Level 0 of ``volume`` as edited so far."""

    def __init__(self, volume: Volume, cache_bytes: int = DECODED_CACHE_BYTES) -> None:
        self.volume = volume
        self.shape: tuple[int, int, int] = volume.shape
        self.chunks: tuple[int, int, int] = volume.chunks
        self.dtype = volume.dtype
        self._edited: dict[ChunkKey, bytes] = {}
        self._decoded: OrderedDict[ChunkKey, np.ndarray] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._lock = threading.RLock()

    # -- geometry -------------------------------------------------------------------------------
    def chunk_box(self, key: ChunkKey) -> Box:
        """The voxels of chunk ``key`` (edge chunks clipped to the volume)."""
        return tuple(
            slice(k * c, min((k + 1) * c, s))
            for k, c, s in zip(key, self.chunks, self.shape, strict=True)
        )  # type: ignore[return-value]

    def keys_in(self, box: Box) -> Iterator[ChunkKey]:
        """The chunks a box touches, in z-major order."""
        ranges = [
            range(s.start // c, -(-s.stop // c)) for s, c in zip(box, self.chunks, strict=True)
        ]
        for a in ranges[0]:
            for b in ranges[1]:
                for d in ranges[2]:
                    yield (a, b, d)

    # -- reading --------------------------------------------------------------------------------
    @property
    def edited_chunks(self) -> int:
        return len(self._edited)

    @property
    def edited_bytes(self) -> int:
        """Memory the compressed edited chunks take."""
        return sum(len(b) for b in self._edited.values())

    def chunk(self, key: ChunkKey) -> np.ndarray:
        """A copy of one whole chunk, edits included (edge chunks padded with zeros)."""
        with self._lock:
            decoded = self._decoded_chunk(key)
            if decoded is not None:
                return decoded.copy()
        return read_chunk(self.volume, key)

    def value(self, voxel: Sequence[int]) -> int:
        """The id at one voxel (z, y, x)."""
        key = tuple(int(v) // c for v, c in zip(voxel, self.chunks, strict=True))
        with self._lock:
            decoded = self._decoded_chunk(key)  # type: ignore[arg-type]
        if decoded is None:
            z, y, x = (int(v) for v in voxel)
            return int(self.volume.arrays[0][z, y, x])
        local = tuple(int(v) % c for v, c in zip(voxel, self.chunks, strict=True))
        return int(decoded[local])

    def read(self, box: Box) -> np.ndarray:
        """A region of level 0, edits included."""
        out = np.asarray(self.volume.arrays[0][box])
        if not self._edited:
            return out
        with self._lock:
            for key in self.keys_in(box):
                decoded = self._decoded_chunk(key)
                if decoded is None:
                    continue
                source, target = _overlap(self.chunk_box(key), box)
                out[target] = decoded[source]
        return out

    def patch_plane(
        self,
        plane: np.ndarray,
        axis: int,
        index: int,
        factor: Sequence[int],
        display_axes: tuple[int, int],
    ) -> np.ndarray:
        """A stored plane of a coarser level with the edits drawn in.

        ``plane`` is plane ``index`` across ``axis`` of the level that keeps every
        ``factor``-th voxel of level 0 (label pyramids subsample), laid out with rows along
        ``display_axes[0]`` and columns along ``display_axes[1]``.
        """
        if not self._edited:
            return plane
        row_axis, col_axis = display_axes
        fine = index * int(factor[axis])
        out: np.ndarray | None = None
        with self._lock:
            keys = [k for k in self._edited if k[axis] == fine // self.chunks[axis]]
            for key in keys:
                decoded = self._decoded_chunk(key)
                box = self.chunk_box(key)
                pick: list[object] = [slice(None)] * 3
                pick[axis] = fine - box[axis].start
                placed = []
                for a in (row_axis, col_axis):
                    f = int(factor[a])
                    first = -(-box[a].start // f)  # the first coarse index inside this chunk
                    last = min(-(-box[a].stop // f), plane.shape[len(placed)])
                    pick[a] = slice(first * f - box[a].start, (last - 1) * f - box[a].start + 1, f)
                    placed.append(slice(first, last))
                if any(p.stop <= p.start for p in placed):
                    continue
                values = decoded[tuple(pick)]
                if row_axis > col_axis:
                    values = values.T
                if out is None:
                    out = np.array(plane)
                out[tuple(placed)] = values
        return plane if out is None else out

    # -- editing --------------------------------------------------------------------------------
    def diff(self, box: Box, new: np.ndarray) -> list[ChunkChange]:
        """The changes that would make region ``box`` equal ``new`` (nothing is applied)."""
        changes = []
        for key in self.keys_in(box):
            chunk = self.chunk(key)
            source, target = _overlap(self.chunk_box(key), box)
            wanted = chunk.copy()
            wanted[source] = new[target]
            flat = np.flatnonzero(wanted != chunk).astype(np.uint32)
            if flat.size:
                changes.append(ChunkChange(key, flat, chunk.flat[flat], wanted.flat[flat]))
        return changes

    def apply(self, changes: Sequence[ChunkChange], forward: bool = True) -> None:
        """Make the changes (``forward``) or take them back, all at once for readers."""
        updated = {}
        for change in changes:
            chunk = updated.get(change.key)
            if chunk is None:
                chunk = updated[change.key] = self.chunk(change.key)
            chunk.flat[change.flat] = change.new if forward else change.old
        with self._lock:
            for key, chunk in updated.items():
                self._edited[key] = bytes(_CODEC.encode(np.ascontiguousarray(chunk)))
                self._remember(key, chunk)

    # -- internals ------------------------------------------------------------------------------
    def _decoded_chunk(self, key: ChunkKey) -> np.ndarray | None:
        """The edited chunk (not a copy; lock held), or None when it is unedited."""
        chunk = self._decoded.get(key)
        if chunk is not None:
            self._decoded.move_to_end(key)
            return chunk
        encoded = self._edited.get(key)
        if encoded is None:
            return None
        chunk = np.frombuffer(_CODEC.decode(encoded), self.dtype).reshape(self.chunks).copy()
        self._remember(key, chunk)
        return chunk

    def _remember(self, key: ChunkKey, chunk: np.ndarray) -> None:
        self._decoded[key] = chunk
        self._decoded.move_to_end(key)
        total = sum(c.nbytes for c in self._decoded.values())
        while total > self._cache_bytes and len(self._decoded) > 1:
            _, dropped = self._decoded.popitem(last=False)
            total -= dropped.nbytes


def _overlap(chunk: Box, box: Box) -> tuple[Box, Box]:
    """(slices into the chunk, slices into the box's region) of their common voxels."""
    source, target = [], []
    for c, b in zip(chunk, box, strict=True):
        lo, hi = max(c.start, b.start), min(c.stop, b.stop)
        hi = max(hi, lo)
        source.append(slice(lo - c.start, hi - c.start))
        target.append(slice(lo - b.start, hi - b.start))
    return tuple(source), tuple(target)  # type: ignore[return-value]
