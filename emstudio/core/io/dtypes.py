"""The stated rule that turns any source dtype into what emstudio stores (uint8/uint16/uint32).

Images (kind="image"):
- uint8 and uint16 are stored unchanged.
- bool becomes uint8: False -> 0, True -> 255.
- Every other integer or float dtype: if all values are whole numbers in 0..255 (or 0..65535)
  and none is NaN/infinite, they are stored unchanged as uint8 (or uint16), losslessly.
  Otherwise they are rescaled linearly from the volume's [min, max] (finite values) to
  0..65535 uint16, rounded to nearest; NaN and infinite values become 0; a constant volume
  becomes 0. This needs the value range from a first pass: ``scan_value_range``.
- RGB(A) uint8/uint16 become grey by ITU-R BT.601 luminance 0.299 R + 0.587 G + 0.114 B,
  rounded to nearest, in the source's bit depth; alpha is dropped. Other RGB dtypes are refused.

Labels (kind="labels", and "segmentation": object ids):
- uint8 and uint16 labels are stored unchanged; bool becomes uint8 0/1.
- Other types must hold non-negative whole numbers (floats only when all values are whole and
  finite); they are stored as the smallest of uint8/uint16/uint32 that holds the largest
  label. RGB labels, negative values and non-integral or non-finite floats are refused with an
  InputFileError that says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo, VolumeSource
from emstudio.core.io.source_base import DEFAULT_SLAB_BYTES, iter_slabs

LUMINANCE_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601
_UINT8, _UINT16, _UINT32 = np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32)


@dataclass(frozen=True)
class ValueRange:
    """Value statistics of a whole volume, from ``scan_value_range``.

    ``min``/``max`` are over finite values (0 when there is none); ``all_integral`` is True when
    every finite value is a whole number; ``has_nonfinite`` when any value is NaN or infinite.
    """

    min: float
    max: float
    all_integral: bool
    has_nonfinite: bool


def scan_value_range(
    source: VolumeSource,
    progress: Callable[[int, int], None] | None = None,
    max_bytes: int = DEFAULT_SLAB_BYTES,
) -> ValueRange:
    """Read ``source`` slab by slab and return its ValueRange.

    ``progress(done_planes, total_planes)`` is called after each slab; it may raise (e.g.
    CancelledError) to stop the scan.
    """
    info = source.info
    total = info.shape[0]
    low, high = np.inf, -np.inf
    integral, nonfinite = True, False
    for z0, z1 in iter_slabs(info, max_bytes):
        block = source.read_slab(z0, z1)
        if block.dtype.kind == "f":
            for plane in block:  # per plane: the boolean temporaries stay small
                finite = np.isfinite(plane)
                if not finite.all():
                    nonfinite = True
                if finite.any():
                    low = min(low, float(np.min(plane, where=finite, initial=np.inf)))
                    high = max(high, float(np.max(plane, where=finite, initial=-np.inf)))
                    if integral:
                        integral = bool(np.all((np.rint(plane) == plane) | ~finite))
        elif block.size:
            low, high = min(low, block.min().item()), max(high, block.max().item())
        del block  # the next slab is read only after this one is freed: peak = one slab
        if progress is not None:
            progress(z1, total)
    if low > high:  # no finite value at all
        low = high = 0
    return ValueRange(min=low, max=high, all_integral=integral, has_nonfinite=nonfinite)


@dataclass(frozen=True)
class Conversion:
    """How blocks of one source are converted; ``rule`` is the sentence shown to the user."""

    source_dtype: np.dtype
    target_dtype: np.dtype
    method: str  # "keep", "cast", "bool255", "rescale" or "luminance"
    rule: str
    lossless: bool
    low: float = 0.0  # rescale: source value mapped to 0
    high: float = 0.0  # rescale: source value mapped to 65535
    recode: tuple[tuple[int, int], ...] = ()  # (old, new) label values, after the conversion

    def with_recode(self, pairs: dict[int, int]) -> Conversion:
        """This conversion, then label values replaced (``{old: new}``); ValueError when a new
        value does not fit the stored type."""
        top = int(np.iinfo(self.target_dtype).max)
        for old, new in pairs.items():
            if not (0 <= old <= top and 0 <= new <= top):
                raise ValueError(
                    f"--recode {old}={new}: values of these {self.target_dtype} labels are 0 to "
                    f"{top}."
                )
        said = ", ".join(f"{old} -> {new}" for old, new in sorted(pairs.items()))
        rule = f"{self.rule} Values recoded: {said}.".strip()
        return replace(self, recode=tuple(sorted(pairs.items())), rule=rule, lossless=False)

    def apply(self, block: np.ndarray) -> np.ndarray:
        """Convert one slab (z, y, x) or, for "luminance", (z, y, x, c) to ``target_dtype``."""
        converted = self._convert(block)
        if not self.recode:
            return converted
        table = np.arange(int(np.iinfo(self.target_dtype).max) + 1, dtype=self.target_dtype)
        for old, new in self.recode:
            table[old] = new
        return table[converted]

    def _convert(self, block: np.ndarray) -> np.ndarray:
        if self.method == "keep":
            return np.asarray(block, dtype=self.target_dtype)
        if self.method == "cast":
            return block.astype(self.target_dtype)
        if self.method == "bool255":
            return np.where(block, np.uint8(255), np.uint8(0))
        if self.method == "rescale":
            return self._rescale(block)
        if self.method == "luminance":
            return self._luminance(block)
        raise ValueError(f"unknown conversion method {self.method!r}")

    def _rescale(self, block: np.ndarray) -> np.ndarray:
        out = np.zeros(block.shape, dtype=_UINT16)
        span = self.high - self.low
        if span <= 0:
            return out
        for z in range(block.shape[0]):  # per plane: the float64 temporaries stay small
            plane = block[z].astype(np.float64)
            finite = np.isfinite(plane)
            scaled = np.rint((plane - self.low) * (65535.0 / span))
            np.clip(scaled, 0, 65535, out=scaled)
            scaled[~finite] = 0
            out[z] = scaled
        return out

    def _luminance(self, block: np.ndarray) -> np.ndarray:
        out = np.empty(block.shape[:-1], dtype=self.target_dtype)
        top = np.iinfo(self.target_dtype).max
        r, g, b = LUMINANCE_WEIGHTS
        for z in range(block.shape[0]):
            plane = block[z].astype(np.float64)
            grey = np.rint(r * plane[..., 0] + g * plane[..., 1] + b * plane[..., 2])
            out[z] = np.clip(grey, 0, top)
        return out


IMPORT_KINDS = ("image", "labels", "segmentation")


def plan_conversion(info: SourceInfo, kind: str, stats: ValueRange | None) -> Conversion:
    """The Conversion for a source of ``kind`` "image", "labels" or "segmentation".

    ``stats`` (from ``scan_value_range``) is needed where ``needs_value_range`` says so;
    ValueError if it is needed and missing.
    InputFileError when the data cannot be stored as ``kind`` (see module docstring).
    """
    dtype = np.dtype(info.dtype)
    if kind == "image":
        return _plan_image(info, dtype, stats)
    if kind in ("labels", "segmentation"):
        return _plan_labels(info, dtype, stats)
    raise ValueError(f"kind must be one of {IMPORT_KINDS}, not {kind!r}")


def needs_value_range(info: SourceInfo, kind: str) -> bool:
    """True when ``plan_conversion`` needs ``scan_value_range`` for this source and kind."""
    dtype = np.dtype(info.dtype)
    if kind not in IMPORT_KINDS:
        raise ValueError(f"kind must be one of {IMPORT_KINDS}, not {kind!r}")
    # only integers and floats have a range worth scanning (the plan refuses complex values)
    return info.channels == 1 and dtype.kind in "iuf" and dtype not in (_UINT8, _UINT16)


def _need(stats: ValueRange | None, dtype: np.dtype, kind: str) -> ValueRange:
    if stats is None:
        raise ValueError(f"{dtype} {kind} need the value range: call scan_value_range() first")
    return stats


def _plan_image(info: SourceInfo, dtype: np.dtype, stats: ValueRange | None) -> Conversion:
    if info.channels > 1:
        colour = "RGBA" if info.channels == 4 else "RGB"
        if dtype not in (_UINT8, _UINT16):
            raise InputFileError(
                info.path,
                f"is a {colour} image with {dtype} values; only 8- or 16-bit RGB images can be "
                "converted to grey. Convert it to a grey image first",
            )
        alpha = "; the alpha channel is dropped" if info.channels == 4 else ""
        rule = (
            f"{colour} {dtype} image converted to grey by ITU-R BT.601 luminance "
            f"(0.299 R + 0.587 G + 0.114 B), rounded to the nearest integer, stored as "
            f"{dtype}{alpha}."
        )
        return Conversion(dtype, dtype, "luminance", rule, lossless=False)
    if dtype in (_UINT8, _UINT16):
        return Conversion(
            dtype, dtype, "keep", f"{dtype} image values are stored unchanged.", lossless=True
        )
    if dtype.kind == "b":
        rule = "bool image stored as uint8: False -> 0, True -> 255."
        return Conversion(dtype, _UINT8, "bool255", rule, lossless=True)
    if dtype.kind not in "iuf":
        raise InputFileError(info.path, f"holds {dtype} values, which are not image intensities")
    stats = _need(stats, dtype, "images")
    whole = stats.all_integral and not stats.has_nonfinite and stats.min >= 0
    for target, top in ((_UINT8, 255), (_UINT16, 65535)):
        if whole and stats.max <= top:
            rule = (
                f"{dtype} image values are all whole numbers in 0..{top}, so they are stored "
                f"unchanged as {target} (lossless)."
            )
            return Conversion(dtype, target, "cast", rule, lossless=True)
    low, high = float(stats.min), float(stats.max)
    why = "not all whole numbers in 0..65535"
    if stats.has_nonfinite:
        why += ", some are NaN or infinite"
    if high > low:
        rule = (
            f"{dtype} image values ({why}) are rescaled linearly from [{low:g}, {high:g}] to "
            "0..65535 and stored as uint16, rounded to the nearest integer; NaN and infinite "
            "values become 0."
        )
    else:
        rule = f"{dtype} image values ({why}) are all equal to {low:g}; stored as uint16 zeros."
    return Conversion(dtype, _UINT16, "rescale", rule, lossless=False, low=low, high=high)


def _plan_labels(info: SourceInfo, dtype: np.dtype, stats: ValueRange | None) -> Conversion:
    if info.channels > 1:
        raise InputFileError(
            info.path,
            "is an RGB image, not a label volume: labels must be one whole number per voxel "
            "(0 = background). Export the labels as a grey 8-, 16- or 32-bit integer image",
        )
    if dtype.kind == "b":
        rule = "bool labels stored as uint8: False -> 0, True -> 1."
        return Conversion(dtype, _UINT8, "cast", rule, lossless=True)
    if dtype in (_UINT8, _UINT16):  # kept as they are, like uint8/uint16 images
        rule = f"{dtype} labels are stored unchanged."
        return Conversion(dtype, dtype, "keep", rule, lossless=True)
    if dtype.kind not in "iuf":
        raise InputFileError(info.path, f"holds {dtype} values, which cannot be labels")
    stats = _need(stats, dtype, "labels")
    if stats.has_nonfinite:
        raise InputFileError(
            info.path,
            f"holds {dtype} values with NaN or infinite entries; labels must be whole numbers "
            "(0 = background). Is this a probability map? Import it as an image instead",
        )
    if not stats.all_integral:
        raise InputFileError(
            info.path,
            f"holds {dtype} values that are not whole numbers; labels must be whole numbers "
            "(0 = background). Is this a probability map? Import it as an image instead",
        )
    if stats.min < 0:
        raise InputFileError(
            info.path,
            f"holds negative values (down to {stats.min:g}); labels must be 0 (background) "
            "or positive whole numbers",
        )
    for target in (_UINT8, _UINT16, _UINT32):
        if stats.max <= np.iinfo(target).max:
            break
    else:
        raise InputFileError(
            info.path,
            f"holds label values up to {stats.max:g}, more than uint32 can store (4294967295)",
        )
    if target == dtype:
        return Conversion(dtype, dtype, "keep", f"{dtype} labels are stored unchanged.", True)
    rule = (
        f"{dtype} labels (largest {stats.max:g}) are stored as {target}, the smallest of "
        "uint8/uint16/uint32 that holds them (lossless)."
    )
    return Conversion(dtype, target, "cast", rule, lossless=True)
