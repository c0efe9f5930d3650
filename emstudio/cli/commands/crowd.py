"""`emstudio crowd import` (a Zooniverse export into a label set), `emstudio crowd report` (its
volunteers' reliability and each slice's agreement) and `emstudio crowd simulate` (an export
traced by simulated volunteers, to try the crowd path without real data)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emstudio.cli.commands._common import ArgumentValueError, run_with_progress
from emstudio.core.crowd.consensus import METHODS, SIDES
from emstudio.core.crowd.mapping import AXES, DEFAULT_FILE_KEY, DEFAULT_FILE_PATTERN, SubjectMapping
from emstudio.core.destinations import check_new_file
from emstudio.core.project import Project
from emstudio.core.text import counted
from emstudio.jobs.spec import JobSpec

# options that read an export; stored tracings are already mapped to slices
EXPORT_OPTIONS = (
    "subjects", "workflow", "workflow_version", "slice_key", "slice_offset", "file_key",
    "file_pattern", "axis", "scale", "x0", "y0", "volume",
)  # fmt: skip


def register(commands: argparse._SubParsersAction) -> None:
    crowd = commands.add_parser("crowd", help="crowdsourced labels (Zooniverse)")
    sub = crowd.add_subparsers(dest="crowd_command", metavar="ACTION", required=True)
    _register_import(sub)
    _register_report(sub)
    _register_simulate(sub)


def _register_import(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser(
        "import",
        help="volunteers' tracings from a Zooniverse classification export -> a label set",
        description="Reads the export, maps each subject to a slice of the image, joins and "
        "fills every volunteer's strokes, and saves their consensus as a label set. Bad rows "
        "are counted per kind and reported; the rest imports.",
    )
    imp.add_argument("project", metavar="PROJECT")
    source = imp.add_mutually_exclusive_group(required=True)
    source.add_argument("--classifications", metavar="EXPORT.csv", help="classification export")
    source.add_argument(
        "--from-labels",
        metavar="LABELSET",
        help="re-aggregate the tracings stored with an earlier crowd label set instead",
    )
    imp.add_argument("--subjects", metavar="SUBJECTS.csv", help="subject export (metadata)")
    imp.add_argument("--image", required=True, metavar="NAME", help="the image the slices are of")
    imp.add_argument("--name", required=True, metavar="LABELSET", help="the new label set")
    imp.add_argument("--workflow", metavar="ID", help="only this workflow (default: all)")
    imp.add_argument("--workflow-version", metavar="V", help="only this version: 13 or 13.19")
    group = imp.add_argument_group("consensus")
    group.add_argument("--method", choices=METHODS, default="mean")
    group.add_argument(
        "--min-volunteers",
        type=int,
        default=5,
        metavar="N",
        help="slices traced by fewer volunteers are skipped (default 5)",
    )
    group.add_argument(
        "--outline-nm",
        type=float,
        metavar="W",
        help="save the outline as a band W nm wide instead of the filled shape",
    )
    group.add_argument(
        "--outline-side",
        choices=SIDES,
        default="centre",
        help="the traced line is the band's centre (default) or its outer edge",
    )
    group.add_argument(
        "--class-name",
        metavar="NAME",
        help="class of the label (default nucleus, or nuclear_envelope for bands)",
    )
    group.add_argument("--expert", metavar="LABELSET", help="score volunteers against it too")
    group.add_argument(
        "--expert-class",
        metavar="NAME|VALUE",
        help="the expert's class to compare with (default: a nucleus class)",
    )
    group.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        metavar="VOLUNTEER",
        help="leave these volunteers (user names) out of the consensus",
    )
    group.add_argument(
        "--include",
        nargs="+",
        default=[],
        metavar="VOLUNTEER",
        help="with --from-labels: count these volunteers again (the volunteers the label set "
        "left out stay out unless named here)",
    )
    group.add_argument(
        "--min-reliability",
        type=float,
        metavar="DICE",
        help="leave out volunteers whose agreement with the consensus is lower",
    )
    mapping = imp.add_argument_group(
        "subject mapping",
        "default: emstudio's #slice keys, else Etch A Cell file names 'Image N' = ROI_slice.ext",
    )
    mapping.add_argument("--slice-key", metavar="KEY", help="metadata key with the slice index")
    mapping.add_argument(
        "--slice-offset",
        type=int,
        default=0,
        metavar="N",
        help="added to the slice index (-1 for 1-based numbers)",
    )
    mapping.add_argument("--file-key", default=DEFAULT_FILE_KEY, metavar="TEMPLATE")
    mapping.add_argument(
        "--file-pattern",
        default=DEFAULT_FILE_PATTERN,
        metavar="REGEX",
        help="regular expression with a (?P<slice>...) group",
    )
    mapping.add_argument("--axis", choices=AXES, default="z", help="normal of the slices")
    mapping.add_argument(
        "--scale",
        metavar="S|fit",
        help="image pixels per subject pixel, or fit (default: metadata, else 1)",
    )
    mapping.add_argument("--x0", type=float, metavar="PX", help="crop offset (image pixels)")
    mapping.add_argument("--y0", type=float, metavar="PX")
    mapping.add_argument("--volume", metavar="ROI", help="only subjects of this volume / ROI")
    imp.set_defaults(
        run=run_import, export_defaults={name: imp.get_default(name) for name in EXPORT_OPTIONS}
    )


def _register_report(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser(
        "report",
        help="a crowd label set's volunteer reliability and per-slice agreement",
        description="Prints each volunteer's agreement with the consensus (mean Dice; with the "
        "expert and STAPLE's sensitivity/specificity when known), least reliable first, and "
        "each slice's agreement between volunteers (mean pairwise Dice).",
    )
    rep.add_argument("project", metavar="PROJECT")
    rep.add_argument("labels", metavar="LABELSET", help="a label set made by crowd import")
    rep.add_argument("--csv", metavar="FILE.csv", help="also write the volunteer scores here")
    rep.set_defaults(run=run_report)


def _register_simulate(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser(
        "simulate",
        help="write a Zooniverse-style export traced by simulated volunteers from a label set",
    )
    sim.add_argument("project", metavar="PROJECT")
    sim.add_argument("--labels", required=True, metavar="NAME", help="ground-truth label set")
    sim.add_argument("--volunteers", type=int, default=10, metavar="N")
    sim.add_argument("--out", required=True, metavar="EXPORT.csv")
    sim.add_argument(
        "--class",
        dest="class_value",
        metavar="NAME|VALUE",
        help="class to trace (default: a nucleus class, else the first)",
    )
    sim.add_argument(
        "--slices",
        type=int,
        default=10,
        metavar="K",
        help="subjects from up to K slices holding the class (default 10)",
    )
    sim.add_argument("--careless", type=float, default=0.1, metavar="F")
    sim.add_argument("--adversarial", type=float, default=0.1, metavar="F")
    sim.add_argument(
        "--scale",
        type=float,
        default=1.0,
        metavar="S",
        help="image pixels per subject pixel (2: subjects downscaled 2x)",
    )
    sim.add_argument("--seed", type=int, default=0)
    sim.set_defaults(run=run_simulate)


def mapping_from_args(args: argparse.Namespace) -> SubjectMapping:
    return SubjectMapping(
        slice_key=args.slice_key or "",
        slice_offset=args.slice_offset,
        file_key=args.file_key,
        file_pattern=args.file_pattern,
        axis=args.axis,
        scale=args.scale or "",
        x0=args.x0,
        y0=args.y0,
        volume=args.volume or "",
    )


def export_options_given(args: argparse.Namespace) -> list[str]:
    """The export-only options set to something other than their default, as typed."""
    return [
        "--" + name.replace("_", "-")
        for name in EXPORT_OPTIONS
        if getattr(args, name) != args.export_defaults[name]
    ]


def still_excluded(args: argparse.Namespace) -> list[str]:
    """With --from-labels: the volunteers the label set left out, less --include, plus
    --exclude. Refuses export options and --include without --from-labels."""
    if not args.from_labels:
        if args.include:
            raise ArgumentValueError("--include counts volunteers again: add --from-labels.")
        return list(args.exclude)
    given = export_options_given(args)
    if given:
        raise ArgumentValueError(
            f"{', '.join(given)} read(s) an export, but the tracings of {args.from_labels!r} are "
            "already on their slices: leave it out with --from-labels."
        )
    with Project.open(args.project, mode="read") as project:
        record = project.catalog.volume(args.from_labels)
    before = set(record.attrs.get("crowd", {}).get("excluded", []))
    unknown = sorted(set(args.include) - before)
    if unknown:
        raise ArgumentValueError(
            f"--include: {', '.join(map(repr, unknown))} not left out of {args.from_labels!r} "
            f"(left out: {', '.join(sorted(before)) or 'nobody'})."
        )
    kept_out = sorted(before - set(args.include))
    if kept_out:
        print(f"left out as in {args.from_labels!r}: {', '.join(kept_out)} (--include counts "
              "one again)")  # fmt: skip
    return sorted(set(kept_out) | set(args.exclude))


def run_import(args: argparse.Namespace) -> int:
    exclude = still_excluded(args)
    absolute = [
        str(Path(p).absolute()) if p else None for p in (args.classifications, args.subjects)
    ]
    spec = JobSpec(
        kind="crowd_import",
        project=str(Path(args.project).absolute()),
        inputs={"classifications": absolute[0], "subjects": absolute[1],
                "tracings_from": args.from_labels},
        params={
            "image": args.image,
            "name": args.name,
            "workflow": args.workflow,
            "version": args.workflow_version,
            "mapping": mapping_from_args(args).to_json(),
            "method": args.method,
            "min_volunteers": args.min_volunteers,
            "outline_nm": args.outline_nm,
            "outline_side": args.outline_side,
            "class_name": args.class_name,
            "expert": args.expert,
            "expert_class": args.expert_class,
            "exclude": exclude,
            "min_reliability": args.min_reliability,
        },
    )  # fmt: skip
    result = run_with_progress(spec)
    out = result.outputs  # the summary itself was logged by the job, above
    print(
        f"created label set {out['labels']!r}: {counted(out['slices_labelled'], 'slice')} "
        f"labelled from {counted(out['volunteers'], 'volunteer')} ({len(out['excluded'])} "
        "excluded; "
        f"job {result.job_id[:8]})"
    )
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    spec = JobSpec(
        kind="crowd_simulate",
        project=str(Path(args.project).absolute()),
        inputs={"labels": args.labels},
        params={
            "out": str(Path(args.out).absolute()),
            "volunteers": args.volunteers,
            "class": args.class_value,
            "slices": args.slices,
            "careless": args.careless,
            "adversarial": args.adversarial,
            "scale": args.scale,
            "seed": args.seed,
        },
    )
    out = run_with_progress(spec).outputs
    print(
        f"wrote {out['classifications']} classifications of {out['subjects']} subjects "
        f"(class {out['class']}, volume {out['volume']!r}) to {out['out']}"
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    # imported here: the scores load scipy, which other commands do without
    from emstudio.core.crowd.scores import (
        counted_volunteers,
        slice_rows,
        volunteer_note,
        volunteer_rows,
        write_scores_csv,
    )
    from emstudio.core.crowd.sidecar import label_set_tracings

    with Project.open(args.project, mode="read") as project:
        record, data = label_set_tracings(project, args.labels)
        csv_path = check_new_file(args.csv, project.path) if args.csv else None
    crowd = record.attrs["crowd"]
    print(
        f"{record.name!r}: {crowd.get('method')} consensus of {counted_volunteers(data)}, "
        f"{crowd.get('slices_labelled', 0)} slices labelled, {crowd.get('slices_skipped', 0)} "
        f"skipped (fewer than {crowd.get('min_volunteers')} volunteers)"
    )
    rows = volunteer_rows(data)
    width = max([9, *(len(r["volunteer"]) for r in rows)])
    print(f"\n{'volunteer':<{width}} {'slices':>6} {'agreement':>9} {'expert':>7} {'sens.':>6} "
          f"{'spec.':>6}")  # fmt: skip
    for row in rows:
        note = volunteer_note(data.scores[row["volunteer"]], crowd.get("min_reliability"))
        note = f"  {note}" if note else ""
        print(f"{row['volunteer']:<{width}} {row['slices']:>6} {_cell(row['reliability'], 9)} "
              f"{_cell(row['expert'], 7)} {_cell(row['sensitivity'], 6)} "
              f"{_cell(row['specificity'], 6)}{note}")  # fmt: skip
    print(f"\n{'slice':<10} {'volunteers':>10} {'agreement':>9}")
    for row in slice_rows(data):
        note = "" if row["labelled"] else "  skipped: too few volunteers"
        where = f"{row['axis']} = {row['index']}"
        print(f"{where:<10} {row['volunteers']:>10} {_cell(row['agreement'], 9)}{note}")
    if csv_path is not None:
        write_scores_csv(data, csv_path)
        print(f"\nwrote the volunteer scores to {csv_path}")
    return 0


def _cell(value: float | None, width: int) -> str:
    return f"{'-' if value is None else f'{value:.3f}':>{width}}"
