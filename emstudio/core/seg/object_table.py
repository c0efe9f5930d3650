"""The objects of a label volume being proofread: id -> bounding box and voxel count.

Built once by scanning the volume chunk by chunk (``objects.object_boxes``, with progress; a
stored volume's boxes are cached in its store, ``object_cache``), then kept exact by every
edit: an edit states the entries it changes before and after, so undo and redo restore them
too. Operations then read only the boxes of the objects concerned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from emstudio.core.progress import Progress, no_progress
from emstudio.core.seg.instances import Box
from emstudio.core.seg.object_cache import cached_object_boxes
from emstudio.core.seg.objects import ObjectBoxes
from emstudio.core.volume.store import Volume

SCAN_CHUNKS = (1, 4, 4)  # chunks per scanned block along z, y, x


@dataclass(frozen=True)
class ObjectEntry:
    """One object: bounding box [lo, hi) in voxels (z, y, x) and its voxel count."""

    lo: tuple[int, int, int]
    hi: tuple[int, int, int]
    count: int

    @property
    def box(self) -> Box:
        return tuple(slice(a, b) for a, b in zip(self.lo, self.hi, strict=True))  # type: ignore[return-value]

    def union(self, other: ObjectEntry) -> ObjectEntry:
        lo = tuple(min(a, b) for a, b in zip(self.lo, other.lo, strict=True))
        hi = tuple(max(a, b) for a, b in zip(self.hi, other.hi, strict=True))
        return ObjectEntry(lo, hi, self.count + other.count)  # type: ignore[arg-type]


Entries = dict[int, ObjectEntry | None]  # None: no object with this id


class ObjectTable:
    """Every object of one label volume."""

    def __init__(self, entries: Mapping[int, ObjectEntry]) -> None:
        self._entries = dict(entries)

    @classmethod
    def from_boxes(cls, boxes: ObjectBoxes) -> ObjectTable:
        return cls(
            {
                int(i): ObjectEntry(tuple(map(int, lo)), tuple(map(int, hi)), int(n))  # type: ignore[arg-type]
                for i, lo, hi, n in zip(boxes.ids, boxes.lo, boxes.hi, boxes.count, strict=True)
            }
        )

    @classmethod
    def of_volume(cls, volume: Volume, progress: Progress = no_progress) -> ObjectTable:
        """Every object of a stored volume: scanned the first time, then read from its cache."""
        block = tuple(c * n for c, n in zip(volume.chunks, SCAN_CHUNKS, strict=True))
        return cls.from_boxes(cached_object_boxes(volume, block, progress))  # type: ignore[arg-type]

    @classmethod
    def of_region(cls, region: np.ndarray, ids: Iterable[int], origin: tuple[int, ...]) -> Entries:
        """Entries of ``ids`` as found in a region placed at ``origin`` (None where absent)."""
        entries: Entries = {}
        for object_id in ids:
            mask = region == object_id
            found = ndimage.find_objects(mask.astype(np.uint8))
            if not found:
                entries[int(object_id)] = None
                continue
            lo = tuple(s.start + o for s, o in zip(found[0], origin, strict=True))
            hi = tuple(s.stop + o for s, o in zip(found[0], origin, strict=True))
            entries[int(object_id)] = ObjectEntry(lo, hi, int(mask.sum()))  # type: ignore[arg-type]
        return entries

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._entries

    def get(self, object_id: int) -> ObjectEntry | None:
        return self._entries.get(int(object_id))

    def count(self, object_id: int) -> int:
        entry = self.get(object_id)
        return entry.count if entry is not None else 0

    def max_id(self) -> int:
        return max(self._entries, default=0)

    def entries(self, ids: Iterable[int]) -> Entries:
        return {int(i): self.get(i) for i in ids}

    def update(self, entries: Entries) -> None:
        for object_id, entry in entries.items():
            if entry is None:
                self._entries.pop(object_id, None)
            else:
                self._entries[object_id] = entry
