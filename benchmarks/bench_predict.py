"""Prediction figures (issue: Deep learning). Prints a table; run with
``python benchmarks/bench_predict.py [--shape Z,Y,X] [--voxel Z,Y,X] [--size default]
[--device auto]``.

1. Builds a project with a phantom image of --shape and --voxel nm (default 40 x 10 x 10: XZ
   and YZ planes are upsampled 4x in z; 10,10,10 is isotropic FIB-SEM) from a rendered phantom
   block tiled to size, so large shapes are quick to make, and a --size model with random
   weights made for that voxel size, or with --model a trained model file (.emmodel). The
   model's speed does not depend on what it learnt, but writing its maps does: a random
   model's maps barely compress (0.9x), a trained model's mostly 0 or 255 maps 4-7x (the demo
   phantom's), so a random model's job writes several times the bytes.
2. Optimised: the real ``predict`` job (tri-axis, mean; tiles with blended overlap, batches,
   bf16 autocast + channels_last on CUDA, reads and writes overlapped with compute; on CUDA
   the fused column pass unless --no-columns) in a child
   process: voxels/s per axis and in total (including the combine-and-write pass), the child's
   peak RSS and peak GPU memory.
3. Baseline, measured in the same run, also in a child process: the straightforward way (one
   slice at a time through the whole-plane model, fp32, no tiles or overlap, no batching, no
   overlap of I/O and compute) on --baseline-planes planes per axis, extrapolated to the volume.
4. On CUDA: the tri-axis time for 8192 x 8192 x 517 extrapolated from the measured run (target:
   under 5 minutes). On a CPU-only machine the GPU figures are printed as "unmeasured".

Memory is bounded by design: a block holds a few planes with their neighbours (``--memory``
MiB of working tensors) and the final pass one z slab per output; neither grows with the
number of planes.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from _common import add_cyclic_image, peak_rss_mib, run_json_child

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project, provenance
from emstudio.core.synth import PhantomSpec, render_slab
from emstudio.core.volume.store import Volume

DEFAULT_VOXEL = "40,10,10"  # nm, z, y, x: serial-section-like, XZ/YZ upsampled 4x in z
BLOCK = (32, 512, 512)  # rendered phantom block, tiled to fill larger volumes
TARGET_SHAPE = (517, 8192, 8192)
TARGET_SECONDS = 300.0
AXES = ("xy", "xz", "yz")


def build_project(
    root: Path, shape: tuple[int, int, int], size: str, voxel_nm, model_file: Path | None
) -> Path:
    """A project with image "em" of ``shape`` and ``voxel_nm`` and a model "bench": the one in
    ``model_file``, or a random one of ``size`` made for that voxel size (its input slices one
    voxel apart in z)."""
    import torch

    from emstudio.core.ml import presets
    from emstudio.core.ml.card import build_card
    from emstudio.core.ml.modelfile import write_model_folder
    from emstudio.core.ml.registry import add_model, import_model
    from emstudio.core.ml.unet import UNet2p5D, UNetConfig

    path = root / "bench.emproj"
    block_shape = tuple(min(b, s) for b, s in zip(BLOCK, shape, strict=True))
    block = render_slab(PhantomSpec.create(block_shape, seed=0), 0, block_shape[0], 4).image
    voxel = VoxelSize(*voxel_nm, known=True, origin="phantom")
    with Project.create(path) as project:
        reps = [-(-s // b) for s, b in zip(shape[1:], block.shape[1:], strict=True)]
        plane_tile = np.tile(block, (1, *reps))[:, : shape[1], : shape[2]]
        add_cyclic_image(project, plane_tile, shape[0], voxel, "benchmark phantom")
        if model_file is not None:
            import_model(project, model_file, "bench")
            return path
        preset = presets.SIZES[size]
        torch.manual_seed(0)
        config = UNetConfig(5, 3, preset.depth, preset.base_channels, stem=preset.stem)
        model = UNet2p5D(config)
        card = build_card(
            name="bench",
            size=size,
            architecture=config.to_json(),
            inputs={
                "slices": 5,
                "pixel_size_nm": min(voxel_nm[1:]),
                "slice_step_nm": voxel_nm[0],
                "normalisation": {"mode": "volume"},
                "voxel_size_nm": list(voxel_nm),
                "voxel_known": True,
            },
            classes=["membrane", "nuclear_envelope", "mitochondria"],
            boundary=None,
            loss="bce_dice",
            training={},
            validation={},
            parent=None,
            created_at="benchmark",
            emstudio_version="benchmark",
        )
        prov = provenance.record("benchmark", job_id=None, params={}, inputs=[])
        add_model(project, "bench", lambda folder: write_model_folder(folder, model, card), prov)
    return path


def gpu_peak_mib(device) -> float | None:
    import torch

    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


class LogLines(logging.Handler):
    """The messages of the log records it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage().strip())


def phase_optimised(project: Path, args: argparse.Namespace) -> dict:
    import torch
    from torch._dynamo.utils import counters

    # why torch compiled more than one graph, if it did: its recompile and graph-break notes
    compile_notes = LogLines()
    torch._logging.set_logs(recompiles=True, graph_breaks=True)
    logging.getLogger("torch._dynamo").addHandler(compile_notes)

    from emstudio.jobs.runner import run_job
    from emstudio.jobs.spec import JobSpec

    params = {
        "out": f"p{uuid.uuid4().hex[:6]}",
        "axes": list(AXES),
        "combine": "mean",
        "compile": args.compile,
        "columns": args.columns,
        "memory_mb": args.memory,
        "tile": args.tile,
    }
    spec = JobSpec(
        kind="predict",
        project=str(project),
        inputs={"image": "em", "model": "bench"},
        params=params,
        device=args.device,
    )
    start = time.perf_counter()
    result = run_job(spec)
    wall = time.perf_counter() - start
    with Project.open(project, mode="read") as opened:
        device_text = opened.catalog.job(spec.id).device
        stores = [opened.resolve(opened.catalog.volume(n).path) for n in result.outputs["volumes"]]
    device = torch.device("cuda" if device_text.startswith("cuda") else "cpu")
    return {
        "maps": len(stores),
        "stored_bytes": sum(f.stat().st_size for s in stores for f in s.rglob("*") if f.is_file()),
        "seconds": result.outputs["seconds"],
        "busy": result.outputs["busy_seconds"],
        "columns": result.outputs["columns"],
        "column_seconds": result.outputs["column_seconds"],
        "column_parts": result.outputs["column_parts"],
        "writer_parts": result.outputs["writer_parts"],
        "wall": wall,
        "device": device_text,
        "rss_mib": peak_rss_mib(),
        "gpu_mib": gpu_peak_mib(device),
        "graphs_compiled": counters["stats"]["unique_graphs"],
        "compile_notes": compile_notes.lines[:10],
    }


def phase_baseline(project: Path, args: argparse.Namespace) -> dict:
    """One plane at a time, whole plane through the model, fp32, synchronous I/O."""
    import torch

    from emstudio.core.ml.device import describe, select_device
    from emstudio.core.ml.geometry import View, read_box
    from emstudio.core.ml.losses import probabilities
    from emstudio.core.ml.normalise import volume_stats
    from emstudio.core.ml.planes import lerp_dim
    from emstudio.core.ml.registry import open_model
    from emstudio.core.ml.unet import UNetConfig

    with Project.open(project, mode="read") as opened:
        model, card, _ = open_model(opened, "bench")
        image = Volume(opened.resolve(opened.catalog.volume("em").path)).arrays[0]
    device = select_device(args.device)
    model = model.to(device).eval()
    mean, std = volume_stats(image)
    multiple = UNetConfig.from_json(card["architecture"]).multiple
    out: dict[str, float] = {}
    for axis in AXES:
        inputs = card["input"]
        view = View(
            axis,
            tuple(image.shape),
            tuple(inputs["voxel_size_nm"]),
            inputs["pixel_size_nm"],
            inputs["slice_step_nm"],
            5,
        )
        nu, nv = view.native_plane
        mu, mv = view.model_plane
        planes = np.unique(np.linspace(0, view.planes - 1, args.baseline_planes).astype(int))
        start = time.perf_counter()
        for p in planes:
            lo, hi = view.native_span(int(p), int(p) + 1)
            native = read_box(image, axis, (lo, hi), (0, nu), (0, nv))
            x = (torch.from_numpy(native).to(device).float() - mean) / std
            x = lerp_dim(lerp_dim(x, 1, view.to_model(0, 0, mu)), 2, view.to_model(1, 0, mv))
            x = lerp_dim(x, 0, np.clip(p + view.offsets, 0, view.planes - 1) - lo).unsqueeze(0)
            pu, pv = (-mu) % multiple, (-mv) % multiple
            x = torch.nn.functional.pad(x, (0, pv, 0, pu), mode="replicate")
            with torch.inference_mode():
                prob = probabilities(model(x), 3, "bce_dice")[:, :, :mu, :mv]
            prob = lerp_dim(lerp_dim(prob, 2, view.to_native(0)), 3, view.to_native(1))
            (prob * 255).round().to(torch.uint8).cpu().numpy()
        seconds = time.perf_counter() - start
        out[axis] = seconds * view.planes / len(planes)  # extrapolated to every plane
    return {
        "seconds": out,
        "device": describe(device),
        "rss_mib": peak_rss_mib(),
        "gpu_mib": gpu_peak_mib(device),
    }


def run_phase(phase: str, project: Path, argv: list[str]) -> dict:
    return run_json_child(__file__, ["--phase", phase, "--project", str(project), *argv])


def parse_triple(text: str, kind: type) -> tuple:
    return tuple(kind(v) for v in text.split(","))


def extrapolate_by_columns(shape, optimised: dict) -> tuple[float, int, float, float] | None:
    """(seconds, columns, seconds per column, seconds besides the steady columns) for the target
    volume, from a fused-pass job of the target's depth: its columns have the size of the
    target's, and the first one pays once for the set-up (CUDA, cuDNN tuning, compiling), as
    the target's first would."""
    from emstudio.core.ml.columns import chunk_runs

    columns, seconds = optimised.get("columns") or [], optimised.get("column_seconds") or []
    if len(seconds) < 2 or shape[0] != TARGET_SHAPE[0]:
        return None
    widest = max(max(y1 - y0, x1 - x0) for y0, y1, x0, x1 in columns)
    chunk = 128  # the stores' chunk side (volume.store.DEFAULT_CHUNKS)
    count = len(chunk_runs(TARGET_SHAPE[1], chunk, widest // chunk)) * len(
        chunk_runs(TARGET_SHAPE[2], chunk, widest // chunk)
    )
    steady = float(np.median(seconds[1:]))
    once = optimised["wall"] - sum(seconds[1:])  # outside the columns, and the first one
    return once + (count - 1) * steady, count, steady, once


def steady_medians(parts: list[dict[str, float]]) -> str:
    """Each part's median seconds over all but the first of ``parts``, as text."""
    return ", ".join(f"{part} {np.median([p[part] for p in parts[1:]]):.2f} s" for part in parts[1])


def report(shape, size: str, optimised: dict, baseline: dict | None, args) -> None:
    voxels = int(np.prod(shape))
    model = f"trained model {args.model}" if args.model else f"model {size!r}, random weights"
    print(
        f"Prediction benchmark: {shape[0]} x {shape[1]} x {shape[2]} uint8 "
        f"({voxels / 1e6:.0f} Mvoxels), voxel {args.voxel.replace(',', ' x ')} nm, "
        f"{model}, {optimised['maps']} outputs"
    )
    print(f"device: {optimised['device']}")
    print(f"{'':<24}{'optimised':>14}{'baseline':>14}{'speed-up':>10}")
    base = baseline["seconds"] if baseline else {}
    rows = [(f"{a.upper()} voxels/s", optimised["seconds"][a], base.get(a)) for a in AXES]
    o_total = optimised["wall"]
    b_total = sum(base.values()) if base else None
    for label, o, b in [*rows, ("tri-axis total voxels/s", o_total, b_total)]:
        b_text = f"{voxels / b / 1e6:>11.2f} M{b / o:>9.1f}x" if b else f"{'n/a':>13}"
        print(f"{label:<24}{voxels / o / 1e6:>11.2f} M{b_text}")
    print(f"{'tri-axis seconds':<24}{o_total:>12.1f} s" + (f"{b_total:>12.1f} s" if b else ""))
    for label, key in (("peak RSS", "rss_mib"), ("peak GPU memory", "gpu_mib")):
        cells = [
            f"{r[key]:>10.0f} MiB" if r and r[key] is not None else f"{'n/a':>14}"
            for r in (optimised, baseline)
        ]
        print(f"{label:<24}{cells[0]}{cells[1]}")
    measured = (
        f"extrapolated from {args.baseline_planes} planes per axis" if baseline else "not run"
    )
    print(
        f"(optimised: the whole job, reading, combining and writing the volumes included "
        f"({o_total - sum(optimised['seconds'].values()):.1f} s beyond the axes' own time); "
        f"baseline: prediction only, {measured})"
    )
    stored, raw = optimised["stored_bytes"], optimised["maps"] * voxels
    print(
        f"maps on disk: {stored / 2**20:.0f} MiB with their pyramids, for {raw / 2**20:.0f} MiB "
        f"of full-resolution voxels ({raw / stored:.1f}x, LZ4)"
    )
    if optimised.get("graphs_compiled"):
        print(f"torch.compile: {optimised['graphs_compiled']} graph(s) compiled (one is the aim)")
        for note in optimised.get("compile_notes") or []:
            print("  " + " / ".join(line.strip() for line in note.splitlines())[:400])
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in optimised["busy"].items())
    print(f"optimised, seconds each pipeline stage was busy: {stages}")
    parts = optimised.get("column_parts") or []
    if len(parts) > 1:  # the first column compiles and tunes
        print(
            "a steady column's turn (median after the first; writer: waiting for it): "
            + steady_medians(parts)
        )
    writes = optimised.get("writer_parts") or []
    if len(writes) > 1:
        print(
            "a steady column's write (median after the first; copy: into the writer process's "
            "memory, chunks: coding and writing them, durable: waiting for the column before "
            "to reach the disk): " + steady_medians(writes)
        )
    if optimised["device"].startswith("cuda"):
        scale = np.prod(TARGET_SHAPE) / voxels
        estimate = o_total * scale
        verdict = "meets" if estimate < TARGET_SECONDS else "misses"
        print(
            f"8192 x 8192 x 517 tri-axis, extrapolated by voxels: {estimate:.0f} s ({verdict} "
            f"the {TARGET_SECONDS:.0f} s target)"
        )
        by_columns = extrapolate_by_columns(shape, optimised)
        if by_columns:
            estimate, count, steady, fixed = by_columns
            verdict = "meets" if estimate < TARGET_SECONDS else "misses"
            print(
                f"8192 x 8192 x 517 tri-axis, extrapolated by columns: {estimate:.0f} s "
                f"({verdict} the target): {count} columns like these, the first as long as "
                f"this job's first with everything outside the columns ({fixed:.1f} s: start, "
                f"set-up, compiling, registering), the others {steady:.2f} s each (the median "
                "after the first)"
            )
    else:
        print(
            "GPU figures: unmeasured (no CUDA device in this run); the 8192 x 8192 x 517 "
            "target needs a run on a GPU with --shape 517,2048,2048."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="32,256,256", help="Z,Y,X (GPU: 517,2048,2048)")
    parser.add_argument("--size", default="default", choices=["small", "default", "large"])
    parser.add_argument(
        "--model",
        type=Path,
        help="a trained model file (.emmodel) instead of a random --size model: its maps "
        "compress as real maps do (benchmarks/gpu_figures.sh model makes one)",
    )
    parser.add_argument("--voxel", default=DEFAULT_VOXEL, help="Z,Y,X nm (FIB-SEM: 10,10,10)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tile", type=int, default=None)
    parser.add_argument("--memory", type=int, default=None, help="MiB per block")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument(
        "--columns",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the fused column pass, or (--no-columns) the pass through the per-axis scratch "
        "(default: as the job decides: columns on a GPU)",
    )
    parser.add_argument(
        "--baseline-planes",
        type=int,
        default=8,
        help="planes per axis the baseline predicts (0: no baseline, to save a GPU's time)",
    )
    parser.add_argument("--workdir", help="where to build the project (default: a temp folder)")
    parser.add_argument("--phase", choices=["optimised", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run = phase_optimised if args.phase == "optimised" else phase_baseline
        print(json.dumps(run(Path(args.project), args)))
        return
    shape = parse_triple(args.shape, int)
    passthrough = [
        "--device",
        args.device,
        "--baseline-planes",
        str(args.baseline_planes),
        "--size",
        args.size,
    ]
    for flag, value in (("--tile", args.tile), ("--memory", args.memory)):
        if value:
            passthrough += [flag, str(value)]
    if args.compile:
        passthrough.append("--compile")
    if args.columns is not None:
        passthrough.append("--columns" if args.columns else "--no-columns")
    with tempfile.TemporaryDirectory(prefix="bench-predict-", dir=args.workdir) as tmp:
        start = time.perf_counter()
        voxel = parse_triple(args.voxel, float)
        project = build_project(Path(tmp), shape, args.size, voxel, args.model)
        print(f"project built in {time.perf_counter() - start:.0f} s", flush=True)
        optimised = run_phase("optimised", project, passthrough)
        print(f"optimised: {json.dumps(optimised)}", flush=True)
        baseline = None
        if args.baseline_planes > 0:
            baseline = run_phase("baseline", project, passthrough)
            print(f"baseline: {json.dumps(baseline)}", flush=True)
    report(shape, args.size, optimised, baseline, args)


if __name__ == "__main__":
    main()
