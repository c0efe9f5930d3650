"""Length units found in file metadata, converted to nanometres; voxel size from array attributes.

Accepted array attributes (HDF5 datasets and groups, plain Zarr arrays), first match wins:

- ``element_size_um``: (z, y, x) in micrometres (ilastik, Fiji's HDF5 plugin).
- ``resolution``, ``voxel_size``, ``pixel_size``, ``spacing``: (z, y, x) with the unit in a
  ``unit`` / ``units`` attribute (one string, or three strings (z, y, x)); without a unit
  attribute nanometres are assumed (CREMI convention) and a note says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from emstudio.core.io.base import VoxelSize

# factor to nanometres, with the spellings found in TIFF, OME, NGFF, HDF5 and MRC metadata
_SPELLINGS: dict[float, str] = {
    1.0: "nm nanometer nanometers nanometre nanometres",
    1e3: "um µm μm micron microns micrometer micrometers micrometre micrometres \\u00b5m",
    0.1: "å a angstrom angstroms ångström ångströms angstroem",
    1e-3: "pm picometer picometers picometre picometres",
    1e6: "mm millimeter millimeters millimetre millimetres",
    1e7: "cm centimeter centimeters centimetre centimetres",
    1e9: "m meter meters metre metres",
    2.54e7: "inch inches in",
}
_NM_PER_UNIT = {name: factor for factor, names in _SPELLINGS.items() for name in names.split()}


def nm_per_unit(unit: object) -> float | None:
    """Nanometres in one ``unit`` (e.g. "micron" -> 1000.0); None when not a known length unit."""
    if isinstance(unit, bytes):
        unit = unit.decode("utf-8", "replace")
    if not isinstance(unit, str):
        return None
    text = unit.strip().replace("\u212b", "å").replace("\u00c5", "å").lower()
    return _NM_PER_UNIT.get(text)


def to_nm(value: object, unit: object) -> float | None:
    """``value`` in ``unit`` as nanometres; None if unusable (not > 0, unknown unit)."""
    factor = nm_per_unit(unit)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if factor is None or not math.isfinite(number) or number <= 0:
        return None
    return number * factor


def voxel_size_nm(
    zyx: Sequence[float | None], origin: str, notes: list[str], what: str = "metadata"
) -> VoxelSize:
    """A known VoxelSize when all three (z, y, x) sizes in nm are given, else unknown + a note."""
    if all(v is not None for v in zyx):
        z, y, x = (float(v) for v in zyx)  # type: ignore[arg-type]
        return VoxelSize(z, y, x, known=True, origin=origin)
    found = [f"{axis} = {v:g} nm" for axis, v in zip("zyx", zyx, strict=True) if v is not None]
    if found:
        missing = ", ".join(a for a, v in zip("zyx", zyx, strict=True) if v is None)
        notes.append(
            f"The {what} gives {', '.join(found)} but no {missing} size; "
            "the voxel size is unknown until you enter it."
        )
    return VoxelSize()


def voxel_size_from_attrs(
    attrs: Mapping[str, object], origin: str, notes: list[str]
) -> VoxelSize | None:
    """Voxel size from array attributes (see module docstring); None when none is present."""
    if "element_size_um" in attrs:
        values = _three(attrs["element_size_um"])
        if values is None:
            notes.append("Ignored attribute element_size_um: it is not three numbers (z, y, x).")
            return None
        return voxel_size_nm([to_nm(v, "um") for v in values], origin, notes, "element_size_um")
    for key in ("resolution", "voxel_size", "pixel_size", "spacing"):
        if key not in attrs:
            continue
        values = _three(attrs[key])
        if values is None:
            notes.append(f"Ignored attribute {key}: it is not three numbers (z, y, x).")
            return None
        unit = attrs.get("unit", attrs.get("units"))
        if unit is None:
            notes.append(f"Attribute {key} has no unit attribute; nanometres assumed.")
            units: Sequence[object] = ("nm", "nm", "nm")
        elif isinstance(unit, str | bytes):
            units = (unit, unit, unit)
        else:
            units = list(unit) if _is_sequence(unit) else [None]  # type: ignore[call-overload]
            if len(units) != 3:
                notes.append(f"Ignored attribute {key}: its unit {unit!r} is not understood.")
                return None
        if any(nm_per_unit(u) is None for u in units):
            notes.append(f"Ignored attribute {key}: its unit {unit!r} is not a length unit.")
            return None
        sizes = [to_nm(v, u) for v, u in zip(values, units, strict=True)]
        return voxel_size_nm(sizes, origin, notes, key)
    return None


def _is_sequence(value: object) -> bool:
    return (
        hasattr(value, "__len__")
        and hasattr(value, "__getitem__")
        and not isinstance(value, str | bytes)
    )


def _three(value: object) -> list[float] | None:
    if not _is_sequence(value):
        return None
    try:
        items = [float(v) for v in value]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return items if len(items) == 3 else None
