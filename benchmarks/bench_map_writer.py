"""How writing a GPU job's maps, column by column, leaves the GIL to the thread driving the model
(issue: Deep learning ... fast out-of-core tri-axis prediction).

A fused tri-axis prediction writes three uint8 maps of each column (all of z, 1024 x 1024 in y
and x: 1.6 GB at 517 planes) with their pyramids while a thread launches the model's work on
the GPU. On a 16-core H200 machine the map writers, threads of the job's own process, kept its
columns 1.7 s a column longer than the GPU's 3.2 s; four chunk threads a map instead of one
made the model's part 5.8 s. This script writes such columns both ways:

- ``threads``: in this process, one chunk thread a map (``PredictionSet`` without a child);
- ``process``: by a child process (``BoxWriterProcess``) with ``map_write_threads`` threads a
  map;

and meanwhile a probe thread makes small torch calls, as the model's driver does: its calls per
second say how much of the GIL the writing leaves. It prints, for each way, the seconds a
column took to write (median), the probe's calls per second while writing and alone, and the
peak memory of this process with its child (RSS counts the shared memory in both, PSS once).

Usage: python benchmarks/bench_map_writer.py [--shape Z,Y,X] [--column 1024] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from _common import TreeMemory, median_p95

from emstudio.core.io.base import VoxelSize
from emstudio.core.ml.outputs import MAP_WRITE_THREADS, map_write_threads
from emstudio.core.seg.workers import cpu_count
from emstudio.core.volume.boxprocess import BoxWriterProcess, shared_memory_room
from emstudio.core.volume.store import VolumeWriter, write_boxes

MAPS = 3
VOXEL = VoxelSize(40, 10, 10, known=True)


class Probe:
    """A thread making small torch calls while ``measure`` runs a piece of work."""

    def __init__(self) -> None:
        self.calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        a, b = torch.ones(64), torch.ones(64)
        while not self._stop.is_set():
            torch.add(a, b)
            self.calls += 1

    def measure(self, work) -> tuple[float, object]:
        """(calls per second while ``work()`` ran, its result)."""
        self._thread.start()
        start = time.perf_counter()
        try:
            result = work()
        finally:
            self._stop.set()
            self._thread.join()
        return self.calls / (time.perf_counter() - start), result


def column_maps(depth: int, side: int) -> list[np.ndarray]:
    """Maps like a random-weights model's: smooth values about the middle (LZ4 barely shrinks
    them, as in the GPU benchmark's maps)."""
    rng = np.random.default_rng(0)
    base = rng.integers(96, 160, (depth, side // 4, side // 4), dtype=np.uint8)
    return [np.repeat(np.repeat(base + 8 * k, 4, axis=1), 4, axis=2) for k in range(MAPS)]


def write_columns(way: str, folder: Path, shape: tuple[int, int, int], side: int) -> list[float]:
    """Write every column of ``MAPS`` maps of ``shape``; the seconds each column took."""
    writers = [
        VolumeWriter(
            folder / f"{way}-{k}.zarr",
            shape,
            "uint8",
            VOXEL,
            "prediction",
            f"m{k}",
            threads=MAP_WRITE_THREADS,
            in_boxes=True,
        )
        for k in range(MAPS)
    ]
    maps = column_maps(shape[0], side)
    child = None
    if way == "process":
        threads = map_write_threads(MAPS, cpu_count())
        child = BoxWriterProcess([w.pyramid_boxes for w in writers], MAPS * maps[0].nbytes, threads)
    seconds = []
    try:
        for y0 in range(0, shape[1], side):
            for x0 in range(0, shape[2], side):
                start = time.perf_counter()
                if child is not None:
                    child.write(y0, x0, maps)  # the column before is durable on return
                else:
                    write_boxes(writers, y0, x0, maps)
                seconds.append(time.perf_counter() - start)
        if child is not None:  # the last column made durable counts as part of its write
            start = time.perf_counter()
            child.flush()
            seconds[-1] += time.perf_counter() - start
    finally:
        if child is not None:
            child.close()
        for writer in writers:
            writer.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="517,2048,2048", help="Z,Y,X of each map")
    parser.add_argument("--column", type=int, default=1024, help="column side in voxels")
    parser.add_argument("--folder", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    root = Path(tempfile.mkdtemp(prefix="bench-map-writer-", dir=args.folder))
    torch.set_num_threads(1)
    try:
        alone, _ = Probe().measure(lambda: time.sleep(2))
        print(
            f"{MAPS} maps of {shape[0]} x {shape[1]} x {shape[2]}, columns {args.column} wide, "
            f"{cpu_count()} cores; probe alone: {alone / 1000:.0f}k calls/s"
        )
        column_bytes = MAPS * shape[0] * args.column**2
        ways = ["threads", "process"] if shared_memory_room(column_bytes) else ["threads"]
        if len(ways) == 1:
            print(f"process: not run, the shared memory has no room for {column_bytes} bytes")
        for way in ways:
            with TreeMemory(os.getpid()) as memory:
                rate, seconds = Probe().measure(
                    lambda way=way: write_columns(way, root, shape, args.column)
                )
            median, p95 = median_p95(seconds[1:] or seconds)
            pss = f", PSS {memory.pss / 2**30:.2f} GiB" if memory.pss else ""
            print(
                f"{way:8s} a column written in {median:.2f} s (p95 {p95:.2f}, first "
                f"{seconds[0]:.2f}); probe {rate / 1000:.0f}k calls/s; peak memory with its "
                f"child: RSS {memory.rss / 2**30:.2f} GiB{pss}"
            )
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
