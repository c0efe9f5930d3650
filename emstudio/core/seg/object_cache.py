"""The object boxes of a stored label volume, kept in the volume's own store after one scan,
or from the start by the segmentation that wrote it (``seg.run``), so that meshing, measuring
and the object table need no scan.

Stores never change once written and are named by volume id (``data/<id>.zarr``), so a cache
file inside the store belongs to that volume for good and is deleted with it. The file records
the store's name, shape and dtype and is ignored when any differs (a store copied or rewritten
under another id). Saving is best effort: a read-only project just scans again next time.
"""

from __future__ import annotations

import io
import logging

import numpy as np

from emstudio.core.progress import Progress, no_progress
from emstudio.core.project.atomic import atomic_write_bytes
from emstudio.core.seg.objects import ObjectBoxes, object_boxes
from emstudio.core.volume.store import Volume

CACHE_FILE = "emstudio-objects.npz"
FIELDS = ("ids", "lo", "hi", "count")

log = logging.getLogger(__name__)


def _key(volume: Volume) -> np.ndarray:
    return np.array([volume.path.name, str(volume.shape), str(volume.dtype)])


def load_boxes(volume: Volume) -> ObjectBoxes | None:
    """The cached boxes of ``volume``, or None when there are none (or they are not its own)."""
    path = volume.path / CACHE_FILE
    try:
        with np.load(path, allow_pickle=False) as data:
            if not np.array_equal(data["key"], _key(volume)):
                return None
            return ObjectBoxes(*(data[name] for name in FIELDS))
    except (OSError, KeyError, ValueError):
        return None


def save_boxes(volume: Volume, boxes: ObjectBoxes) -> None:
    """Keep ``boxes`` in the store of ``volume`` (silently skipped where it cannot be written)."""
    buffer = io.BytesIO()
    np.savez(buffer, key=_key(volume), **{name: getattr(boxes, name) for name in FIELDS})
    try:
        atomic_write_bytes(volume.path / CACHE_FILE, buffer.getvalue())
    except OSError as exc:
        log.info("object table of %s not cached: %s", volume.path, exc)


def cached_object_boxes(
    volume: Volume, block: tuple[int, int, int], progress: Progress = no_progress
) -> ObjectBoxes:
    """The boxes of every object of ``volume`` (level 0): from the cache, else scanned in
    ``block``-sized blocks and cached."""
    boxes = load_boxes(volume)
    if boxes is None:
        boxes = object_boxes(volume.boxes(), block, progress)
        save_boxes(volume, boxes)
    return boxes
