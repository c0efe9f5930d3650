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


def run_json_child(script: str, args: Sequence[str]) -> dict:
    """Run ``python script args`` and return the JSON object on its last line of output, with
    the peaks of the child's and all its descendants' (worker processes') summed memory added,
    sampled every 100 ms: ``tree_peak_rss_mib``, resident memory, which counts pages the
    processes share (libraries) once per process, and on Linux ``tree_peak_pss_mib``,
    proportional memory, which counts them once in all: the physical memory the run took."""
    proc = subprocess.Popen(
        [sys.executable, script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = {"rss": 0, "pss": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            with contextlib.suppress(psutil.Error):  # the child may have ended meanwhile
                root = psutil.Process(proc.pid)
                totals = {"rss": 0, "pss": 0}
                for process in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        info = process.memory_full_info()
                        for key in totals:
                            totals[key] += getattr(info, key, 0)
                for key, total in totals.items():
                    peak[key] = max(peak[key], total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"{Path(script).name} {' '.join(args)} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["tree_peak_rss_mib"] = round(peak["rss"] / 2**20)
    if peak["pss"]:
        result["tree_peak_pss_mib"] = round(peak["pss"] / 2**20)
    return result


def peak_rss_mib() -> float:
    """This process' peak resident memory so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_p95(times: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """The median and the 95th percentile."""
    return float(np.median(times)), float(np.percentile(times, 95))
