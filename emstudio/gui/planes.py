"""Plane cache and background reader for the slice views (Qt-free, plain Python threads).

The views ask for planes by ``PlaneKey``; a hit is drawn at once, a miss is queued for the
reader thread, which also prefetches the neighbours of the cursor in blocks
(``core.volume.blocks``: 16 XZ/YZ planes cost about as much as 2) so that scrolling finds the
next planes in memory. Requests of the current cursor go first; prefetches of an outdated
cursor are dropped. The reader calls ``on_ready(key)`` from its thread: the GUI side turns that
into a queued Qt signal.

For each volume shown, the reader also keeps an *overview*: the finest coarser-than-full level
that fits ``OVERVIEW_BYTES`` (level 0 only for a one-level volume; none if no level fits),
whole in memory, read once after the first wanted planes. A plane never seen before is then
drawn at once from it (a slice of an in-memory array, < 1 ms) while the reader fetches the
full-resolution plane: a far jump shows an image at once and sharpens when the read is done.

Planes are cached as the views show them (``viewstate.PLANE_AXES``): XY (y, x), XZ (z, x) and
YZ transposed to (y, z), contiguous, so that drawing never copies or transposes on the GUI
thread (a 2048 x 512 transpose costs ~7 ms).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from emstudio.core.volume.blocks import is_raw, read_planes
from emstudio.core.volume.store import Volume

log = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")

CACHE_BYTES = 768 * 2**20
BLOCK_BYTES = 16 * 2**20  # one prefetch read: 4 XY planes of 2048 x 2048, 16 XZ of 512 x 2048
MAX_BLOCK = 16
OVERVIEW_BYTES = 64 * 2**20  # one volume's overview level: 256 x 512 x 512 uint8 at most


@dataclass(frozen=True)
class PlaneKey:
    """A plane of a volume: store path, axis across it (0 XY, 1 XZ, 2 YZ), index, level.

    ``version`` changes when the store is rewritten (a saved label set), so that a plane read
    before the save can never be taken for the new content.
    """

    path: str
    axis: int
    index: int
    level: int
    version: int = 0

    def at(self, index: int) -> PlaneKey:
        return PlaneKey(self.path, self.axis, index, self.level, self.version)


@dataclass(frozen=True)
class Overview:
    """A whole coarse level of one store version, in memory (read-only); ``data`` is None
    when no level of the store fits the budget (nothing stands in then)."""

    version: int
    level: int
    data: np.ndarray | None  # (z, y, x) of ``level``
    factors: tuple[tuple[int, int, int], ...]  # level-0 voxels per voxel, for every level

    def plane(self, key: PlaneKey) -> tuple[PlaneKey, np.ndarray] | None:
        """The overview plane holding ``key``'s plane (display orientation), if it is coarser
        than or as fine as ``key``'s level asks; None for another version or a finer level."""
        if self.data is None or key.version != self.version or key.level > self.level:
            return None
        across = self.factors[self.level][key.axis] // self.factors[key.level][key.axis]
        index = min(key.index // max(across, 1), self.data.shape[key.axis] - 1)
        at: list[object] = [slice(None)] * 3
        at[key.axis] = index
        plane = self.data[tuple(at)]
        shown = np.ascontiguousarray(plane.T if key.axis == 2 else plane)
        shown.setflags(write=False)
        return PlaneKey(key.path, key.axis, index, self.level, key.version), shown


def overview_level(volume: Volume, budget: int = OVERVIEW_BYTES) -> int | None:
    """The finest level below full resolution whose whole array fits ``budget`` bytes (level 0
    only when there is no other, so zoomed-out views never make the reader load level 0
    whole); None when no level fits."""
    for level in range(min(1, volume.levels - 1), volume.levels):
        if np.prod(volume.level_shape(level)) * volume.dtype.itemsize <= budget:
            return level
    return None


def level_factors(volume: Volume) -> tuple[tuple[int, int, int], ...]:
    """Voxels of level 0 per voxel of each level, along z, y, x."""
    base = volume.scales[0]
    return tuple(
        tuple(max(1, round(s / b)) for s, b in zip(scale, base, strict=True))  # type: ignore[misc]
        for scale in volume.scales
    )


class ByteBudgetCache(Generic[K, V]):
    """Least-recently-used values up to a byte budget (thread-safe); values have ``nbytes``.
    The newest value is always kept, even alone over the budget."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._values: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def __contains__(self, key: K) -> bool:
        with self._lock:
            return key in self._values

    def __iter__(self) -> Iterator[K]:
        """The keys held now (a snapshot), least recently used first."""
        with self._lock:
            return iter(list(self._values))

    def put(self, key: K, value: V) -> None:
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._values[key] = value
            self._bytes += value.nbytes
            while self._bytes > self.max_bytes and len(self._values) > 1:
                _, dropped = self._values.popitem(last=False)
                self._bytes -= dropped.nbytes

    def forget_where(self, stale: Callable[[K], bool]) -> None:
        """Drop every value whose key is ``stale``."""
        with self._lock:
            for key in [k for k in self._values if stale(k)]:
                self._bytes -= self._values.pop(key).nbytes

    def forget_all(self) -> None:
        with self._lock:
            self._values.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes


class PlaneCache(ByteBudgetCache[PlaneKey, np.ndarray]):
    """The planes read for the views, least recently used out first."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        super().__init__(max_bytes)

    def put(self, key: PlaneKey, plane: np.ndarray) -> None:
        plane.setflags(write=False)  # shared with the views: nobody may change it
        super().put(key, plane)

    def forget(self, path: str) -> None:
        """Drop every plane of one store (after it was edited, renamed or deleted)."""
        self.forget_where(lambda key: key.path == path)


class PlaneReader:
    """One background thread that fills a ``PlaneCache``: wanted planes first, then neighbours."""

    def __init__(
        self,
        cache: PlaneCache,
        on_ready: Callable[[PlaneKey], None],
        prefetch: int = MAX_BLOCK,
        on_failed: Callable[[str, str], None] | None = None,
    ) -> None:
        self.cache = cache
        self.on_ready = on_ready
        self.on_failed = on_failed  # (store path, what went wrong): once per failed read
        self.prefetch = prefetch
        self._volumes: dict[str, Volume] = {}
        self._overviews: dict[str, Overview] = {}
        self._wanted: list[PlaneKey] = []  # newest request first
        self._around: dict[object, list[PlaneKey]] = {}  # prefetch centres, per caller
        self._condition = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def request(self, keys: Iterable[PlaneKey], group: object = None) -> None:
        """Read these planes (those not cached) soon, then prefetch around them.

        ``group`` names the caller (a view): its previous prefetch centres are replaced.
        """
        keys = list(keys)
        if self._thread is None:
            self._stopped = False
            self._thread = threading.Thread(target=self._run, name="plane-reader", daemon=True)
            self._thread.start()
        with self._condition:
            missing = [k for k in keys if k not in self.cache]
            self._wanted = missing + [k for k in self._wanted if k not in missing][:8]
            self._around[group] = keys
            self._condition.notify()

    def overview(self, key: PlaneKey) -> tuple[PlaneKey, np.ndarray] | None:
        """A coarser stand-in for ``key``'s plane from the in-memory overview (None until the
        overview of its store is read)."""
        overview = self._overviews.get(key.path)
        return overview.plane(key) if overview is not None else None

    def forget(self, path: str) -> None:
        """Drop the planes and pending reads of one store (it was rewritten or deleted)."""
        with self._condition:
            self._volumes.pop(path, None)
            self._overviews.pop(path, None)
            self._drop(path)
        self.cache.forget(path)

    def stop(self) -> None:
        """End the thread (the next request starts a new one) and forget all requests."""
        thread, self._thread = self._thread, None
        with self._condition:
            self._stopped = True
            self._wanted.clear()
            self._around.clear()
            self._volumes.clear()
            self._overviews.clear()
            self._condition.notify()
        if thread is not None:
            thread.join(timeout=10)

    # -- the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._condition:
                task = None if self._stopped else self._next_task()
                while task is None and not self._stopped:
                    self._condition.wait()
                    task = None if self._stopped else self._next_task()
                if self._stopped:
                    return
            key, start, stop = task
            try:
                if stop < 0:
                    self._read_overview(key)
                else:
                    self._read(key, start, stop)
            except Exception as exc:  # a vanished or damaged store: tell, keep serving
                log.exception("cannot read planes %s..%s of %s", start, stop - 1, key)
                with self._condition:
                    self._drop(key.path)
                self._failed(key.path, exc)

    def _drop(self, path: str) -> None:
        """Forget the requests of one store (called with the lock held)."""
        self._wanted = [k for k in self._wanted if k.path != path]
        self._around = {g: [k for k in ks if k.path != path] for g, ks in self._around.items()}

    def _next_task(self) -> tuple[PlaneKey, int, int] | None:
        """The next read (called with the lock held): a wanted plane alone, else a missing
        overview (``stop`` -1), else the block holding the nearest uncached neighbour of any
        prefetch centre (ahead first)."""
        while self._wanted:
            key = self._wanted.pop(0)
            size = self._size(key)
            if size is None or key in self.cache:
                continue
            if is_raw(self._volume(key.path), key.level):  # the neighbours follow as blocks
                return key, key.index, key.index + 1
            return (key, *self._block(key, size, ahead=True))
        for key in [k for keys in self._around.values() for k in keys]:
            overview = self._overviews.get(key.path)
            if (overview is None or overview.version != key.version) and self._size(key):
                return key, -1, -1
        for distance in range(1, self.prefetch + 1):
            for centre in [k for keys in self._around.values() for k in keys]:
                size = self._size(centre)
                for index in (centre.index + distance, centre.index - distance):
                    key = centre.at(index)
                    if size is not None and 0 <= index < size and key not in self.cache:
                        return (key, *self._block(key, size, ahead=index > centre.index))
        return None

    def _size(self, key: PlaneKey) -> int | None:
        """Planes across the key's axis; None (and the store's requests dropped) when the
        store cannot be opened (deleted, damaged)."""
        try:
            return self._volume(key.path).level_shape(key.level)[key.axis]
        except Exception as exc:
            log.warning("cannot open %s: %r", key.path, exc)
            self._drop(key.path)
            self._failed(key.path, exc)
            return None

    def _failed(self, path: str, exc: Exception) -> None:
        if self.on_failed is not None:
            self.on_failed(path, str(exc) or type(exc).__name__)

    def _block(self, key: PlaneKey, size: int, ahead: bool) -> tuple[int, int]:
        """The planes read with ``key``: a block of ~BLOCK_BYTES reaching away from the cursor."""
        volume = self._volume(key.path)
        if not is_raw(volume, key.level):  # compressed: whole chunks are decoded anyway
            depth = volume.arrays[key.level].chunks[key.axis]
            start = key.index // depth * depth
            return start, min(size, start + depth)
        shape = volume.level_shape(key.level)
        rows, cols = [s for a, s in enumerate(shape) if a != key.axis]
        n = max(1, min(MAX_BLOCK, BLOCK_BYTES // max(rows * cols * volume.dtype.itemsize, 1)))
        if ahead:
            return key.index, min(size, key.index + n)
        return max(0, key.index - n + 1), key.index + 1

    def _volume(self, path: str) -> Volume:
        volume = self._volumes.get(path)
        if volume is None:
            volume = self._volumes[path] = Volume(path)
        return volume

    def _read_overview(self, key: PlaneKey) -> None:
        volume = self._volume(key.path)
        level = overview_level(volume)
        data = None
        if level is not None:
            data = read_planes(volume, 0, 0, volume.level_shape(level)[0], level)
            data.setflags(write=False)
        overview = Overview(key.version, level or 0, data, level_factors(volume))
        with self._condition:
            if any(k.path == key.path for ks in self._around.values() for k in ks):
                self._overviews[key.path] = overview  # not if forgotten meanwhile

    def _read(self, key: PlaneKey, start: int, stop: int) -> None:
        block = read_planes(self._volume(key.path), key.axis, start, stop, key.level)
        ready = []
        for offset, plane in enumerate(block):
            plane_key = key.at(start + offset)
            if plane_key not in self.cache:
                shown = plane.T if key.axis == 2 else plane  # YZ is shown with z across
                self.cache.put(plane_key, np.ascontiguousarray(shown))
                ready.append(plane_key)
        for plane_key in ready:
            self.on_ready(plane_key)
