"""What one worker process holds before its first task, and why (issue: Instances, meshes...).

Post-processing runs its tasks in worker processes, as many as a memory budget holds
(``emstudio.core.seg.workers``): what each holds of its own decides how many run at once. On
the development machine a segmentation worker holds about 120 MiB once its libraries are
loaded; on a lent 16-core GPU machine a meshing worker held 289 MiB, which capped meshing at
fewer processes than cores: 178 MiB of it was CuPy, installed there, which zarr imports when
present (``gpu_figures.sh post`` hides it; emstudio installs none). This script loads a
worker's libraries one by one in a fresh process and prints the resident (RSS) and unique
(USS) memory each adds, then the largest mapped files and the anonymous memory, to name what
takes the room on a given machine.

Usage: python benchmarks/bench_worker_memory.py [--top N]
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import Counter
from pathlib import Path

import psutil

# what a segmentation worker imports, then what a meshing worker adds (in import order)
STEPS = (
    "numpy",
    "scipy.ndimage",
    "scipy.sparse",
    "zarr",
    "skimage.segmentation",
    "emstudio.core.seg.blockwise",
    "emstudio.core.seg.labelwrite",
    "skimage.measure",
    "trimesh",
    "emstudio.core.mesh.build",
)


def mapped_rss(top: int) -> list[tuple[str, int]]:
    """The ``top`` largest contributors to resident memory (KiB): each mapped file, and the
    anonymous memory (heap and the like) in one line (Linux)."""
    smaps = Path("/proc/self/smaps")
    if not smaps.is_file():
        return []
    held: Counter[str] = Counter()
    name = ""
    for line in smaps.read_text().splitlines():
        fields = line.split()
        if fields and ":" not in fields[0]:  # a mapping's header: address perms ... [path]
            name = fields[5] if len(fields) > 5 else "[anonymous]"
        elif fields and fields[0] == "Rss:":
            held[name] += int(fields[1])
    return held.most_common(top)


def top_level_modules() -> set[str]:
    return {name.partition(".")[0] for name in sys.modules}


def huge_pages() -> str:
    """The kernel's transparent huge page mode and the huge pages this process holds (Linux):
    with the mode "always", small heaps can be backed by 2 MiB pages and grow several-fold."""
    mode = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    rollup = Path("/proc/self/smaps_rollup")
    if not mode.is_file() or not rollup.is_file():
        return "unknown"
    held = next(
        (line.split()[1] for line in rollup.read_text().splitlines() if "AnonHugePages" in line),
        "?",
    )
    return f"mode {mode.read_text().strip()}, this process {held} KiB in huge pages"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12, help="mappings to list")
    args = parser.parse_args()
    process = psutil.Process()
    before = process.memory_full_info()
    print(f"python {sys.version.split()[0]}: RSS {before.rss >> 20} MiB, USS {before.uss >> 20}")
    loaded = top_level_modules()
    for module in STEPS:
        importlib.import_module(module)
        now = process.memory_full_info()
        added = sorted(top_level_modules() - loaded - set(sys.builtin_module_names))
        loaded |= set(added)
        print(
            f"  + {module:32s} RSS {now.rss >> 20:4d} MiB (+{(now.rss - before.rss) >> 20:3d}),"
            f" USS {now.uss >> 20:4d} MiB (+{(now.uss - before.uss) >> 20:3d})"
        )
        print(f"      packages loaded: {', '.join(n for n in added if not n.startswith('_'))}")
        before = now
    heavy = sorted(
        m for m in ("torch", "cupy", "pandas", "matplotlib", "numba") if m in sys.modules
    )
    print(f"heavy modules loaded on the way: {', '.join(heavy) or 'none'}")
    print(f"transparent huge pages: {huge_pages()}")
    print(f"largest resident mappings (of RSS {before.rss >> 20} MiB):")
    for name, kib in mapped_rss(args.top):
        print(f"  {kib / 1024:7.1f} MiB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
