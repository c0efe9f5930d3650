"""Job kind "train": a U-Net from a label set, registered as a model of the project.

inputs: ``image``, ``labels`` (volume names), optional ``init`` (model to start from) and
``instances`` (segmentation whose object edges form the boundary target).
params: ``out`` (model name), ``classes`` (list, default all), ``boundary`` (class name),
``slices`` (e.g. "z:0,8,16"), ``resume_from`` (a job id whose checkpoint to continue), and the
fields of ``TrainConfig``. A checkpoint is saved in ``jobs/<id>/checkpoint.pt`` every epoch,
and removed once the model is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emstudio import __version__
from emstudio.core.ml import presets
from emstudio.core.ml.card import build_card
from emstudio.core.ml.errors import LabelsError, VolumeKindError
from emstudio.core.ml.labels import LabelledSlices, Target, find_labelled_slices, resolve_target
from emstudio.core.ml.normalise import normaliser_for
from emstudio.core.ml.sampling import in_memory_if_small
from emstudio.core.progress import describe_duration
from emstudio.core.project import ModelRecord, Project, provenance
from emstudio.core.project.catalog import utc_now
from emstudio.core.project.records import KIND_PHRASES, VolumeRecord
from emstudio.core.text import counted
from emstudio.core.volume.store import Volume
from emstudio.jobs.events import EventLog
from emstudio.jobs.spec import JobSpec

if TYPE_CHECKING:
    from emstudio.core.ml.train_config import TrainConfig

SPEC_PARAMS = ("out", "classes", "boundary", "slices", "resume_from")


class EventReporter:
    """training.Reporter over a job's event log."""

    def __init__(self, events: EventLog) -> None:
        self.events = events

    def progress(self, done: int, total: int, message: str = "") -> None:
        self.events.progress(done, total, message)

    def log(self, message: str) -> None:
        self.events.log(message)

    def metric(self, name: str, step: int, value: float) -> None:
        self.events.emit("metric", name=name, step=step, value=value)


def volume_of_kind(project: Project, name: str, kind: str, role: str) -> VolumeRecord:
    record = project.catalog.volume(name)
    if record.kind != kind:
        raise VolumeKindError(f"{role} {name!r} is {record.kind_phrase}, not {KIND_PHRASES[kind]}.")
    return record


@dataclass
class Inputs:
    """What a training job reads, checked: records, arrays, slices, target, starting model."""

    image: VolumeRecord
    labels: VolumeRecord
    arrays: tuple[Any, Any, Any]  # image, labels, instances (or None)
    slices: LabelledSlices
    target: Target
    parent: tuple[Any, dict[str, Any], ModelRecord] | None  # model, card, record


def resolve_inputs(project: Project, spec: JobSpec, open_model, warn=None) -> Inputs:
    """The job's inputs, checked (``warn``: told what the labelled slices leave out)."""
    params = spec.params
    image = volume_of_kind(project, spec.inputs["image"], "image", "image")
    labels = volume_of_kind(project, spec.inputs["labels"], "labels", "label set")
    if tuple(labels.shape) != tuple(image.shape):
        raise LabelsError(
            f"label set {labels.name!r} is {labels.shape}, image {image.name!r} is "
            f"{image.shape}: they must have the same shape."
        )
    target = resolve_target(labels.attrs, params.get("classes"), params.get("boundary"))
    label_array = Volume(project.resolve(labels.path)).arrays[0]
    slices = find_labelled_slices(label_array, labels.attrs, params.get("slices"), warn)
    instances = None
    if spec.inputs.get("instances"):
        record = volume_of_kind(project, spec.inputs["instances"], "segmentation", "instances")
        instances = in_memory_if_small(Volume(project.resolve(record.path)).arrays[0])
    parent = open_model(project, spec.inputs["init"]) if spec.inputs.get("init") else None
    arrays = (
        in_memory_if_small(Volume(project.resolve(image.path)).arrays[0]),
        in_memory_if_small(label_array),
        instances,
    )
    return Inputs(image, labels, arrays, slices, target, parent)


def run_train(project: Project, spec: JobSpec, events: EventLog) -> dict[str, Any]:
    # torch loads here, not at import: every emstudio command imports the task table
    from emstudio.core.ml.checkpoint import CHECKPOINT_FILE, load_checkpoint
    from emstudio.core.ml.device import describe, is_out_of_memory, select_device
    from emstudio.core.ml.errors import DeviceError
    from emstudio.core.ml.modelfile import write_model_folder
    from emstudio.core.ml.registry import add_model, check_model_name, open_model
    from emstudio.core.ml.train_config import TrainConfig
    from emstudio.core.ml.training import TrainData, train

    params = dict(spec.params)
    out = check_model_name(project, str(params.get("out") or ""))
    config = TrainConfig.from_json({k: v for k, v in params.items() if k not in SPEC_PARAMS})
    inputs = resolve_inputs(project, spec, open_model, events.warn)
    config.check_start(inputs.parent is not None)  # before the plan is told
    if inputs.parent is not None:
        config.normalisation = inputs.parent[1]["input"]["normalisation"]["mode"]
    device = select_device(spec.device)
    project.catalog.set_job_device(spec.id, describe(device))
    resume = None
    if params.get("resume_from"):
        resume = load_checkpoint(project.jobs_dir / params["resume_from"] / CHECKPOINT_FILE)
    image, labels, instances = inputs.arrays
    data = TrainData(image, labels, inputs.image.voxel_size.zyx, inputs.slices, inputs.target,
                     instances)  # fmt: skip
    slices = inputs.slices
    events.log(
        f"training on {slices.count} labelled slices "
        f"(z {len(slices.z)}, y {len(slices.y)}, x {len(slices.x)}) on {describe(device)}"
    )
    size = inputs.parent[1].get("size", config.size) if inputs.parent else config.size
    estimate = time_estimate(config, device.type == "cuda", size)  # a parent keeps its size
    if estimate:
        events.log(estimate)
    try:
        result = train(
            data, config, device, normaliser_for(config.normalisation, image),
            parent=None if inputs.parent is None else inputs.parent[:2],
            checkpoint=project.jobs_dir / spec.id / CHECKPOINT_FILE,
            resume=resume, reporter=EventReporter(events),
        )  # fmt: skip
    except Exception as exc:
        if is_out_of_memory(exc):
            raise DeviceError(
                f"{device}: out of memory while training with batches of {config.batch} "
                f"patches of {config.patch} px: use a smaller --batch or --patch."
            ) from None
        raise
    card = model_card(out, spec, config, inputs, result, describe(device))
    prov = provenance.record(
        "train", job_id=spec.id, params=params,
        inputs=[
            {"volume": inputs.image.name, "id": inputs.image.id},
            {"volume": inputs.labels.name, "id": inputs.labels.id},
            *([{"model": card["parent"]["name"], "id": card["parent"]["id"]}]
              if card["parent"] else []),
        ],
    )  # fmt: skip
    record = add_model(
        project, out, lambda folder: write_model_folder(folder, result.model, card), prov
    )
    # the model holds what is kept; its checkpoints (this job's, and the one it went on from)
    # are for resuming, which a finished training refuses
    for job_id in (spec.id, params.get("resume_from")):
        if job_id:
            (project.jobs_dir / job_id / CHECKPOINT_FILE).unlink(missing_ok=True)
    return {
        "model": record.name,
        "model_id": record.id,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "val_dice": result.dice,
        "val_iou": result.iou,
    }


def model_card(name: str, spec: JobSpec, config, inputs: Inputs, result, device: str) -> dict:
    """The new model's card (its weights section is added when the weights are written)."""
    image, target = inputs.image, inputs.target
    parent = inputs.parent[2] if inputs.parent else None
    return build_card(
        name=name,
        size=config.size,
        architecture=result.config.to_json(),
        inputs={
            "slices": config.input_slices,
            **result.geometry,
            "normalisation": result.normaliser.to_json(),
            "voxel_size_nm": list(image.voxel_size.zyx),
            "voxel_known": image.voxel_size.known,
            "dtype": image.dtype,
        },
        classes=list(target.classes),
        boundary=(
            {"of": target.boundary_of, "instances": spec.inputs.get("instances")}
            if target.boundary_of
            else None
        ),
        loss=config.loss,
        training={
            "image": image.name,
            "image_id": image.id,
            "labels": inputs.labels.name,
            "labels_id": inputs.labels.id,
            "labelled_slices": inputs.slices.to_json(),
            "axes": result.axes,
            "params": config.to_json(),
            "epochs_run": len(result.history),
            "stopped_early": result.stopped_early,
            "seconds": round(result.seconds, 1),
            "device": device,
            "job_id": spec.id,
            "init": result.init_report,
        },
        validation={
            "best_epoch": result.best_epoch,
            "dice": result.dice,
            "iou": result.iou,
            "history": result.history,
            "slices": result.val_slices,
            "held_out": result.held_out,
            **({"start_dice": result.start_dice} if result.start_dice else {}),
        },
        parent=None if parent is None else {"name": parent.name, "id": parent.id},
        created_at=utc_now(),
        emstudio_version=__version__,
    )


def time_estimate(config: TrainConfig, gpu: bool, size: str | None = None) -> str:
    """What the training will take at most, as the Train dialog estimates it, for a model of
    ``size`` (default: the config's) ("" where its speed on this device is not measured)."""
    size = size or config.size
    if size not in presets.SIZES:
        return ""
    seconds = presets.estimate_train_seconds(
        size, config.epochs, config.iterations, config.batch, config.patch, gpu
    )
    if seconds is None:
        return ""
    return (
        f"{counted(config.epochs, 'epoch')} of {counted(config.iterations, 'batch', 'batches')}: "
        f"{describe_duration(seconds)} at most on a 2-core CPU, less with more cores (early "
        "stopping may end it sooner)"
    )
