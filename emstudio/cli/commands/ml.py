"""`emstudio train`, `emstudio predict`, `emstudio models` and `emstudio model export|import|show`.

Training and prediction run as jobs (recorded like GUI runs); torch is only imported by the job
itself, so these commands start quickly and `--help` never waits for it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from emstudio.cli.commands._common import ArgumentValueError, add_listing, run_with_progress
from emstudio.core.errors import NotFoundError
from emstudio.core.ml import presets
from emstudio.core.ml.card import MODEL_SUFFIX, output_names, project_summary
from emstudio.core.ml.geometry import parse_axes
from emstudio.core.project import Project
from emstudio.jobs.spec import JobSpec

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def register(commands: argparse._SubParsersAction) -> None:
    _register_train(commands)
    _register_predict(commands)
    add_listing(commands, "models", "list a project's models", _models, show_models)

    model = commands.add_parser("model", help="export, import or describe one model")
    sub = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    exp = sub.add_parser("export", help="write a model to a portable .emmodel file")
    exp.add_argument("project", metavar="PROJECT")
    exp.add_argument("name", metavar="MODEL")
    exp.add_argument("--out", required=True, metavar="FILE", help="FILE.emmodel")
    exp.set_defaults(run=run_export)
    imp = sub.add_parser("import", help="add a model from an .emmodel file to a project")
    imp.add_argument("project", metavar="PROJECT")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--name", help="name in this project (default: the model's own name)")
    imp.set_defaults(run=run_import)
    show = sub.add_parser("show", help="print a model's card")
    show.add_argument("project", metavar="PROJECT")
    show.add_argument("name", metavar="MODEL")
    show.add_argument("--json", action="store_true", help="the whole card as JSON")
    show.set_defaults(run=run_show)


def _register_train(commands: argparse._SubParsersAction) -> None:
    d = presets.TRAIN_DEFAULTS
    train = commands.add_parser(
        "train",
        help="train a U-Net on labelled slices",
        description="Train a 2.5D U-Net on the labelled slices of a label set. Sizes: "
        + "; ".join(f"{s.name}: {s.summary} ({s.speed_text()})" for s in presets.SIZES.values()),
    )
    train.add_argument("project", metavar="PROJECT")
    train.add_argument(
        "--image", metavar="NAME", help="the image volume (required unless --resume)"
    )
    train.add_argument("--labels", metavar="NAME", help="the label set (required unless --resume)")
    train.add_argument(
        "--out", metavar="MODEL", help="name of the new model (required unless --resume)"
    )
    train.add_argument("--classes", metavar="A,B", help="classes to learn (default: all)")
    train.add_argument("--boundary", metavar="CLASS", help="also learn this class' object edges")
    train.add_argument(
        "--instances",
        metavar="NAME",
        help="segmentation whose object edges make the boundary target",
    )
    train.add_argument(
        "--slices", metavar="SPEC", help="train only on these slices, e.g. z:0,8,16 or z:0-9;y:128"
    )
    train.add_argument("--size", choices=list(presets.SIZES), default=d["size"])
    train.add_argument("--epochs", type=int, default=d["epochs"])
    train.add_argument(
        "--iterations",
        type=int,
        default=d["iterations"],
        help="batches per epoch (default %(default)s)",
    )
    train.add_argument("--batch", type=int, default=d["batch"])
    train.add_argument("--patch", type=int, default=d["patch"], help="patch size in pixels")
    train.add_argument("--lr", type=float, default=d["lr"], help="peak learning rate")
    train.add_argument(
        "--input-slices",
        type=int,
        default=d["slices"],
        help="neighbouring slices given to the model (default %(default)s)",
    )
    train.add_argument("--loss", choices=["bce_dice", "ce_dice"], default=d["loss"])
    train.add_argument("--normalisation", choices=["volume", "patch"], default=d["normalisation"])
    train.add_argument(
        "--axes",
        default=d["axes"],
        help="views to train on: auto (all the labels allow) or e.g. xy,xz",
    )
    train.add_argument("--val-fraction", type=float, default=d["val_fraction"])
    train.add_argument(
        "--patience",
        type=int,
        default=d["patience"],
        help="stop after this many epochs without a better validation Dice (0: never)",
    )
    train.add_argument("--seed", type=int, default=d["seed"])
    train.add_argument(
        "--pixel-size",
        type=float,
        metavar="NM",
        help="model pixel size (default: the image's in-plane voxel size)",
    )
    train.add_argument(
        "--init",
        metavar="MODEL",
        help="start from this model (transfer learning): a model of the project, or an "
        ".emmodel file (added to the project first)",
    )
    train.add_argument(
        "--freeze-encoder",
        type=int,
        default=d["freeze_encoder_epochs"],
        metavar="EPOCHS",
        help="with --init: keep the encoder fixed this long",
    )
    train.add_argument("--no-augment", action="store_true", help="no data augmentation")
    train.add_argument("--elastic", action="store_true", help="add elastic deformation")
    train.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    _add_compile_resume(train, "continue a cancelled or crashed training job from its checkpoint")
    train.set_defaults(run=run_train)


def _register_predict(commands: argparse._SubParsersAction) -> None:
    d = presets.PREDICT_DEFAULTS
    predict = commands.add_parser("predict", help="predict a volume with a model (tri-axis)")
    predict.add_argument("project", metavar="PROJECT")
    predict.add_argument(
        "--image", metavar="NAME", help="the image volume to predict (required unless --resume)"
    )
    predict.add_argument(
        "--model", metavar="MODEL", help="the model to apply (required unless --resume)"
    )
    predict.add_argument(
        "--out",
        metavar="NAME",
        help="prediction set name: volumes NAME-<class> are created",
    )
    predict.add_argument(
        "--axes",
        default="auto",
        help="xy, xz and/or yz, comma-separated; auto (default): the views the model was "
        "trained on (all three, or XY alone for a model of a very anisotropic stack)",
    )
    predict.add_argument("--combine", choices=list(presets.COMBINE_RULES), default=d["combine"])
    predict.add_argument(
        "--tta",
        action="store_true",
        help="test-time augmentation: mirrored and 180-degree turned copies (4x slower)",
    )
    predict.add_argument(
        "--keep-axes", action="store_true", help="also keep each axis' map (NAME-<class>-<axis>)"
    )
    predict.add_argument("--device", choices=DEVICE_CHOICES, default=d["device"])
    predict.add_argument("--batch", type=int, help="tiles per batch (default: from free memory)")
    predict.add_argument(
        "--tile", type=int, help="largest tile in pixels (default 1280 on a GPU, else 512)"
    )
    predict.add_argument(
        "--memory",
        type=int,
        metavar="MB",
        dest="memory_mb",
        help="working memory per block (default: a fifth of the free GPU memory, 1024 to "
        "8192; 512 on a CPU)",
    )
    _add_compile_resume(
        predict,
        "reuse the finished blocks of a cancelled or crashed prediction",
        "torch.compile the model (default: on a GPU, for jobs large enough to pay back the "
        "compiling)",
        no_compile_help="never torch.compile the model",
    )
    columns = predict.add_mutually_exclusive_group()
    columns.add_argument(
        "--columns",
        dest="columns",
        action="store_true",
        help="predict all axes together, column by column, reading the image once (default on "
        "a GPU where the columns fit its memory)",
    )
    columns.add_argument(
        "--no-columns",
        dest="columns",
        action="store_false",
        help="predict axis by axis through a scratch on disk (less device memory)",
    )
    predict.set_defaults(run=run_predict, compile=None, columns=None)


def _add_compile_resume(
    parser: argparse.ArgumentParser,
    resume_help: str,
    compile_help: str = "torch.compile the model",
    no_compile_help: str | None = None,
) -> None:
    """Add --resume and --compile (with --no-compile, exclusive of it, when its help is given)."""
    compile_choice = parser.add_mutually_exclusive_group()
    compile_choice.add_argument("--compile", action="store_true", help=compile_help)
    if no_compile_help:
        compile_choice.add_argument(
            "--no-compile", dest="compile", action="store_false", help=no_compile_help
        )
    parser.add_argument("--resume", metavar="JOB_ID", help=resume_help)


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _resumed_spec(project_path: Path, job_id: str, kind: str, out: str | None) -> JobSpec:
    """The spec of job ``job_id`` to run again from where it stopped; ``out``: another name
    for what it makes (the one it was given may have been taken meanwhile)."""
    from emstudio.cli.commands.jobs import find_job

    with Project.open(project_path, mode="read") as project:
        job = find_job(project, job_id)
        resumed = [
            j
            for j in project.catalog.jobs()
            if j.spec.get("params", {}).get("resume_from") == job.id and j.status == "done"
        ]
    if job.kind != kind:
        raise ArgumentValueError(f"job {job.id[:8]} is a {job.kind} job, not {kind}.")
    finished = job if job.status == "done" else next(iter(resumed), None)
    if finished is not None:
        outputs = finished.outputs or {}
        made = outputs.get("volumes") or [outputs.get("model") or finished.spec["params"]["out"]]
        how = "has finished" if finished is job else f"was resumed by job {finished.id[:8]}"
        raise ArgumentValueError(
            f"job {job.id[:8]} {how} (it made {', '.join(map(repr, made))}): there is nothing "
            "left to resume."
        )
    old = JobSpec.from_json(job.spec)
    print(
        f"resuming {kind} job {job.id[:8]} with the settings it was started with (other "
        f"options given now are not used{', but --out' if out else ''})",
        file=sys.stderr,
    )
    return JobSpec(
        kind=kind,
        project=str(project_path),
        inputs=old.inputs,
        params={**old.params, "resume_from": job.id, **({"out": out} if out else {})},
        device=old.device,
    )


def _axes(text: str) -> list[str]:
    try:
        return parse_axes(text)
    except ValueError as exc:
        raise ArgumentValueError(f"--axes: {exc}.") from None


def _require(args: argparse.Namespace, *names: str) -> None:
    """Options needed unless --resume takes them from the job being resumed."""
    missing = [f"--{n}" for n in names if not getattr(args, n)]
    if missing:
        raise ArgumentValueError(f"give {', '.join(missing)} (or --resume JOB_ID).")


def _job_spec(
    args: argparse.Namespace,
    kind: str,
    required: tuple[str, ...],
    request: Callable[[argparse.Namespace], tuple[dict, dict]],
) -> JobSpec:
    """The job to run: the one named by --resume, else a new one from ``request(args)`` (its
    inputs and params), which needs the ``required`` options."""
    project = Path(args.project).absolute()
    if args.resume:
        return _resumed_spec(project, args.resume, kind, getattr(args, "out", None))
    _require(args, *required)
    inputs, params = request(args)
    return JobSpec(
        kind=kind, project=str(project), inputs=inputs, params=params, device=args.device
    )


def _train_request(args: argparse.Namespace) -> tuple[dict, dict]:
    inputs = {
        "image": args.image,
        "labels": args.labels,
        "init": _model_to_start_from(Path(args.project), args.init),
        "instances": args.instances,
    }
    params = {
        "out": args.out,
        "classes": _names(args.classes),
        "boundary": args.boundary,
        "slices": args.slices,
        "size": args.size,
        "epochs": args.epochs,
        "iterations": args.iterations,
        "batch": args.batch,
        "patch": args.patch,
        "lr": args.lr,
        "input_slices": args.input_slices,
        "loss": args.loss,
        "normalisation": args.normalisation,
        "axes": None if args.axes == "auto" else _axes(args.axes),
        "val_fraction": args.val_fraction,
        "patience": args.patience,
        "seed": args.seed,
        "pixel_size_nm": args.pixel_size,
        "freeze_encoder_epochs": args.freeze_encoder,
        "augment": _augment(args),
        "compile": args.compile,
    }
    return inputs, params


def run_train(args: argparse.Namespace) -> int:
    spec = _job_spec(args, "train", ("image", "labels", "out"), _train_request)
    result = run_with_progress(spec)
    out = result.outputs
    dice = ", ".join(f"{k} {v:.3f}" for k, v in out["val_dice"].items())
    print(
        f"trained model {out['model']!r} (job {result.job_id[:8]}): best epoch "
        f"{out['best_epoch']} of {out['epochs_run']}, validation Dice {dice}"
    )
    return 0


def _augment(args: argparse.Namespace) -> dict:
    if args.no_augment:
        return {"flips": False, "intensity": False, "blur": 0.0, "noise": 0.0, "elastic": False}
    return {"elastic": bool(args.elastic)}


def _predict_request(args: argparse.Namespace) -> tuple[dict, dict]:
    params = {
        "out": args.out,
        "axes": "auto" if args.axes == "auto" else _axes(args.axes),
        "combine": args.combine,
        "tta": args.tta,
        "keep_axes": args.keep_axes,
        "batch": args.batch,
        "tile": args.tile,
        "memory_mb": args.memory_mb,
        "compile": args.compile,
        "columns": args.columns,
    }
    return {"image": args.image, "model": args.model}, params


def run_predict(args: argparse.Namespace) -> int:
    spec = _job_spec(args, "predict", ("image", "model", "out"), _predict_request)
    result = run_with_progress(spec)
    volumes = result.outputs["volumes"]
    print(f"predicted {', '.join(map(repr, volumes))} (job {result.job_id[:8]})")
    return 0


def _models(project: Project) -> list[dict]:
    return [m.to_json() for m in project.catalog.models()]


def show_models(models: list[dict]) -> None:
    if not models:
        print("no models")
    for m in models:
        card = m["card"]
        dice = card.get("validation", {}).get("dice") or {}
        figures = ", ".join(f"{k} {v:.3f}" for k, v in dice.items()) or "-"
        print(
            f"{m['name']:<24} {card.get('size', '?'):<8} outputs {', '.join(output_names(card))}"
            f"  validation Dice {figures}  {m['created_at']}"
        )


def run_show(args: argparse.Namespace) -> int:
    with Project.open(args.project, mode="read") as project:
        record = project.catalog.model(args.name)
        ids = {m.id for m in project.catalog.models()}
    if args.json:
        print(json.dumps(record.card, indent=2))
        return 0
    for label, text in project_summary(record.card, record.provenance, ids):
        print(f"{label + ':':<14} {text}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from emstudio.core.ml.registry import export_model

    with Project.open(args.project, mode="read") as project:
        out = export_model(project, args.name, Path(args.out))
    print(f"exported model {args.name!r} to {out}")
    return 0


def _model_to_start_from(project_path: Path, init: str | None) -> str | None:
    """The name of the model ``--init`` names: a model of the project, or the model of a file
    (``.emmodel``), added to the project here unless it holds that model already (a taken name
    gets a number)."""
    if init is None:
        return None
    if not _names_a_file(init):
        with Project.open(project_path, mode="read") as project:
            project.catalog.model(init)  # refused here, before a job is made, if there is none
        return init
    from emstudio.core.ml.registry import import_model_once

    path = _existing(Path(init))
    with Project.open(project_path) as project:
        record, added = import_model_once(project, path.absolute())
    done = "added to the project as" if added else "is in the project already as"
    print(f"{path}: {done} model {record.name!r}", file=sys.stderr)
    return record.name


def _names_a_file(text: str) -> bool:
    """Whether ``--init TEXT`` is a file rather than a model's name: it ends in .emmodel,
    holds a folder separator, or a file of that name exists."""
    path = Path(text)
    return path.suffix.lower() == MODEL_SUFFIX or len(path.parts) > 1 or path.exists()


def _existing(path: Path) -> Path:
    """``path``, refused with a clear message where nothing is there."""
    if not path.exists():
        raise NotFoundError(f"{path}: does not exist.")
    return path


def run_import(args: argparse.Namespace) -> int:
    from emstudio.core.ml.registry import import_model

    path = _existing(Path(args.file))
    with Project.open(args.project) as project:
        record = import_model(project, path.absolute(), args.name)
    print(f"imported model {record.name!r}")
    return 0
