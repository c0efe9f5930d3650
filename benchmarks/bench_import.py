"""Import and slice-read figures (issue: Foundation). Prints a table; run with `make bench`.

1. Writes a multi-page uint8 TIFF of --tiff-gib GiB (default 4) with tifffile.
2. Raw read speed: reads every page of that TIFF with tifffile, from the disk (the file's pages
   dropped from the page cache first, as for a stack just copied to the workstation) and again
   from the page cache.
3. Import: `emstudio import` in a child process, the file's pages dropped from the cache first;
   wall time, throughput against the raw read from the disk, and the child's peak RSS (sampled
   every 100 ms with its descendants), so memory is measured on the real entry point.
4. Slice reads on a 512 x 2048 x 2048 uint8 volume in the project store: median and p95 ms for
   random XY, XZ and YZ planes through ``Volume.plane`` (the viewers' path), and through plain
   zarr-python for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
from _common import TreeMemory, median_p95

from emstudio.core.project import Project
from emstudio.core.volume.store import Volume
from emstudio.jobs.launch import emstudio_command


def write_tiff(path: Path, shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(0)
    plane_block = rng.integers(0, 256, size=(8, *shape[1:]), dtype=np.uint8)

    def planes():
        for z in range(shape[0]):
            yield plane_block[z % 8]

    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(planes(), shape=shape, dtype=np.uint8, metadata=None)


def drop_from_page_cache(path: Path) -> None:
    """Evict ``path``'s pages from the OS page cache (no root needed), so it is read from disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def raw_read_seconds(path: Path) -> float:
    start = time.perf_counter()
    with tifffile.TiffFile(path) as tif:
        for page in tif.pages:
            page.asarray()
    return time.perf_counter() - start


def write_speeds(folder: Path, mib: int = 1024) -> tuple[float, float]:
    """MiB/s of writing ``mib`` MiB into a new file: into the OS cache, and flushed to disk
    (the bound of any durable import)."""
    block = np.random.default_rng(2).integers(0, 256, 16 * 2**20, dtype=np.uint8).tobytes()
    path = folder / "disk-speed.bin"
    start = time.perf_counter()
    with open(path, "wb") as handle:
        for _ in range(mib // 16):
            handle.write(block)
        handle.flush()
        cached = time.perf_counter() - start
        os.fsync(handle.fileno())
    seconds = time.perf_counter() - start
    path.unlink()
    return mib / cached, mib / seconds


def run_import(project: Path, tiff: Path, name: str) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds) of `emstudio import` in a child process (its
    peak sampled by ``TreeMemory``)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    command = emstudio_command(
        "import", str(project), str(tiff), "--name", name, "--voxel-size", "50,10,10"
    )
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with TreeMemory(child.pid) as memory:
        if child.wait():
            raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, memory.rss / 2**20, usage.ru_utime + usage.ru_stime - cpu_before


def slice_times(volume: Volume, samples: int, use_zarr: bool) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(1)
    out = {}
    for axis, label in enumerate(("XY", "XZ", "YZ")):
        times = []
        for _ in range(samples):
            index = int(rng.integers(0, volume.shape[axis]))
            start = time.perf_counter()
            if use_zarr:
                key = [slice(None)] * 3
                key[axis] = index
                np.asarray(volume.arrays[0][tuple(key)])
            else:
                volume.plane(axis, index)
            times.append((time.perf_counter() - start) * 1000)
        out[label] = median_p95(times)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiff-gib", type=float, default=4.0, help="size of the import test")
    parser.add_argument("--slice-shape", default="512,2048,2048", help="Z,Y,X of slice test")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="emstudio-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, scratch {work}")

    y = x = 4096
    z = max(2, int(args.tiff_gib * 2**30 / (y * x)))
    tiff = work / "stack.tif"
    print(f"\n== import: {z} x {y} x {x} uint8 TIFF ({z * y * x / 2**30:.2f} GiB)")
    write_tiff(tiff, (z, y, x))
    gib = tiff.stat().st_size / 2**30
    drop_from_page_cache(tiff)
    raw = raw_read_seconds(tiff)
    cached = raw_read_seconds(tiff)
    print(
        f"raw TIFF read (tifffile, page by page): from disk {raw:.2f} s = "
        f"{gib / raw * 1024:.0f} MiB/s; from the page cache {gib / cached * 1024:.0f} MiB/s"
    )
    project = work / "bench.emproj"
    if not project.exists():
        Project.create(project).close()
    drop_from_page_cache(tiff)
    wall, peak, cpu = run_import(project, tiff, f"stack-{time.time_ns()}")
    print(
        f"emstudio import from disk (incl. process start and pyramid): {wall:.2f} s = "
        f"{gib / wall * 1024:.0f} MiB/s  -> {raw / wall:.2f} of the raw read speed from disk "
        f"(target >= 0.5)"
    )
    print(f"import peak RSS: {peak:.0f} MiB (target < 1024 MiB for a {gib:.1f} GiB stack)")
    print(
        f"import CPU time (user + system): {cpu:.1f} s, {cpu / wall:.1f} of the "
        f"{os.cpu_count()} cores busy on average"
    )
    cache_write, disk = write_speeds(work)
    with Project.open(project, mode="read") as proj:
        stored = proj.resolve(proj.catalog.volumes()[-1].path)
    written = sum(p.stat().st_size for p in stored.rglob("*") if p.is_file()) / 2**20
    print(
        f"disk: write into the OS cache {cache_write:.0f} MiB/s, durable write (write + fsync) "
        f"{disk:.0f} MiB/s; the import wrote "
        f"{written:.0f} MiB (all levels) and flushes it before registering it, so it cannot "
        f"beat {gib * 1024 / (written / disk):.0f} MiB/s of input on this disk"
    )
    tiff.unlink()

    sz, sy, sx = (int(v) for v in args.slice_shape.split(","))
    print(f"\n== slice reads: {sz} x {sy} x {sx} uint8 in the project store")
    stack = work / "slices.tif"
    write_tiff(stack, (sz, sy, sx))
    name = f"slices-{time.time_ns()}"
    run_import(project, stack, name)
    stack.unlink()
    with Project.open(project, mode="read") as proj:
        record = proj.catalog.volume(name)
        volume = Volume(proj.resolve(record.path))
    print(f"chunks {volume.chunks}, uncompressed, {volume.levels} levels")
    fast = slice_times(volume, args.samples, use_zarr=False)
    plain = slice_times(volume, max(5, args.samples // 4), use_zarr=True)
    targets = {"XY": 20, "XZ": 60, "YZ": 60}
    print(f"{'plane':<6}{'median ms':>10}{'p95 ms':>10}{'target':>9}{'zarr-python median':>20}")
    for label, (median, p95) in fast.items():
        print(
            f"{label:<6}{median:>10.1f}{p95:>10.1f}{'<' + str(targets[label]):>9}"
            f"{plain[label][0]:>20.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
