"""Subject metadata -> slice: emstudio's keys, Etch A Cell file names, options, and failures."""

from __future__ import annotations

import pytest

from emstudio.core.crowd.mapping import MappingError, SliceRef, SubjectMapping, Unmapped

SHAPE = (40, 200, 300)
DIMS = [{"naturalWidth": 150, "naturalHeight": 100}]


def locate(meta, frame=0, dims=DIMS, **options):
    return SubjectMapping(**options).locate(meta, frame, dims, SHAPE)


def test_simulator_keys() -> None:
    meta = {"#volume": "em", "#slice": 7, "#axis": "y", "#x0": 10, "#y0": 3, "#scale": 2}
    assert locate(meta) == SliceRef("em", "y", 7, 10.0, 3.0, 2.0)
    assert locate(meta, frame=2).index == 9  # flipbook frames are the following slices


def test_etch_a_cell_file_names_in_any_key_case() -> None:
    meta = {"image 0": "ROI_1656-6756-329_0012.jpg", "IMAGE_1": "ROI_1656-6756-329_0013.jpg",
            "Scaling factor": 2}  # fmt: skip
    assert locate(meta) == SliceRef("ROI_1656-6756-329", "z", 12, 0.0, 0.0, 2.0)
    assert locate(meta, frame=1).index == 13
    assert locate(meta, frame=3) == Unmapped(
        "unmapped_subject", "no #slice and no 'Image 3' in the metadata"
    )
    assert locate(meta, slice_offset=-1).index == 11


def test_slice_key_fit_and_explicit_offsets() -> None:
    meta = {"subject_id": 5}
    ref = locate(meta, slice_key="Subject ID", slice_offset=-1, scale="fit", x0=4, y0=5)
    assert ref == SliceRef("", "z", 4, 4.0, 5.0, 2.0)  # min(300 / 150, 200 / 100)
    assert locate(meta, slice_key="subject_id", axis="x").axis == "x"
    assert locate({"subject_id": "n/a"}, slice_key="subject_id").kind == "unmapped_subject"
    assert locate(meta, slice_key="subject_id", scale="fit", dims=[]).kind == "unmapped_subject"
    assert locate(meta, slice_key="subject_id", scale="0.5").scale == 0.5


@pytest.mark.parametrize(
    ("meta", "options", "kind"),
    [
        ({"#slice": 40}, {}, "slice_out_of_range"),
        ({"#slice": -1}, {}, "slice_out_of_range"),
        ({"#slice": "x"}, {}, "unmapped_subject"),
        ({"#slice": 1, "#axis": "t"}, {}, "unmapped_subject"),
        ({"Image 0": "cat.jpg"}, {}, "unmapped_subject"),
        ({"image_name": "6672150457_420d61007d_b.jpg"}, {}, "unmapped_subject"),
        ({"#slice": 1, "#volume": "other"}, {"volume": "em"}, "other_volume"),
        ({"Image 0": "ROI_a_0001.png"}, {"volume": "ROI_b"}, "other_volume"),
    ],
)
def test_subjects_that_map_to_no_slice(meta, options, kind) -> None:
    found = locate(meta, **options)
    assert isinstance(found, Unmapped) and found.kind == kind


def test_json_round_trip_and_bad_settings() -> None:
    mapping = SubjectMapping(slice_key="k", scale="fit", x0=1.5)
    assert SubjectMapping.from_json(mapping.to_json() | {"unknown": 1}) == mapping
    for bad in ({"axis": "t"}, {"file_pattern": "("}, {"file_pattern": "no group"},
                {"scale": "-2"}, {"scale": "big"}):  # fmt: skip
        with pytest.raises(MappingError):
            SubjectMapping(**bad)
