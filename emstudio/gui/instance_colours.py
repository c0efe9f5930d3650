"""Colouring instance planes off the GUI thread (Qt-free, one plain Python thread).

Turning a plane of object ids into colour indices (``colors.instance_indices``: borders, a
hash, the selection; with the proofreading edits drawn in first) costs ~40 ms for 2048 x 2048,
several times that on a loaded machine; drawing the indices is cheap. The views ask for a
``Colouring`` (a plane and how it is coloured): a finished one is drawn at once, a missing one
is computed in the thread, newest request of each view only (a view's older request is dropped
when it asks again), and ``on_ready(colouring)`` is called from the thread. Finished colourings
are kept, least recently used first out, up to a byte budget, so going back to a slice or
toggling the selection back is instant.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emstudio.gui.colors import instance_indices
from emstudio.gui.planes import ByteBudgetCache, PlaneKey

log = logging.getLogger(__name__)

COLOUR_BYTES = 256 * 2**20
Patch = Callable[[np.ndarray], np.ndarray]  # draws the proofreading edits into a stored plane


@dataclass(frozen=True)
class Colouring:
    """What a coloured instance plane depends on: the stored plane, the display options and
    the proofreading edits drawn in (``edits`` counts them: a new edit, a new colouring)."""

    key: PlaneKey
    outlines: bool
    selection: tuple[int, ...]
    edits: int


@dataclass(frozen=True)
class Coloured:
    """A coloured plane: the ids drawn (edits included; hover reads them) and their indices
    into ``colors.instance_lut()``."""

    ids: np.ndarray
    indices: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.ids.nbytes + self.indices.nbytes


class InstanceColourer:
    """One background thread that colours instance planes, newest request per view first."""

    def __init__(
        self, on_ready: Callable[[Colouring], None], max_bytes: int = COLOUR_BYTES
    ) -> None:
        self.on_ready = on_ready
        self._done: ByteBudgetCache[Colouring, Coloured] = ByteBudgetCache(max_bytes)
        self._pending: dict[object, tuple[Colouring, np.ndarray, Patch]] = {}
        self._condition = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def get(self, colouring: Colouring) -> Coloured | None:
        return self._done.get(colouring)

    def request(self, group: object, colouring: Colouring, plane: np.ndarray, patch: Patch) -> None:
        """Colour ``plane`` (``patch`` draws the edits in, in the thread) as ``colouring``
        says; it replaces the pending request of ``group`` (a view)."""
        if self._thread is None:
            self._stopped = False
            self._thread = threading.Thread(target=self._run, name="instance-colours", daemon=True)
            self._thread.start()
        with self._condition:
            self._pending[group] = (colouring, plane, patch)
            self._condition.notify()

    def stop(self) -> None:
        """End the thread (the next request starts a new one) and forget every colouring."""
        thread, self._thread = self._thread, None
        with self._condition:
            self._stopped = True
            self._pending.clear()
            self._done.forget_all()
            self._condition.notify()
        if thread is not None:
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopped:
                    self._condition.wait()
                if self._stopped:
                    return
                _, (colouring, plane, patch) = self._pending.popitem()
                if colouring in self._done:
                    continue
            try:
                ids = patch(plane)
                indices = instance_indices(ids, colouring.outlines, colouring.selection)
            except Exception:  # a vanished store under the edit layer: log it, keep serving
                log.exception("cannot colour instance plane %s", colouring.key)
                continue
            self._done.put(colouring, Coloured(ids, indices))
            self.on_ready(colouring)
