"""Post-processing figures (issue: Instances, meshes, measurements and the 3D view).

1. Writes a synthetic prediction of mitochondria-like objects (area + boundary uint8 maps of
   --shape, default 128 x 1024 x 1024, voxel 30 x 8 x 8 nm) as project-style OME-Zarr stores.
2. Instance segmentation, blockwise (``segment_blockwise`` -> a uint32 store) and, when the
   volume fits in memory, in memory (``segment_instances``); each in its own child process:
   wall time, processor time and peak RSS (the child's own VmHWM), and whether both results
   are identical. The blockwise stage keeps its object table in the store, as a project does.
3. Meshing of every object (blockwise reads, Taubin 10, PLY files), in a child process, from
   the kept object table (no scan of the labels, as `emstudio mesh` after `emstudio segment`).
4. Mesh volume of an exported sphere against the analytic volume; AP-75 of the demo phantom
   segmented from maps derived from its ground truth.

Usage: python benchmarks/bench_postprocess.py [--shape Z,Y,X] [--work DIR] [--skip-memory]
       [--skip-mesh] [--cores N]

Memory is reported as the peak summed over the stage's process and its workers, both resident
(RSS: shared library pages counted once per process) and proportional (PSS: counted once in
all, the physical memory taken). ``--cores N`` runs the stages with the workers of an N-core
machine (``EMSTUDIO_CORES``), to see its memory on a smaller one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from _common import peak_rss_mib, run_json_child

from emstudio.core.io.base import VoxelSize
from emstudio.core.seg.workers import CORES_VARIABLE

VOXEL = (30.0, 8.0, 8.0)
FOREGROUND_FRACTION = 0.08
BYTES_PER_VOXEL_IN_MEMORY = 26  # two maps, components, int64 labels, uint32 output, masks


# -- 1. synthetic prediction ----------------------------------------------------------------------
def objects(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Ellipsoids (centre z, y, x and semi-axes in voxels), elongated along y or x."""
    rng = np.random.default_rng(seed)
    mean_voxels = 4 / 3 * math.pi * 6 * 32 * 12
    count = max(1, int(FOREGROUND_FRACTION * np.prod(shape) / mean_voxels))
    centre = rng.uniform(0, 1, (count, 3)) * np.array(shape)
    long_, short = rng.uniform(18, 45, count), rng.uniform(8, 15, count)
    along_x = rng.random(count) < 0.5
    axes = np.stack(
        [
            rng.uniform(4, 8, count),
            np.where(along_x, short, long_),
            np.where(along_x, long_, short),
        ],
        1,
    )
    return np.concatenate([centre, axes], 1)


def render_slab(table: np.ndarray, shape, z0: int, z1: int) -> tuple[np.ndarray, np.ndarray]:
    """Area = soft inside (sigmoid of the scaled distance), boundary = soft shell."""
    area = np.zeros((z1 - z0, *shape[1:]), np.uint8)
    boundary = np.zeros_like(area)
    lo = np.floor(table[:, :3] - table[:, 3:] - 2).astype(int)
    hi = np.ceil(table[:, :3] + table[:, 3:] + 2).astype(int)
    for i in np.flatnonzero((lo[:, 0] < z1) & (hi[:, 0] > z0)):
        box = [slice(max(lo[i, 0], z0), min(hi[i, 0], z1))]
        box += [slice(max(lo[i, a], 0), min(hi[i, a], shape[a])) for a in (1, 2)]
        if any(s.stop <= s.start for s in box):
            continue
        grids = np.ogrid[tuple(box)]
        r = np.sqrt(
            sum(
                ((g - c) / a) ** 2
                for g, c, a in zip(grids, table[i, :3], table[i, 3:], strict=True)
            )
        )
        signed = (1 - r) * table[i, 3:].min()  # ~voxels inside the surface
        local = (slice(box[0].start - z0, box[0].stop - z0), box[1], box[2])
        inside = (255 / (1 + np.exp(-1.5 * signed))).astype(np.uint8)
        shell = (255 * np.exp(-((signed / 1.2) ** 2))).astype(np.uint8)
        np.maximum(area[local], inside, out=area[local])
        np.maximum(boundary[local], shell, out=boundary[local])
    return area, boundary


def make_prediction(work: Path, shape: tuple[int, int, int]) -> dict:
    from emstudio.core.volume.store import VolumeWriter

    table = objects(shape)
    voxel = VoxelSize(*VOXEL, known=True, origin="benchmark")
    start = time.perf_counter()
    with (
        VolumeWriter(work / "area.zarr", shape, "uint8", voxel, "prediction", "area") as a,
        VolumeWriter(work / "boundary.zarr", shape, "uint8", voxel, "prediction", "b") as b,
    ):
        step = min(a.slab_planes, 32)
        for z0 in range(0, shape[0], step):
            z1 = min(z0 + step, shape[0])
            area, boundary = render_slab(table, shape, z0, z1)
            a.write_slab(z0, area)
            b.write_slab(z0, boundary)
        a.finalize({})
        b.finalize({})
    return {"objects_drawn": len(table), "seconds": time.perf_counter() - start}


# -- 2., 3. stages in child processes ---------------------------------------------
def stage_blockwise(work: Path) -> dict:
    from emstudio.core.seg.blockwise import DEFAULT_BLOCK, label_workers, segment_blockwise
    from emstudio.core.seg.labelwrite import write_labels
    from emstudio.core.seg.object_cache import save_boxes
    from emstudio.core.seg.params import preset
    from emstudio.core.seg.workers import WorkerPool
    from emstudio.core.volume.store import Volume, VolumeWriter

    area, boundary = Volume(work / "area.zarr"), Volume(work / "boundary.zarr")
    scratch = work / "scratch"
    scratch.mkdir(exist_ok=True)
    params = preset("bc-watershed").params
    start = time.perf_counter()
    flooding: list[float] = []  # when the first component is flooded (labelling is over)

    def note_phase(_done: int, _total: int, message: str) -> None:
        if message.startswith("flooding") and not flooding:
            flooding.append(time.perf_counter())

    with WorkerPool(label_workers(area.shape, DEFAULT_BLOCK)) as pool:  # as `emstudio segment`
        started = pool.workers
        result = segment_blockwise(
            area.boxes(), boundary.boxes(), params, VOXEL, scratch, progress=note_phase, pool=pool
        )
        labelled = time.perf_counter()
        with VolumeWriter(
            work / "seg.zarr", area.shape, result.dtype, area.voxel_size, "segmentation", "seg"
        ) as writer:
            write_labels(result, writer, pool=pool)
            writer.finalize({})
        ended = pool.workers
    save_boxes(Volume(work / "seg.zarr"), result.boxes)  # as `emstudio segment` keeps them
    flood_start = flooding[0] if flooding else labelled
    return {
        "objects": result.n_objects,
        "label_s": round(flood_start - start, 1),
        "flood_s": round(labelled - flood_start, 1),
        "write_s": round(time.perf_counter() - labelled, 1),
        "processes": f"{started}->{ended}",
    }


def stage_memory(work: Path) -> dict:
    from emstudio.core.seg.instances import segment_instances
    from emstudio.core.seg.params import preset
    from emstudio.core.volume.store import Volume

    area, boundary = Volume(work / "area.zarr"), Volume(work / "boundary.zarr")
    a = area.read(0, area.shape[0])
    b = boundary.read(0, boundary.shape[0])
    labels = segment_instances(a, b, preset("bc-watershed").params, VOXEL)
    del a, b
    blockwise = Volume(work / "seg.zarr")
    same = all(
        np.array_equal(slab, labels[z0 : z0 + len(slab)]) for z0, slab in blockwise.iter_slabs()
    )
    return {"objects": int(labels.max()), "identical_to_blockwise": same}


def stage_mesh(work: Path) -> dict:
    from emstudio.core.mesh.build import MeshFiles, mesh_objects
    from emstudio.core.mesh.export import write_meshes
    from emstudio.core.seg.object_cache import load_boxes
    from emstudio.core.volume.store import Volume

    seg = Volume(work / "seg.zarr")
    out = work / "meshes"
    out.mkdir(exist_ok=True)
    known = load_boxes(seg)  # as `emstudio mesh`: the objects the segmentation found
    meshes = mesh_objects(seg.boxes(), VOXEL, files=MeshFiles(out, "ply"), known=known)
    index = write_meshes(meshes, out, "ply", False, {})
    closed = sum(o["watertight"] for o in index["objects"].values())
    return {"meshes": index["count"], "watertight": closed}


STAGES = {"blockwise": stage_blockwise, "memory": stage_memory, "mesh": stage_mesh}


def run_stage(name: str, work: Path) -> dict:
    start = time.perf_counter()
    result = run_json_child(__file__, ["--stage", name, "--work", str(work)])
    result["wall_s"] = time.perf_counter() - start
    return result


# -- 4. accuracy figures --------------------------------------------------------------
def sphere_volume_error() -> float:
    from emstudio.core.mesh.surface import mesh_mask

    radius, voxel = 400.0, (40.0, 10.0, 10.0)
    shape = (30, 100, 100)
    grids = np.meshgrid(
        *[np.arange(n) * v for n, v in zip(shape, voxel, strict=True)], indexing="ij"
    )
    centre = [(n - 1) / 2 * v for n, v in zip(shape, voxel, strict=True)]
    mask = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True)) <= radius**2
    mesh = mesh_mask(mask, (0, 0, 0), voxel)
    return abs(mesh.volume) / (4 / 3 * math.pi * radius**3) - 1


def phantom_ap75() -> tuple[float, int]:
    from emstudio.core.metrics.instance import Contingency, average_precision
    from emstudio.core.seg.from_truth import maps_from_instances
    from emstudio.core.seg.instances import segment_instances
    from emstudio.core.seg.params import InstanceParams
    from emstudio.core.synth import PhantomSpec, render

    spec = PhantomSpec.create((32, 256, 256))
    truth = render(spec).mito_instances
    area, boundary = maps_from_instances(truth)
    found = segment_instances(area, boundary, InstanceParams(), spec.voxel_size_nm)
    table = Contingency()
    table.add(found, truth)
    return average_precision(table, 0.75), int(truth.max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="128,1024,1024", help="Z,Y,X of the prediction")
    parser.add_argument("--work", help="folder for the stores (default: a temporary folder)")
    parser.add_argument("--skip-memory", action="store_true", help="no in-memory comparison")
    parser.add_argument("--skip-mesh", action="store_true", help="no meshing stage")
    parser.add_argument("--cores", type=int, help="run the stages as on this many cores")
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        result = STAGES[args.stage](Path(args.work))
        result["peak_rss_mib"] = peak_rss_mib()
        own = resource.getrusage(resource.RUSAGE_SELF)  # the part no worker shares out
        result["main_cpu_s"] = round(own.ru_utime + own.ru_stime, 1)
        print(json.dumps(result))
        return 0
    shape = tuple(int(v) for v in args.shape.split(","))
    if args.cores:
        os.environ[CORES_VARIABLE] = str(args.cores)  # the stages' processes inherit it
    if args.work:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    voxels = int(np.prod(shape))
    with tempfile.TemporaryDirectory(prefix="bench-post-", dir=args.work) as tmp:
        work = Path(tmp)
        made = make_prediction(work, shape)
        print(
            f"prediction {shape} ({voxels / 1e6:.0f} Mvoxel, 2 uint8 maps): "
            f"{made['objects_drawn']} objects drawn in {made['seconds']:.1f} s"
        )
        rows = [("blockwise segmentation", run_stage("blockwise", work))]
        need = voxels * BYTES_PER_VOXEL_IN_MEMORY
        if args.skip_memory or need > 0.7 * psutil.virtual_memory().available:
            print(f"in-memory segmentation skipped (needs ~{need / 2**30:.1f} GiB)")
        else:
            rows.append(("in-memory segmentation", run_stage("memory", work)))
        if not args.skip_mesh:
            rows.append(("meshing (blockwise)", run_stage("mesh", work)))
        for name, r in rows:
            extra = ", ".join(
                f"{k} {v}"
                for k, v in r.items()
                if k not in ("wall_s", "peak_rss_mib", "tree_peak_rss_mib", "tree_peak_pss_mib")
            )
            pss = r.get("tree_peak_pss_mib")
            print(
                f"{name:24s} {r['wall_s']:8.1f} s  {voxels / r['wall_s'] / 1e6:7.2f} Mvoxel/s"
                f"  peak RSS {r['peak_rss_mib'] / 1024:6.2f} GiB, with its workers "
                f"{r['tree_peak_rss_mib'] / 1024:6.2f} GiB"
                + (f" (PSS {pss / 1024:.2f} GiB)" if pss else "")
                + f"  ({extra})"
            )
    error = sphere_volume_error()
    print(f"sphere mesh volume error: {error * 100:+.3f} % (R 400 nm, voxel 40 x 10 x 10 nm)")
    ap, count = phantom_ap75()
    print(f"demo phantom 32 x 256 x 256, maps from ground truth: AP-75 {ap:.3f} ({count} objects)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
