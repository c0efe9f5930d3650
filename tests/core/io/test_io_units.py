"""Length units of file metadata converted to nanometres."""

from __future__ import annotations

import pytest

from emstudio.core.io.units import nm_per_unit, to_nm, voxel_size_from_attrs


@pytest.mark.parametrize(
    ("unit", "factor"),
    [
        ("nm", 1.0),
        ("nanometer", 1.0),
        ("µm", 1e3),  # micro sign U+00B5
        ("μm", 1e3),  # Greek mu U+03BC
        ("micron", 1e3),
        ("um", 1e3),
        ("\\u00B5m", 1e3),  # ImageJ's escaped form
        ("micrometer", 1e3),
        ("Å", 0.1),
        ("\u212b", 0.1),  # Angstrom sign
        ("angstrom", 0.1),
        ("mm", 1e6),
        (b"nm", 1.0),
        ("pixel", None),
        ("", None),
        (None, None),
    ],
)
def test_nm_per_unit(unit, factor) -> None:
    assert nm_per_unit(unit) == factor


def test_to_nm_rejects_unusable_values() -> None:
    assert to_nm("0.05", "um") == pytest.approx(50)
    assert to_nm(0, "nm") is None
    assert to_nm(float("nan"), "nm") is None
    assert to_nm(5, "parsec") is None


def test_partial_attributes_give_unknown_with_note() -> None:
    notes: list[str] = []
    found = voxel_size_from_attrs({"resolution": [0, 4, 4], "unit": "nm"}, "hdf5", notes)
    assert found is not None and not found.known
    assert notes and "no z size" in notes[0]
    assert voxel_size_from_attrs({"other": 1}, "hdf5", []) is None
