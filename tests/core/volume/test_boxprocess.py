"""Boxes of several stores written by a child process: the same stores as written here, the
shared memory freed, and a clear error where the child is gone or the boxes do not fit."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from emstudio.core.io.base import VoxelSize
from emstudio.core.volume.boxprocess import (
    SHARED_MEMORY_FOLDER,
    BoxWriterProcess,
    shared_memory_room,
)
from emstudio.core.volume.store import Volume, VolumeWriter

VOXEL = VoxelSize(40, 10, 10, known=True)
SHAPE = (10, 256, 384)
BOX = 128


def stores(folder: Path, names: tuple[str, ...] = ("a", "b")) -> list[VolumeWriter]:
    return [
        VolumeWriter(folder / f"{name}.zarr", SHAPE, "uint8", VOXEL, "prediction", name)
        for name in names
    ]


def test_stores_written_by_the_child_equal_those_written_here(tmp_path):
    rng = np.random.default_rng(0)
    data = [rng.integers(0, 255, SHAPE, dtype=np.uint8) for _ in range(2)]
    here, there = stores(tmp_path / "here"), stores(tmp_path / "there")
    child = BoxWriterProcess([w.pyramid_boxes for w in there], 2 * SHAPE[0] * BOX * BOX, 2)
    try:
        for y0 in range(0, SHAPE[1], BOX):
            for x0 in range(0, SHAPE[2], BOX):
                boxes = [d[:, y0 : y0 + BOX, x0 : x0 + BOX] for d in data]
                parts = child.write(y0, x0, boxes)
                assert sorted(parts) == ["chunks", "copy", "durable"]
                assert min(parts.values()) >= 0
                for writer, box in zip(here, boxes, strict=True):
                    writer.write_box(y0, x0, box)
        child.flush()
    finally:
        child.close()
    for writers in (here, there):
        for writer in writers:
            writer.adopt(len(writer.level_writers), ())
            writer.finalize({})
            writer.close()
    for name, expected in zip("ab", data, strict=True):
        a, b = (
            Volume(tmp_path / "here" / f"{name}.zarr"),
            Volume(tmp_path / "there" / f"{name}.zarr"),
        )
        assert a.levels == b.levels == 2
        np.testing.assert_array_equal(b.read(0, SHAPE[0]), expected)
        np.testing.assert_array_equal(b.read(0, SHAPE[0], 1), a.read(0, SHAPE[0], 1))


def test_boxes_larger_than_the_shared_memory_are_refused(tmp_path):
    (writer,) = stores(tmp_path, ("a",))
    child = BoxWriterProcess([writer.pyramid_boxes], SHAPE[0] * BOX * BOX, 1)
    try:
        with pytest.raises(ValueError, match="more than"):
            child.write(0, 0, [np.zeros((SHAPE[0], BOX, 2 * BOX), np.uint8)])
    finally:
        child.close()
        writer.close()
    assert not list((tmp_path / "a.zarr" / "0").glob("0.*"))  # no chunk written


def test_a_child_gone_is_an_error_saying_so_and_the_memory_is_freed(tmp_path):
    (writer,) = stores(tmp_path, ("a",))
    child = BoxWriterProcess([writer.pyramid_boxes], SHAPE[0] * BOX * BOX, 1)
    name = child._memory.name
    box = np.ones((SHAPE[0], BOX, BOX), np.uint8)
    try:
        child.write(0, 0, [box])  # the child is up
        for process in psutil.Process().children():
            if "spawn_main" in " ".join(process.cmdline()):  # not the resource tracker
                process.kill()
                process.wait(10)
        with pytest.raises(OSError, match=r"process writing .*a\.zarr stopped"):
            child.write(0, BOX, [box])
    finally:
        child.close()
        writer.close()
    if sys.platform.startswith("linux"):
        assert not (SHARED_MEMORY_FOLDER / name.lstrip("/")).exists()


def test_shared_memory_room_is_what_its_folder_holds():
    assert shared_memory_room(2**20)
    if sys.platform.startswith("linux"):
        assert not shared_memory_room(2**62)


ORPHAN_SCRIPT = """
import os, signal, sys
from pathlib import Path
import numpy as np
from emstudio.core.io.base import VoxelSize
from emstudio.core.volume.boxprocess import BoxWriterProcess
from emstudio.core.volume.store import VolumeWriter

if __name__ == "__main__":
    writer = VolumeWriter(
        Path(sys.argv[1]), (4, 128, 128), "uint8", VoxelSize(40, 10, 10, known=True),
        "prediction", "a",
    )
    child = BoxWriterProcess([writer.pyramid_boxes], 4 * 128 * 128, 1)
    child.write(0, 0, [np.ones((4, 128, 128), np.uint8)])
    import psutil
    workers = [p.pid for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
    print(child._memory.name, *workers, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL and /dev/shm")
def test_the_child_ends_with_a_killed_parent_and_the_memory_is_freed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT)
    parent = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "a.zarr")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    name, *workers = parent.stdout.split()
    assert workers
    shm = SHARED_MEMORY_FOLDER / name.lstrip("/")
    deadline = time.monotonic() + 20
    while shm.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not shm.exists()
    assert not [pid for pid in map(int, workers) if alive(pid)]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
