"""Label sets for training: classes, and which slices a person actually labelled.

How sparse labels are represented (a ``labels`` volume, uint8):

* attrs ``classes``: ``{"1": "membrane", "3": "mitochondria", ...}``; value 0 is background.
* Only *labelled slices* count. They are listed in attrs ``labelled_slices``:
  ``{"z": [...], "y": [...], "x": [...]}`` (the painting tool writes it). When the key is absent,
  every z slice with a labelled voxel counts as labelled along z (a dense label set, like the
  demo's ``truth-classes``, is labelled on every such slice); in a volume that holds ``IGNORE``,
  every z slice not wholly ``IGNORE`` (as emstudio exports sparse label sets). Inside a
  labelled slice 0 means background, and ``IGNORE`` (255) means "not labelled here" (ignored
  by the loss).
* A training run can restrict itself to some slices (``--slices z:0,8,16``).

A voxel is labelled if it lies in any labelled slice: an XZ plane therefore carries labels on
the rows of labelled z slices, which lets training see XZ/YZ views from XY labels alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from emstudio.core.ml.errors import LabelsError

IGNORE = 255
AXIS_KEYS = ("z", "y", "x")  # the normal of xy, xz and yz slices
MAX_SCAN_BYTES = 64 * 2**20  # slab size when scanning a label set for labelled z slices


@dataclass(frozen=True)
class LabelledSlices:
    """Indices of labelled slices across each axis (sorted, unique)."""

    z: tuple[int, ...] = ()
    y: tuple[int, ...] = ()
    x: tuple[int, ...] = ()

    def along(self, dim: int) -> tuple[int, ...]:
        return (self.z, self.y, self.x)[dim]

    @property
    def count(self) -> int:
        return len(self.z) + len(self.y) + len(self.x)

    def to_json(self) -> dict[str, list[int]]:
        return {"z": list(self.z), "y": list(self.y), "x": list(self.x)}

    def describe(self) -> str:
        """ "z 2, 7; y 40" for a person."""
        return (
            "; ".join(
                f"{key} {', '.join(map(str, self.along(dim)))}"
                for dim, key in enumerate(AXIS_KEYS)
                if self.along(dim)
            )
            or "none"
        )

    @classmethod
    def from_lists(cls, data: dict[str, Iterable[int]]) -> LabelledSlices:
        return cls(*(tuple(sorted({int(i) for i in data.get(k, ())})) for k in AXIS_KEYS))

    def check_inside(self, shape: tuple[int, int, int]) -> None:
        for dim, key in enumerate(AXIS_KEYS):
            bad = [i for i in self.along(dim) if not 0 <= i < shape[dim]]
            if bad:
                raise LabelsError(
                    f"labelled {key} slices {bad} lie outside the volume (0..{shape[dim] - 1})."
                )

    def split(self, fraction: float) -> tuple[LabelledSlices, LabelledSlices]:
        """(training, validation): about ``fraction`` of each axis' slices held out, spread
        evenly; an axis with a single slice keeps it for training."""
        train: dict[str, list[int]] = {}
        val: dict[str, list[int]] = {}
        for dim, key in enumerate(AXIS_KEYS):
            items = list(self.along(dim))
            n_val = round(len(items) * fraction) if len(items) > 1 else 0
            n_val = min(max(n_val, 1 if len(items) > 1 and fraction > 0 else 0), len(items) - 1)
            picks = {round((i + 0.5) * len(items) / n_val - 0.5) for i in range(n_val)}
            val[key] = [items[i] for i in sorted(picks)]
            train[key] = [s for s in items if s not in set(val[key])]
        return LabelledSlices.from_lists(train), LabelledSlices.from_lists(val)


@dataclass(frozen=True)
class Target:
    """What a model learns: class values of the label set (by name) and an optional boundary."""

    classes: tuple[str, ...]
    values: tuple[int, ...]
    boundary_of: str | None = None  # class whose object boundaries form an extra output


def named_classes(values: Iterable[int], names: Mapping[int, str] | None = None) -> dict[str, str]:
    """The classes of a label set whose voxels hold ``values``: each named as the user named
    it in ``names`` (those named but absent included), else "class N"; 0 is the background and
    IGNORE ("not labelled here") is no class."""
    names = dict(names or {})
    classes = {"0": "background"}
    for value in sorted({int(v) for v in values} | set(names)):
        if value not in (0, IGNORE):
            classes[str(value)] = names.get(value, f"class {value}")
    return classes


def classes_of(attrs: dict) -> dict[int, str]:
    """``{"1": "membrane"}`` attrs -> ``{1: "membrane"}`` (background 0 left out)."""
    raw = attrs.get("classes") or {}
    try:
        classes = {int(k): str(v) for k, v in raw.items()}
    except (TypeError, ValueError, AttributeError):
        raise LabelsError(f"the label set's classes are not readable ({raw!r}).") from None
    return {k: v for k, v in classes.items() if k not in (0, IGNORE)}


def resolve_target(
    attrs: dict, requested: list[str] | None, boundary_of: str | None = None
) -> Target:
    """The classes to learn (all of the label set's when ``requested`` is empty)."""
    available = classes_of(attrs)
    if not available:
        raise LabelsError("the label set names no classes (attrs 'classes' is empty).")
    by_name = {name: value for value, name in available.items()}
    names = list(requested or by_name)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise LabelsError(
            f"class {', '.join(map(repr, unknown))} is not in the label set "
            f"(it has: {', '.join(by_name)})."
        )
    if boundary_of is not None and boundary_of not in names:
        raise LabelsError(
            f"boundary output for {boundary_of!r}: that class must be one of the trained "
            f"classes ({', '.join(names)})."
        )
    return Target(tuple(names), tuple(by_name[n] for n in names), boundary_of)


def parse_slices(text: str) -> dict[str, list[int]]:
    """``"z:0,8,16-20;y:64"`` -> {"z": [0, 8, 16, 17, 18, 19, 20], "y": [64]}."""
    out: dict[str, list[int]] = {}
    for part in filter(None, (p.strip() for p in text.replace(" ", ";").split(";"))):
        key, _, items = part.partition(":")
        key = key.strip().lower()
        if key not in AXIS_KEYS or not items:
            raise LabelsError(f"slices {part!r}: write AXIS:LIST, e.g. z:0,8,16 or z:0-31.")
        for item in items.split(","):
            start, dash, stop = item.strip().partition("-")
            try:
                first, last = int(start), int(stop) if dash else int(start)
            except ValueError:
                raise LabelsError(
                    f"slices {part!r}: {item!r} is not a number or a range."
                ) from None
            out.setdefault(key, []).extend(range(first, last + 1))
    if not out:
        raise LabelsError(f"slices {text!r}: no slice given.")
    return out


def labelled_z_slices(array) -> list[int]:
    """Scan a label volume (slab by slab) for its labelled z slices: where the volume marks
    voxels as not labelled (IGNORE), every slice not wholly IGNORE, so a slice labelled as all
    background counts; else every slice holding a class."""
    return _scan_z_slices(array)[0]


def _scan_z_slices(array) -> tuple[list[int], bool]:
    """``labelled_z_slices``, and whether the volume marks any voxel as not labelled."""
    z, y, x = array.shape
    step = max(1, MAX_SCAN_BYTES // max(y * x, 1))
    with_class, not_ignored, ignored = [], [], False
    for z0 in range(0, z, step):
        slab = np.asarray(array[z0 : min(z0 + step, z)]).reshape(-1, y * x)
        unlabelled = slab == IGNORE
        ignored |= bool(unlabelled.any())
        with_class.extend(z0 + int(i) for i in np.flatnonzero(((slab != 0) & ~unlabelled).any(1)))
        not_ignored.extend(z0 + int(i) for i in np.flatnonzero(~unlabelled.all(axis=1)))
    return (not_ignored if ignored else with_class), ignored


def find_labelled_slices(
    array, attrs: dict, chosen: str | None = None, warn: Callable[[str], None] | None = None
) -> LabelledSlices:
    """The labelled slices of a label volume: ``chosen`` (``--slices``) if given, else the
    volume's ``labelled_slices`` attrs, else its labelled z slices (``labelled_z_slices``);
    ``warn`` is told of the slices left out there as holding no class."""
    if chosen:
        slices = LabelledSlices.from_lists(parse_slices(chosen))
    elif attrs.get("labelled_slices"):
        slices = LabelledSlices.from_lists(attrs["labelled_slices"])
    else:
        found, marks_unlabelled = _scan_z_slices(array)
        slices = LabelledSlices(z=tuple(found))
        left_out = array.shape[0] - len(found)
        if warn is not None and found and left_out and not marks_unlabelled:
            warn(
                f"the label set marks no voxel as not labelled (255), so its {left_out} z "
                "slices holding no class are taken as not labelled and left out; if they are "
                "labelled as all background, list the slices to train on with --slices "
                "(the Train dialog: Advanced, Only slices)"
            )
    slices.check_inside(tuple(array.shape))
    if not slices.count:
        raise LabelsError(
            "the label set has no labelled slice: paint at least one slice (or list them "
            "with --slices) before training."
        )
    return slices


def parse_class_names(text: str | None, option: str) -> dict[str, str]:
    """ "1=membrane,2=mitochondria" -> {"1": "membrane", "2": "mitochondria"} (an import's
    class names; ``option``: what messages call the field)."""
    names: dict[str, str] = {}
    for item in filter(None, (t.strip() for t in (text or "").split(","))):
        value, _, name = (part.strip() for part in item.partition("="))
        if not (value.isdigit() and 1 <= int(value) <= IGNORE - 1 and name):
            raise LabelsError(
                f"{option} takes VALUE=NAME items with values 1 to {IGNORE - 1}, e.g. "
                f"1=membrane,2=mitochondria; got {item!r}."
            )
        if str(int(value)) in names or name in names.values():
            raise LabelsError(f"{option} names value {value} or {name!r} twice.")
        names[str(int(value))] = name
    return names


def parse_recode(text: str | None, option: str) -> dict[str, int]:
    """ "0=1,255=0" -> {"0": 1, "255": 0} (an import's value changes; ``option``: what
    messages call the field)."""
    pairs: dict[str, int] = {}
    for item in filter(None, (t.strip() for t in (text or "").split(","))):
        old, _, new = (part.strip() for part in item.partition("="))
        if not (old.isdigit() and new.isdigit()) or old in pairs:
            raise LabelsError(
                f"{option} takes OLD=NEW items of whole numbers, each old value once, e.g. "
                f"0=1,255=0; got {item!r}."
            )
        pairs[old] = int(new)
    return pairs
