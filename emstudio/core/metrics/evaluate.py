"""Evaluate a prediction against a truth: project volumes or files, slab by slab.

An input is a volume name in the given project, ``PROJECT.emproj:NAME``, or a file/folder any
importer reads (TIFF, Zarr, HDF5, MRC, slice folder). Probability volumes (``prediction``,
or any side read with ``read_as_probability``) count as foreground from a threshold (0.5). In
a semantic evaluation a project segmentation (instance ids) counts as the foreground of its
class: its objects are not classes. A probability map or a segmentation of one class (e.g.
``mitochondria``) against a project label set with named classes is scored against that class
alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.errors import InputFileError
from emstudio.core.io.open_source import open_source
from emstudio.core.metrics import KINDS, instance, semantic
from emstudio.core.project import Project
from emstudio.core.volume.store import Volume

SLAB_VOXELS = 16 * 2**20
HAUSDORFF_MAX_VOXELS = 256 * 2**20  # whole masks in memory (~3 bytes per voxel at peak)
MAX_CLASSES = 32  # a label file with more values holds something else
MANY_GREY_LEVELS = 200  # an 8-bit file with more "objects" is more likely grey levels


@dataclass
class LabelInput:
    """One side of an evaluation: a name for people, shape, voxel size (nm) and slab reads."""

    name: str
    shape: tuple[int, int, int]
    voxel_size: tuple[float, float, float]
    probability: bool
    read: Callable[[int, int], np.ndarray]
    classes: dict[int, str] = field(default_factory=dict)  # names of label values, if known
    only: int | None = None  # read as a 0/1 mask of this one value
    instances: bool = False  # a segmentation: object ids of one class
    foreground: bool = False  # read as a 0/1 mask of every nonzero value
    threshold: float = 0.5  # a probability map's foreground: this probability or more

    def read_as_probability(self, threshold: float) -> None:
        """Read this side as a probability map (an exported one is a plain uint8 file)."""
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"--threshold must lie between 0 and 1, got {threshold}.")
        self.probability, self.threshold = True, threshold

    def name_class(self, name: str) -> None:
        """Say which class this side, a probability map, is of (an exported map names none)."""
        if not self.probability:
            raise ValueError(f"--class is for a probability map; {self.name!r} is not read as one.")
        self.classes = {1: name}

    def slabs(self) -> Iterator[tuple[int, np.ndarray]]:
        step = max(1, SLAB_VOXELS // max(self.shape[1] * self.shape[2], 1))
        for z0 in range(0, self.shape[0], step):
            block = self.read(z0, min(z0 + step, self.shape[0]))
            if self.probability:  # uint8 maps hold probability x 255
                scale = 255.0 if np.issubdtype(block.dtype, np.integer) else 1.0
                yield z0, block >= self.threshold * scale
            elif self.only is not None:
                yield z0, block == self.only
            elif self.foreground:
                yield z0, block > 0
            else:
                yield z0, block


@contextlib.contextmanager
def open_input(text: str, project: Project | None = None) -> Iterator[LabelInput]:
    """A volume of ``project``, ``PROJECT.emproj:NAME`` or a file, as a LabelInput."""
    if project is not None and project.catalog.has_volume_name(text):
        yield _from_project(project, text)
        return
    if ".emproj:" in text:
        folder, name = text.rsplit(":", 1)
        with Project.open(folder, mode="read") as other:
            yield _from_project(other, name)
        return
    on_disk = Path(text).exists() or Path(text.rsplit(":", 1)[0]).exists()  # or file.h5:/data
    if project is not None and not on_disk:
        names = ", ".join(v.name for v in project.catalog.volumes() if v.kind != "image")
        raise InputFileError(
            text, f"is neither a volume of this project ({names or 'none yet'}) nor a file."
        )
    source = open_source(text)
    try:
        info = source.info
        if info.channels > 1:
            raise InputFileError(text, "has colour channels; labels must be one channel.")
        yield LabelInput(
            str(text), tuple(info.shape), tuple(info.voxel_size.zyx), False, source.read_slab
        )
    finally:
        source.close()


def _from_project(project: Project, name: str) -> LabelInput:
    record = project.catalog.volume(name)
    if record.kind == "image":
        raise InputFileError(
            name, "is an image: compare a segmentation, a label set or a prediction."
        )
    volume = Volume(project.resolve(record.path))
    probability = record.kind == "prediction"
    instances = record.kind == "segmentation"
    if probability or instances:
        classes = {1: record.named_class} if record.named_class else {}
    else:
        named = record.attrs.get("classes")  # label sets: {value: name}
        classes = {int(v): n for v, n in named.items() if int(v)} if isinstance(named, dict) else {}
    shape, voxel = volume.shape, volume.voxel_size.zyx
    return LabelInput(name, shape, voxel, probability, volume.read, classes, instances=instances)


def only_planes(side: LabelInput, planes: Sequence[int]) -> None:
    """Read ``side`` as the stack of these z planes alone (held-out slices), in this order;
    ValueError for a plane outside the volume."""
    depth = side.shape[0]
    outside = [p for p in planes if not 0 <= p < depth]
    if outside:
        raise ValueError(
            f"--slices: z {outside[0]} is outside {side.name!r}, which has z 0 to {depth - 1}."
        )
    read, chosen = side.read, list(planes)

    def read_chosen(z0: int, z1: int) -> np.ndarray:
        wanted = chosen[z0:z1]
        runs, start = [], 0
        for i in range(1, len(wanted) + 1):  # consecutive planes are read together
            if i == len(wanted) or wanted[i] != wanted[i - 1] + 1:
                runs.append(read(wanted[start], wanted[i - 1] + 1))
                start = i
        return np.concatenate(runs)

    side.read, side.shape = read_chosen, (len(chosen), *side.shape[1:])


def _one_class(side: LabelInput) -> bool:
    return side.probability or side.instances


def _align_classes(pred: LabelInput, truth: LabelInput) -> None:
    """Score a one-class map (probabilities, or a segmentation's objects) against the class of
    the same name of the other side's label set only; a map of no named class against a set
    of several is refused (which would it be?)."""
    for one, many in ((pred, truth), (truth, pred)):
        named = [n for v, n in many.classes.items() if v]
        if one.probability and not one.classes and not _one_class(many) and len(named) > 1:
            raise InputFileError(
                one.name,
                f"is a probability map of no named class, and {many.name!r} has several "
                f"({', '.join(named)}): add --class NAME to say which it is.",
            )
        if not (_one_class(one) and one.classes and many.classes and not _one_class(many)):
            continue
        wanted = one.classes[1]
        values = [v for v, n in many.classes.items() if n == wanted]
        if not values:
            raise InputFileError(
                many.name,
                f"has no class {wanted!r} to compare {one.name!r} with "
                f"(its classes: {', '.join(many.classes.values())}).",
            )
        many.only, many.classes = values[0], {1: wanted}
        return


def _check_pair(pred: LabelInput, truth: LabelInput) -> None:
    if pred.shape != truth.shape:
        raise InputFileError(
            pred.name, f"has shape {pred.shape} but the truth {truth.name!r} has {truth.shape}."
        )


def default_kind(pred: LabelInput, truth: LabelInput) -> str:
    """ "semantic" where a side holds classes (a probability map, a label set of named classes),
    else "instance" (segmentations, files of object ids)."""
    classes = any(s.probability or (s.classes and not s.instances) for s in (pred, truth))
    return "semantic" if classes else "instance"


def _plain(side: LabelInput) -> bool:
    """A side read as it stands: values of unknown meaning (a file with no class names)."""
    return not (side.probability or side.instances or side.classes or side.foreground)


def _one_class_against_plain(pred: LabelInput, truth: LabelInput) -> str:
    """A one-class map against a file that names no classes (object ids, or 0/1): that file's
    nonzero voxels are the class's foreground. Returns the note saying so ("" if not so)."""
    for one, plain in ((pred, truth), (truth, pred)):
        if _one_class(one) and _plain(plain):
            plain.foreground = True
            what = one.classes.get(1, "the class")
            return f"{plain.name!r} names no classes: its nonzero voxels count as {what}."
    return ""


def evaluate(pred: LabelInput, truth: LabelInput, kind: str | None = None) -> dict[str, Any]:
    """All metrics of ``kind`` ("semantic" or "instance"; None: ``default_kind``) as a
    JSON-ready dictionary."""
    _check_pair(pred, truth)
    kind = kind or default_kind(pred, truth)
    if kind == "semantic":
        for side in (pred, truth):
            side.foreground = side.instances  # object ids are not classes
        _align_classes(pred, truth)
        note = _one_class_against_plain(pred, truth)
        report = evaluate_semantic(pred, truth)
        if note:
            report["note"] = " ".join(filter(None, (note, report.get("note"))))
        return report
    if kind == "instance":
        for side in (pred, truth):
            if side.probability:
                raise InputFileError(
                    side.name,
                    "is a probability map, not objects: segment it first (emstudio segment) "
                    "and compare the segmentation, or score the map with --kind semantic.",
                )
        return evaluate_instance(pred, truth)
    raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")


def evaluate_instance(pred: LabelInput, truth: LabelInput) -> dict[str, Any]:
    table = instance.Contingency()
    dtypes = {}
    for (_, p), (_, t) in zip(pred.slabs(), truth.slabs(), strict=True):
        table.add(np.asarray(p), np.asarray(t))
        dtypes = {pred.name: p.dtype, truth.name: t.dtype}
    report: dict[str, Any] = {
        "kind": "instance",
        "pred": pred.name,
        "truth": truth.name,
        "n_pred": sum(1 for i in table.sizes("pred") if i),
        "n_truth": sum(1 for i in table.sizes("truth") if i),
    }
    for threshold, tag in ((0.5, "50"), (0.75, "75")):
        report[f"ap{tag}"] = instance.average_precision(table, threshold)
        for key, value in instance.match(table, threshold).items():
            report[f"{key}{tag}"] = value
    report.update(instance.variation_of_information(table))
    report.update(instance.adapted_rand(table))
    grey = [
        name
        for name, side in ((pred.name, "pred"), (truth.name, "truth"))
        if dtypes.get(name) == np.uint8 and report[f"n_{side}"] > MANY_GREY_LEVELS
    ]
    if grey:
        report["note"] = (
            f"{grey[0]!r} is 8-bit with {report['n_pred' if grey[0] == pred.name else 'n_truth']} "
            "values, each scored as an object: a probability map (add --threshold 0.5 to score "
            "it as one class) or an image, not object ids?"
        )
    return report


def evaluate_semantic(pred: LabelInput, truth: LabelInput) -> dict[str, Any]:
    counts: dict[int, semantic.OverlapCounts] = {}
    values: dict[str, set[int]] = {"pred": set(), "truth": set()}
    for (_, p), (_, t) in zip(pred.slabs(), truth.slabs(), strict=True):
        p, t = np.asarray(p), np.asarray(t)
        values["pred"].update(np.unique(p).tolist())
        values["truth"].update(np.unique(t).tolist())
        _check_class_count(pred, truth, values)
        for value in np.union1d(np.unique(p), np.unique(t)).tolist():
            if value:
                counts.setdefault(int(value), semantic.OverlapCounts()).add(p == value, t == value)
    voxels = int(np.prod(pred.shape))
    classes: dict[str, dict[str, Any]] = {}
    for value, count in sorted(counts.items()):
        entry: dict[str, Any] = {"dice": count.dice, "iou": count.iou}
        name = truth.classes.get(value) or pred.classes.get(value)
        if name:
            entry["name"] = name
        if voxels <= HAUSDORFF_MAX_VOXELS:
            entry.update(_hausdorff(pred, truth, value))
        # a label set read as one class's mask: the class's value is the set's, not the mask's
        only = truth.only if truth.only is not None else pred.only
        classes[str(value if only is None else only)] = entry
    report: dict[str, Any] = {
        "kind": "semantic",
        "pred": pred.name,
        "truth": truth.name,
        "classes": classes,
    }
    if voxels > HAUSDORFF_MAX_VOXELS:
        report["note"] = (
            f"Hausdorff distances skipped: the volume has {voxels} voxels, more than "
            f"{HAUSDORFF_MAX_VOXELS} (they need whole masks in memory); crop it first."
        )
    if classes:
        report["mean_dice"] = float(np.mean([c["dice"] for c in classes.values()]))
        report["mean_iou"] = float(np.mean([c["iou"] for c in classes.values()]))
    return report


def _check_class_count(pred: LabelInput, truth: LabelInput, values: dict[str, set[int]]) -> None:
    """Refuse a side read as classes that holds more values than a label file would."""
    for side, seen in ((pred, values["pred"]), (truth, values["truth"])):
        if _plain(side) and len(seen) > MAX_CLASSES:
            raise InputFileError(
                side.name,
                f"holds over {MAX_CLASSES} different values: not classes, but a probability "
                "map (exported from emstudio? add --threshold 0.5), an image, or object ids "
                "(--kind instance).",
            )


def _mask(side: LabelInput, value: int) -> np.ndarray:
    return np.concatenate([np.asarray(block) == value for _, block in side.slabs()])


def _hausdorff(pred: LabelInput, truth: LabelInput, value: int) -> dict[str, float | None]:
    """Distances in nm (over the voxel size, anisotropy included) and in in-plane pixels (nm
    over the XY pixel size: "2 px (20 nm)" at 10 nm pixels, however thick the sections)."""
    p, t = _mask(pred, value), _mask(truth, value)
    pixel = truth.voxel_size[2]
    out: dict[str, float | None] = {}
    for key, nm in semantic.hausdorff(p, t, truth.voxel_size).items():
        out[f"{key}_nm"] = nm
        out[f"{key}_px"] = None if nm is None else nm / pixel
    return out


def describe(report: dict[str, Any]) -> str:
    """The report as a few lines for a terminal."""
    lines = [f"{report['kind']} evaluation of {report['pred']!r} against {report['truth']!r}"]
    if "slices" in report:
        lines.append(f"on z slices {report['slices']} only")
    if report["kind"] == "instance":
        lines.append(f"objects: {report['n_pred']} predicted, {report['n_truth']} true")
        for tag in ("50", "75"):
            ap = report[f"ap{tag}"]
            lines.append(
                f"IoU {int(tag) / 100:.2f}: AP {'undefined' if ap is None else f'{ap:.4f}'}  "
                f"precision {report[f'precision{tag}']:.4f}  recall {report[f'recall{tag}']:.4f}"
                f"  (TP {report[f'tp{tag}']}, FP {report[f'fp{tag}']}, FN {report[f'fn{tag}']})"
            )
        lines.append(
            f"VOI split {report['voi_split']:.4f} bits, merge {report['voi_merge']:.4f} bits; "
            f"adapted Rand error {report['adapted_rand_error']:.4f}"
        )
        if report["n_truth"] == 0:
            lines.append("The truth has no objects: AP is undefined, and recall counts as 1.")
        if "note" in report:
            lines.append(report["note"])
        return "\n".join(lines)
    if not report["classes"]:
        lines.append("Neither volume has any foreground: there is nothing to score.")
    for value, entry in report["classes"].items():
        label = f"{entry['name']} ({value})" if "name" in entry else value
        parts = [f"class {label}: Dice {entry['dice']:.4f}, IoU {entry['iou']:.4f}"]
        for key in ("average_hausdorff", "hausdorff95"):
            px, nm = entry.get(f"{key}_px"), entry.get(f"{key}_nm")
            if px is not None:
                parts.append(f"{key.replace('_', ' ')} {px:.2f} px / {nm:.1f} nm")
        lines.append(", ".join(parts))
    if "note" in report:
        lines.append(report["note"])
    return "\n".join(lines)
