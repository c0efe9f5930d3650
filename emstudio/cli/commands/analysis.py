"""`emstudio segment`, `mesh`, `measure` (jobs) and `evaluate` (read-only, prints metrics)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emstudio.cli.commands._common import (
    ArgumentValueError,
    parse_triple,
    run_with_progress,
)
from emstudio.core.measure.params import DEFAULT_MAX_DISTANCE_NM
from emstudio.core.mesh.formats import FORMATS
from emstudio.core.metrics import KINDS
from emstudio.core.project import Project
from emstudio.core.seg.params import DEFAULT_PRESET, FLOODS, MODES, PRESETS
from emstudio.core.text import counted
from emstudio.jobs.spec import JobSpec


def register(commands: argparse._SubParsersAction) -> None:
    _register_segment(commands)
    _register_mesh(commands)
    _register_measure(commands)
    _register_evaluate(commands)


def _register_segment(commands: argparse._SubParsersAction) -> None:
    presets = "; ".join(f"{p.name}: {p.source}" for p in PRESETS.values())
    seg = commands.add_parser(
        "segment",
        help="instances from a prediction set (area + boundary maps): seeds, watershed, filter",
        epilog=f"Presets -- {presets}",
    )
    seg.add_argument("project", metavar="PROJECT")
    seg.add_argument("--prediction", required=True, metavar="SET", help="the prediction set")
    seg.add_argument("--out", required=True, metavar="NAME", help="name of the new segmentation")
    seg.add_argument(
        "--class",
        dest="class_name",
        metavar="CLASS",
        help="class of the area map (default: mitochondria, or the only class)",
    )
    seg.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=DEFAULT_PRESET,
        help=f"starting parameters; the options below change them (default {DEFAULT_PRESET})",
    )
    seg.add_argument("--area-threshold", type=float, metavar="A", help="seeds: area > A (0..1)")
    seg.add_argument(
        "--boundary-threshold", type=float, metavar="B", help="seeds: boundary < B (0..1)"
    )
    seg.add_argument(
        "--foreground-threshold",
        type=float,
        metavar="F",
        help="objects grow only where area > F (0..1)",
    )
    size = seg.add_mutually_exclusive_group()
    size.add_argument("--min-size", type=int, metavar="N", help="remove objects under N voxels")
    size.add_argument(
        "--min-volume", type=float, metavar="NM3", help="remove objects under this volume (nm^3)"
    )
    seg.add_argument(
        "--flood", choices=FLOODS, help="flood the boundary map (default) or the distance transform"
    )
    seg.add_argument("--fill-holes", action="store_true", help="fill enclosed holes in objects")
    seg.add_argument(
        "--mode",
        choices=MODES,
        default="auto",
        help="watershed, or connected components for semantic-only classes "
        "(auto: watershed when the set has a boundary map)",
    )
    seg.add_argument("--block", metavar="Z,Y,X", help="block size in voxels (memory bound)")
    seg.set_defaults(run=run_segment)


def _register_mesh(commands: argparse._SubParsersAction) -> None:
    mesh = commands.add_parser("mesh", help="surface meshes (nm) of a segmentation's objects")
    mesh.add_argument("project", metavar="PROJECT")
    mesh.add_argument(
        "--segmentation", required=True, metavar="NAME", help="the segmentation to mesh"
    )
    mesh.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="new or empty folder outside the project for the exported files",
    )
    mesh.add_argument("--format", choices=FORMATS, default="ply", help="file format (default: ply)")
    mesh.add_argument(
        "--smooth",
        type=int,
        default=10,
        metavar="ITER",
        help="Taubin smoothing iterations (keeps the volume; default 10)",
    )
    mesh.add_argument(
        "--decimate",
        type=float,
        default=1.0,
        metavar="FRACTION",
        help="fraction of faces kept (default 1: no decimation); an object that decimating would "
        "open keeps all its faces, as most do with --smooth 0",
    )
    mesh.add_argument(
        "--sections",
        action="store_true",
        help="on sections at least 1.5x as thick as the pixels (serial sections, SBF-SEM), "
        "interpolate each outline from one section to the next instead of stepping out flat, as "
        "measure does for areas: spheres' areas within 3 %% instead of 15-19 %% too large; "
        "meshing takes a few times as long",
    )
    mesh.add_argument("--ids", type=int, nargs="+", metavar="ID", help="only these objects")
    mesh.add_argument(
        "--combined", action="store_true", help="one scene file (glb or ply) keeping object ids"
    )
    mesh.add_argument("--name", help="name of the mesh set in the project")
    mesh.set_defaults(run=run_mesh)


def _register_measure(commands: argparse._SubParsersAction) -> None:
    measure = commands.add_parser("measure", help="per-object measurements into a CSV file")
    measure.add_argument("project", metavar="PROJECT")
    measure.add_argument(
        "--segmentation", required=True, metavar="NAME", help="the segmentation to measure"
    )
    measure.add_argument(
        "--image",
        metavar="NAME",
        help="intensity image (default: the image the segmentation belongs to)",
    )
    measure.add_argument(
        "--other",
        metavar="SEG",
        help="the gap to the nearest object of this segmentation (of a label set: to each of "
        "its classes)",
    )
    measure.add_argument(
        "--max-distance",
        type=float,
        metavar="NM",
        help=f"search radius for --other (nm; default {DEFAULT_MAX_DISTANCE_NM:g})",
    )
    measure.add_argument("--out", required=True, metavar="FILE.csv")
    measure.set_defaults(run=run_measure)


def _register_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="compare a segmentation with the truth: Dice/IoU/Hausdorff or AP/VOI/Rand",
        description="A and B are volume names (with --project), PROJECT.emproj:NAME, or files "
        "(TIFF, Zarr, HDF5 file.h5:/dataset, MRC, slice folders).",
    )
    ev.add_argument("--pred", required=True, metavar="A")
    ev.add_argument("--truth", required=True, metavar="B")
    ev.add_argument(
        "--kind",
        choices=KINDS,
        help="default: semantic where a side is a probability map or a label set of named "
        "classes, else instance",
    )
    ev.add_argument("--project", metavar="PROJECT", help="resolve A and B in this project")
    ev.add_argument(
        "--slices",
        metavar="z:LIST",
        help="score these z slices only, e.g. z:15-19 (the slices a model was not trained on)",
    )
    ev.add_argument(
        "--threshold",
        type=float,
        metavar="P",
        help="read A as a probability map (e.g. an exported one: uint8 = probability x 255), "
        "foreground from probability P; project predictions use 0.5 unless told",
    )
    ev.add_argument(
        "--class",
        dest="class_name",
        metavar="NAME",
        help="the class A is a probability map of (an exported map names none), to score it "
        "against that class of a label set B",
    )
    ev.add_argument("--json", action="store_true", help="machine-readable output")
    ev.set_defaults(run=run_evaluate)


def _z_slices(text: str | None) -> list[int]:
    """``--slices z:15-19`` -> [15, ..., 19] (sorted, once each); [] when not given."""
    if not text:
        return []
    from emstudio.core.ml.errors import LabelsError
    from emstudio.core.ml.labels import parse_slices

    try:
        chosen = parse_slices(text)
    except LabelsError as exc:
        raise ArgumentValueError(f"--{exc}") from None
    if set(chosen) != {"z"}:
        raise ArgumentValueError(f"--slices {text!r}: evaluate takes z slices only, e.g. z:15-19.")
    return sorted(set(chosen["z"]))


def _absolute(project: str) -> str:
    return str(Path(project).absolute())


def run_segment(args: argparse.Namespace) -> int:
    block = parse_triple(args.block, "--block", int)
    params = {
        "out": args.out,
        "preset": args.preset,
        "mode": args.mode,
        "block": block,
        "area_threshold": args.area_threshold,
        "boundary_threshold": args.boundary_threshold,
        "foreground_threshold": args.foreground_threshold,
        "min_size": args.min_size,
        "min_volume_nm3": args.min_volume,
        "flood": args.flood,
        "fill_holes": True if args.fill_holes else None,
    }
    spec = JobSpec(
        kind="segment",
        project=_absolute(args.project),
        inputs={"prediction": args.prediction, "class": args.class_name},
        params={k: v for k, v in params.items() if v is not None},
    )
    result = run_with_progress(spec)
    out = result.outputs
    how = {
        "watershed": "a watershed of the area map, seeded away from the boundary map",
        "components": "connected parts of the area map (there is no boundary map)",
    }.get(out.get("method"), out.get("method"))
    smallest = counted(out["min_voxels"], "voxel")
    filtered = (
        f"{counted(out['left_out'], 'piece')} under {smallest} left out"
        if out["left_out"]
        else f"no piece was under {smallest}"
    )
    print(
        f"segmented {counted(out['objects'], 'object')} of {out.get('class')} into "
        f"{out['volume']!r} by {how}; {filtered} (job {result.job_id[:8]})"
    )
    return 0


def run_mesh(args: argparse.Namespace) -> int:
    spec = JobSpec(
        kind="mesh",
        project=_absolute(args.project),
        inputs={"segmentation": args.segmentation},
        params={
            "format": args.format,
            "smooth": args.smooth,
            "decimate": args.decimate,
            "sections": args.sections,
            "ids": args.ids,
            "combined": args.combined,
            "out": _absolute(args.out),
            "name": args.name,
        },
    )
    result = run_with_progress(spec)
    out = result.outputs
    print(
        f"meshed {counted(out['count'], 'object')} into mesh set {out['mesh_set']!r}, "
        f"exported to {out['out']}"
    )
    return 0


def run_measure(args: argparse.Namespace) -> int:
    if args.max_distance is not None and args.other is None:
        print(
            "warning: --max-distance is the search radius for --other: unused without it",
            file=sys.stderr,
        )
    radius = DEFAULT_MAX_DISTANCE_NM if args.max_distance is None else args.max_distance
    spec = JobSpec(
        kind="measure",
        project=_absolute(args.project),
        inputs={"segmentation": args.segmentation, "image": args.image, "other": args.other},
        params={"out": _absolute(args.out), "max_distance_nm": radius},
    )
    result = run_with_progress(spec)
    out = result.outputs
    print(f"measured {counted(out['objects'], 'object')}: {out['csv']} (summary: {out['summary']})")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    # imported here: the metrics load scipy and zarr, which other commands do without
    from emstudio.core.metrics.evaluate import describe, evaluate, only_planes, open_input

    planes = _z_slices(args.slices)
    project = Project.open(args.project, mode="read") if args.project else None
    try:
        with open_input(args.pred, project) as pred, open_input(args.truth, project) as truth:
            if planes:
                for side in (pred, truth):
                    only_planes(side, planes)
            if args.threshold is not None:
                pred.read_as_probability(args.threshold)
            if args.class_name:
                pred.name_class(args.class_name)
            report = evaluate(pred, truth, args.kind)
            if planes:
                report["slices"] = args.slices.strip().removeprefix("z:")
    except ValueError as exc:
        raise ArgumentValueError(str(exc)) from None
    finally:
        if project is not None:
            project.close()
    print(json.dumps(report, indent=1) if args.json else describe(report))
    return 0
