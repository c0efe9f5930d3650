"""Helpers shared by the benchmarks: a quick synthetic project image, child processes that report
JSON, peak memory and timing summaries."""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import psutil

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.volumes import add_volume
from emstudio.core.seg.workers import peak_bytes
from emstudio.core.volume.store import VolumeWriter


def add_cyclic_image(
    project: Project,
    planes: np.ndarray,
    depth: int,
    voxel: VoxelSize,
    source: str,
    name: str = "em",
) -> VolumeRecord:
    """Add a uint8 image ``name`` of ``depth`` planes, plane z being ``planes[z % len(planes)]``
    (quick to write at any size)."""
    shape = (depth, *planes.shape[1:])
    record = VolumeRecord.new(name, "image", shape, "uint8", voxel, source)

    def write(staging: Path) -> None:
        with VolumeWriter(staging, shape, "uint8", voxel, "image", name) as writer:
            for z0 in range(0, depth, writer.slab_planes):
                z1 = min(z0 + writer.slab_planes, depth)
                slab = planes[np.arange(z0, z1) % len(planes)]
                writer.write_slab(z0, np.ascontiguousarray(slab))
            writer.finalize({})
            record.take_layout(writer)

    return add_volume(project, write, record)


class TreeMemory:
    """Samples a process and all its descendants (worker processes) every 100 ms, in a thread,
    while in the ``with`` block: ``rss``, the peak of their summed resident memory, which counts
    pages they share (libraries) once per process; ``pss`` (Linux), the peak of their summed
    proportional memory, which counts them once in all: the physical memory taken; ``worker``,
    the most one descendant held; ``workers``, the most worker processes (``spawn`` children)
    alive at once. Sampling, not ``ru_maxrss``: a child's ``ru_maxrss`` starts at
    its parent's peak when it was started (Linux keeps it across fork and exec)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss = self.pss = self.worker = self.workers = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.1):
            with contextlib.suppress(psutil.Error):  # the process may have ended meanwhile
                root = psutil.Process(self.pid)
                rss = pss = workers = 0
                for process in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        info = process.memory_full_info()
                        rss, pss = rss + info.rss, pss + getattr(info, "pss", 0)
                        if process.pid != self.pid:
                            self.worker = max(self.worker, info.rss)
                            workers += "spawn_main" in " ".join(process.cmdline())
                self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
                self.workers = max(self.workers, workers)


def run_json_child(script: str, args: Sequence[str]) -> dict:
    """Run ``python script args`` and return the JSON object on its last line of output, with
    the ``TreeMemory`` peaks of the child and its workers added: ``tree_peak_rss_mib``,
    ``tree_peak_pss_mib`` (Linux), ``largest_worker_peak_rss_mib`` and ``most_workers`` (when
    it had workers), and ``cpu_s``, the processor time (user + system) of the child and its
    workers: its wall time on one core, which divided by a machine's cores bounds its wall time
    there from below."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        [sys.executable, script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with TreeMemory(proc.pid) as memory:
        stdout, stderr = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{Path(script).name} {' '.join(args)} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers were reaped by the child
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result["cpu_s"] = round(cpu, 1)
    result["tree_peak_rss_mib"] = round(memory.rss / 2**20)
    if memory.pss:
        result["tree_peak_pss_mib"] = round(memory.pss / 2**20)
    if memory.worker:
        result["largest_worker_peak_rss_mib"] = round(memory.worker / 2**20)
        result["most_workers"] = memory.workers
    return result


def peak_rss_mib() -> float:
    """This process' own peak resident memory so far (MiB): VmHWM on Linux, which starts afresh
    in a new program (``ru_maxrss`` would include the parent's peak), else ``ru_maxrss``."""
    if Path("/proc/self/status").is_file():
        return peak_bytes(psutil.Process()) / 2**20
    per_mib = 2**20 if sys.platform == "darwin" else 2**10  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / per_mib


def median_p95(times: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """The median and the 95th percentile."""
    return float(np.median(times)), float(np.percentile(times, 95))
