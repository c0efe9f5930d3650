"""The Qt side of the plane reader and the instance colourer: ``ready`` and ``coloured``
signals delivered on the GUI thread."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PySide6.QtCore import QObject, Signal

from emstudio.gui.instance_colours import InstanceColourer
from emstudio.gui.planes import CACHE_BYTES, PlaneCache, PlaneKey, PlaneReader


class PlaneLoader(QObject):
    """Cache + reader thread shared by the slice views, and the thread that colours their
    instance planes (``colours``). Call ``stop()`` before deleting it."""

    ready = Signal(object)  # a PlaneKey now in the cache
    coloured = Signal(object)  # an instance_colours.Colouring now done
    failed = Signal(str, str)  # a store's path, what went wrong reading it

    def __init__(self, parent: QObject | None = None, cache_bytes: int = CACHE_BYTES) -> None:
        super().__init__(parent)
        self.cache = PlaneCache(cache_bytes)
        # emitted from the reader thread
        self.reader = PlaneReader(self.cache, self.ready.emit, on_failed=self.failed.emit)
        self.colours = InstanceColourer(self.coloured.emit)  # emitted from its thread
        self._versions: dict[str, int] = {}

    def key(self, path: str, axis: int, index: int, level: int) -> PlaneKey:
        return PlaneKey(path, axis, index, level, self._versions.get(path, 0))

    def get(self, key: PlaneKey) -> np.ndarray | None:
        return self.cache.get(key)

    def overview(self, key: PlaneKey) -> tuple[PlaneKey, np.ndarray] | None:
        """A coarser plane to draw at once while ``key``'s plane is read (see ``planes``)."""
        return self.reader.overview(key)

    def request(self, keys: Iterable[PlaneKey], group: object = None) -> None:
        """Read the missing planes soon, then prefetch around them (per ``group``: a view)."""
        self.reader.request(keys, group)

    def changed(self, path: str) -> None:
        """The store at ``path`` was rewritten: forget its planes, read them again."""
        self._versions[path] = self._versions.get(path, 0) + 1
        self.reader.forget(path)

    def stop(self) -> None:
        self.reader.stop()
        self.colours.stop()
