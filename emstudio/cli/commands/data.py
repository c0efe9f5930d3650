"""`emstudio import` and `emstudio export`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emstudio.cli.commands._common import ArgumentValueError, parse_triple, run_with_progress
from emstudio.cli.progress import ProgressBar
from emstudio.core.ml.labels import parse_class_names, parse_recode
from emstudio.core.project import Project
from emstudio.jobs.spec import JobSpec


def register(commands: argparse._SubParsersAction) -> None:
    imp = commands.add_parser(
        "import",
        help="import a volume (TIFF/OME-TIFF, slice folder, MRC, HDF5, Zarr) into a project",
    )
    imp.add_argument("project", metavar="PROJECT")
    imp.add_argument(
        "paths",
        metavar="FILE_OR_FOLDER",
        nargs="+",
        help="a stack file, a folder of slices, or slice files in z order; "
        "HDF5 as file.h5:/dataset",
    )
    imp.add_argument("--name", required=True, help="name of the new volume in the project")
    imp.add_argument(
        "--voxel-size", metavar="Z,Y,X", help="voxel size in nm, overriding the file's metadata"
    )
    imp.add_argument(
        "--kind",
        choices=["image", "labels", "segmentation"],
        default="image",
        help="labels: classes per voxel, to train on; segmentation: object ids (e.g. from "
        "another tool), to mesh and measure",
    )
    imp.add_argument(
        "--like",
        metavar="IMAGE",
        help="for labels (and optionally a segmentation): the image they belong to (shapes must "
        "match)",
    )
    imp.add_argument(
        "--class",
        dest="object_class",
        metavar="NAME",
        help="for a segmentation: what its objects are, e.g. mitochondria (default: its name)",
    )
    imp.add_argument(
        "--classes",
        metavar="V=NAME,...",
        help="for labels: names of the class values, e.g. 1=membrane,2=mitochondria "
        "(values not named are called 'class V')",
    )
    imp.add_argument(
        "--recode",
        metavar="OLD=NEW,...",
        help="for labels: replace values first, e.g. 0=1,255=0 for files that mark the "
        "structure with 0 (emstudio: 0 is background, 255 not labelled)",
    )
    imp.set_defaults(run=run_import)

    exp = commands.add_parser("export", help="write a volume out as .tif, .zarr or .h5")
    exp.add_argument("project", metavar="PROJECT")
    exp.add_argument("name", metavar="NAME", help="the volume to export")
    exp.add_argument("--out", required=True, metavar="FILE", help="FILE.tif, FILE.zarr or FILE.h5")
    exp.set_defaults(run=run_export)


def run_import(args: argparse.Namespace) -> int:
    for option, given in (("--classes", args.classes), ("--recode", args.recode)):
        if given and args.kind != "labels":
            raise ArgumentValueError(f"{option} is for labels: add --kind labels.")
    if args.object_class and args.kind != "segmentation":
        raise ArgumentValueError("--class names a segmentation's objects: add --kind segmentation.")
    spec = JobSpec(
        kind="import",
        project=str(Path(args.project).absolute()),
        inputs={"paths": [str(Path(p).absolute()) for p in args.paths], "like": args.like},
        params={
            "name": args.name,
            "kind": args.kind,
            "voxel_size_nm": parse_triple(args.voxel_size, "--voxel-size"),
            "classes": parse_class_names(args.classes, "--classes"),
            "recode": parse_recode(args.recode, "--recode"),
            "class": args.object_class,
        },
    )
    result = run_with_progress(spec)
    print(f"imported {result.outputs['volume']!r} (job {result.job_id[:8]})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    # imported here: the writers load zarr, tifffile and h5py, which other commands do without
    from emstudio.core.io.export import export_record

    with Project.open(args.project, mode="read") as project:
        record = project.catalog.volume(args.name)
        done = export_record(project, record, Path(args.out), ProgressBar(sys.stderr).as_progress())
    print(f"exported {args.name!r} to {done.path}" + (f"; {done.note}" if done.note else ""))
    return 0
