"""Per-axis probability maps of a prediction in progress, in the job folder (resumable).

One raw uint8 file per (axis, output), stored plane-major for its axis ((y, z, x) for XZ,
(x, z, y) for YZ), so a block of planes is one contiguous write. Blocks are recorded in
``<axis>.done`` after their data is on disk; a restarted job skips them. The combine pass reads
back a range of z from every plane, still plane-major: a run of whole rows per plane, so the
read is a plain copy; the transposition to (z, y, x) happens on the prediction's device. XY maps
are not stored: the final pass predicts them slab by slab (after a restart too; XY is the
cheapest axis, with no resampling).
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.ml.geometry import NORMAL, PLANE_DIMS

PLAN_FILE = "plan.json"


class Scratch:
    """The scratch folder of one prediction; ``plan`` identifies the work it holds."""

    def __init__(
        self, folder: Path, shape: tuple[int, int, int], outputs: list[str], plan: dict[str, Any]
    ) -> None:
        self.folder = Path(folder)
        self.shape = tuple(int(s) for s in shape)
        self.outputs = list(outputs)
        self.plan = plan

    @classmethod
    def open(cls, folder: Path, shape, outputs, plan) -> tuple[Scratch, bool]:
        """(scratch, resumed): the folder's work if it was made for the same plan, else a
        fresh start."""
        folder = Path(folder)
        plan_file = folder / PLAN_FILE
        resumed = False
        if plan_file.is_file():
            try:
                resumed = json.loads(plan_file.read_text(encoding="utf-8")) == plan
            except ValueError:
                resumed = False
        if not resumed:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            plan_file.write_text(json.dumps(plan), encoding="utf-8")
        return cls(folder, shape, outputs, plan), resumed

    def _file(self, axis: str, output: str) -> Path:
        return self.folder / f"{axis}-{output}.raw"

    def _plane_shape(self, axis: str) -> tuple[int, int]:
        u, v = PLANE_DIMS[axis]
        return self.shape[u], self.shape[v]

    def done_blocks(self, axis: str) -> set[tuple[int, int]]:
        """The (first, stop) blocks of planes of ``axis`` already stored."""
        return {(int(a), int(b)) for a, b in self.done(axis)}

    def done(self, log: str) -> set[tuple[str, ...]]:
        """The entries recorded in ``<log>.done`` (each a tuple of words)."""
        path = self.folder / f"{log}.done"
        if not path.is_file():
            return set()
        lines = path.read_text(encoding="utf-8").splitlines()
        return {tuple(line.split()) for line in lines if len(line.split()) == 2}

    def forget(self, log: str) -> None:
        """Empty ``<log>.done``: its work is to be done again."""
        (self.folder / f"{log}.done").unlink(missing_ok=True)

    def record(self, log: str, *entry: int) -> None:
        """Add an entry to ``<log>.done``, durably (after the work it names is on disk)."""
        with open(self.folder / f"{log}.done", "a", encoding="utf-8") as handle:
            handle.write(" ".join(map(str, entry)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def write(self, axis: str, first: int, block: np.ndarray) -> None:
        """Store planes ``first..`` of ``axis`` (block (planes, outputs, u, v) uint8) durably,
        then record the block as done. The outputs' files are written at once, each by its
        own thread (writes and syncs leave the GIL)."""
        nu, nv = self._plane_shape(axis)
        offset = first * nu * nv

        def store(k: int) -> None:
            path = self._file(axis, self.outputs[k])
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            try:
                data = np.ascontiguousarray(block[:, k])
                os.lseek(fd, offset, os.SEEK_SET)
                view = memoryview(data).cast("B")
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)

        with ThreadPoolExecutor(len(self.outputs), "scratch-output") as writers:
            list(writers.map(store, range(len(self.outputs))))  # and raise what one raised
        self.record(axis, first, first + block.shape[0])

    def read_planes(self, axis: str, output: str, z0: int, z1: int) -> np.ndarray:
        """Planes z0..z1-1 of one XZ or YZ map, plane-major: a contiguous (planes, z1 - z0, v)
        uint8 array ((y, z, x) for XZ, (x, z, y) for YZ)."""
        nu, nv = self._plane_shape(axis)
        planes = self.shape[NORMAL[axis]]
        data = np.memmap(self._file(axis, output), np.uint8, mode="r", shape=(planes, nu, nv))
        try:
            return np.array(data[:, z0:z1])  # a copy: writable, and the map can close
        finally:
            del data

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
