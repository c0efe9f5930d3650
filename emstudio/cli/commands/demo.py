"""`emstudio demo` (the demo project) and `emstudio run-demo` (what `make run` does)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from emstudio.cli.commands._common import has_display, parse_triple, run_with_progress
from emstudio.core.errors import DestinationError
from emstudio.core.project import Project
from emstudio.core.project.atomic import TMP_PREFIX, remove_tree
from emstudio.jobs.spec import JobSpec


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo", help="create a demo project: a synthetic EM volume with its ground truth"
    )
    demo.add_argument("project", metavar="PROJECT", help="project folder to create")
    demo.add_argument("--shape", metavar="Z,Y,X", help="volume size (default 32,256,256)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (same seed, same volume)")
    demo.set_defaults(run=run_demo)

    run = commands.add_parser(
        "run-demo",
        help="open the app on the demo project (with no display: run the headless demo pipeline)",
    )
    run.add_argument("project", metavar="PROJECT", nargs="?", default="demo.emproj")
    run.set_defaults(run=run_run_demo)


def create_demo(path: Path, shape: list[int] | None, seed: int) -> Path:
    """Build the demo project under a temporary name; rename it into place when complete."""
    path = Path(path).absolute()
    if path.exists():
        raise DestinationError(f"{path}: already exists; choose another folder.")
    staging = path.with_name(f"{TMP_PREFIX}{path.name}")
    remove_tree(staging)
    try:
        Project.create(staging, name=path.name.removesuffix(".emproj")).close()
        spec = JobSpec(
            kind="demo", project=str(staging), params={"shape": shape or [], "seed": seed}
        )
        run_with_progress(spec)
        os.replace(staging, path)
    finally:
        remove_tree(staging)
    return path


def run_demo(args: argparse.Namespace) -> int:
    shape = parse_triple(args.shape, "--shape", int)
    path = create_demo(Path(args.project), shape, args.seed)
    print(f"created demo project at {path}")
    return 0


def run_run_demo(args: argparse.Namespace) -> int:
    path = Path(args.project).absolute()
    if not path.exists():
        create_demo(path, None, 0)
    if has_display():
        from emstudio.cli.commands.ui import open_gui

        return open_gui(str(path))
    print("No display found: running the headless demo pipeline instead of opening the window.")
    from emstudio.cli.pipeline import run_headless_demo

    return run_headless_demo(path)
