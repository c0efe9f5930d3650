"""Where a subject's frame lies in the image: volume, slice (axis, index), crop offset, scale.

The default mapping reads, in this order (metadata keys match in any case, ignoring spaces,
``_`` and ``-``):

1. emstudio's own keys, written by ``crowd simulate``: ``#volume``, ``#slice`` (the slice of
   frame 0; frame k is slice ``#slice + k``), ``#axis`` (z, y or x), ``#x0``, ``#y0``, ``#scale``;
2. ``slice_key``, when set: a key holding the slice index (plus ``slice_offset``, plus frame);
3. Etch A Cell file names: ``Image <frame>`` = ``<ROI>_<slice>.<ext>`` (``file_key`` and
   ``file_pattern``); the ROI is the subject's volume, ``Scaling factor`` its scale.

Coordinates are in the subject image's natural pixels, origin at its top-left corner; in the
slice plane, column = x0 + x * scale and row = y0 + y * scale (also corner-based).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

from emstudio.core.errors import EmstudioError

AXES = ("z", "y", "x")
# the volume axes (0 z, 1 y, 2 x) along the rows and columns of a plane normal to each axis
PLANE_AXES = {"z": (1, 2), "y": (0, 2), "x": (0, 1)}
SIM_PREFIX = "#"
DEFAULT_FILE_KEY = "Image {frame}"
DEFAULT_FILE_PATTERN = r"(?P<volume>[^/\\]+)_(?P<slice>\d+)\.\w+$"
SCALE_KEYS = ("#scale", "Scaling factor")


class MappingError(EmstudioError):
    """A subject mapping setting is unusable (bad pattern, axis or scale)."""


class SliceRef(NamedTuple):
    """A subject frame's place: the slice plane and how natural pixels map into it."""

    volume: str  # the subject's volume (ROI) id; "" when the subject does not say
    axis: str  # normal of the plane: "z" (an XY plane), "y" (XZ) or "x" (YZ)
    index: int
    x0: float
    y0: float
    scale: float


class Unmapped(NamedTuple):
    """Why a subject frame has no slice: an ImportReport kind and a reason for a person."""

    kind: str
    reason: str


def plane_shape(image_shape: tuple[int, int, int], axis: str) -> tuple[int, int]:
    """(rows, columns) of a plane normal to ``axis``: z -> (Y, X), y -> (Z, X), x -> (Z, Y)."""
    rows, cols = PLANE_AXES[axis]
    return image_shape[rows], image_shape[cols]


def norm_key(key: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(key).lower())


@dataclass
class SubjectMapping:
    """How subject metadata maps to slices (the defaults read Etch A Cell and ``crowd simulate``
    exports). ``scale``: "" = from the metadata (else 1), a number, or "fit" (the subject image
    scaled to fill the plane)."""

    slice_key: str = ""
    slice_offset: int = 0
    file_key: str = DEFAULT_FILE_KEY
    file_pattern: str = DEFAULT_FILE_PATTERN
    axis: str = "z"
    scale: str = ""
    x0: float | None = None
    y0: float | None = None
    volume: str = ""

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise MappingError(f"axis must be one of z, y, x, not {self.axis!r}.")
        try:
            self._pattern = re.compile(self.file_pattern)
        except re.error as exc:
            raise MappingError(f"file name pattern {self.file_pattern!r}: {exc}.") from None
        if "slice" not in self._pattern.groupindex:
            raise MappingError("the file name pattern needs a (?P<slice>...) group.")
        self.scale = str(self.scale or "").strip()
        if self.scale not in ("", "fit") and not _positive(self.scale):
            raise MappingError(f"scale must be a positive number or 'fit', not {self.scale!r}.")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SubjectMapping:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def locate(
        self,
        subject: dict[str, Any],
        frame: int,
        dimensions: list[dict[str, Any]],
        image_shape: tuple[int, int, int],
    ) -> SliceRef | Unmapped:
        """The slice of ``frame`` of a subject with this metadata, or why there is none."""
        meta = {norm_key(k): v for k, v in subject.items()}
        found = self._slice(meta, frame)
        if isinstance(found, Unmapped):
            return found
        volume, axis, index = found
        if self.volume and volume and volume != self.volume:
            return Unmapped("other_volume", f"volume {volume!r}, not {self.volume!r}")
        depth = image_shape[AXES.index(axis)]
        if not 0 <= index < depth:
            return Unmapped("slice_out_of_range", f"{axis} slice {index} (image has {depth})")
        scale = self._scale(meta, frame, dimensions, plane_shape(image_shape, axis))
        if isinstance(scale, Unmapped):
            return scale
        x0 = self.x0 if self.x0 is not None else _number(meta.get("#x0"), 0.0)
        y0 = self.y0 if self.y0 is not None else _number(meta.get("#y0"), 0.0)
        return SliceRef(volume, axis, index, float(x0), float(y0), scale)

    def _slice(self, meta: dict[str, Any], frame: int) -> tuple[str, str, int] | Unmapped:
        if "#slice" in meta:
            axis = str(meta.get("#axis") or self.axis).strip().lower()
            if axis not in AXES:
                return Unmapped("unmapped_subject", f"#axis {axis!r} is not z, y or x")
            index = _integer(meta["#slice"])
            if index is None:
                return Unmapped("unmapped_subject", f"#slice {meta['#slice']!r} is not a number")
            return str(meta.get("#volume") or ""), axis, index + frame
        if self.slice_key:
            value = meta.get(norm_key(self.slice_key))
            index = _integer(value)
            if index is None:
                return Unmapped("unmapped_subject", f"{self.slice_key} = {value!r}: no slice")
            return "", self.axis, index + self.slice_offset + frame
        key = self.file_key.format(frame=frame)
        name = meta.get(norm_key(key))
        if name is None:
            return Unmapped("unmapped_subject", f"no #slice and no {key!r} in the metadata")
        match = self._pattern.search(str(name))
        if match is None:
            return Unmapped("unmapped_subject", f"{key} = {name!r} does not match the pattern")
        volume = match.groupdict().get("volume") or ""
        return volume, self.axis, int(match["slice"]) + self.slice_offset

    def _scale(
        self,
        meta: dict[str, Any],
        frame: int,
        dimensions: list[dict[str, Any]],
        plane: tuple[int, int],
    ) -> float | Unmapped:
        if self.scale == "fit":
            dims = dimensions[frame] if frame < len(dimensions) else {}
            width, height = _number(dims.get("naturalWidth")), _number(dims.get("naturalHeight"))
            if not width or not height:
                return Unmapped("unmapped_subject", f"frame {frame}: no image size to fit")
            return min(plane[1] / width, plane[0] / height)
        if self.scale:
            return float(self.scale)
        for key in SCALE_KEYS:
            value = _number(meta.get(norm_key(key)))
            if value and value > 0:
                return value
        return 1.0


def _number(value: Any, default: float | None = None) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number == number and abs(number) != float("inf") else default


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def _positive(text: str) -> bool:
    value = _number(text)
    return value is not None and value > 0
