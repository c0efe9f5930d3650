"""Reading classification exports: the real ones, both mark styles, and every kind of bad row."""

from __future__ import annotations

import csv
import json

import pytest
from crowd_rows import circle, freehand, row

from emstudio.core.crowd.export import read_classifications, read_subjects
from emstudio.core.crowd.marks import extract_strokes
from emstudio.core.crowd.report import ISSUE_KINDS, ImportReport
from emstudio.core.errors import InputFileError

INPUT_PROBLEMS = ("malformed_json", "missing_field", "bad_mark", "non_drawing_task")


def read(path, **kwargs):
    report = ImportReport()
    return list(read_classifications(path, report, **kwargs)), report


@pytest.mark.parametrize(
    "name", ["cat-project-classifications.csv", "cat-project-classifications-small.csv"]
)
def test_real_exports_read_without_problems(shared_data, name) -> None:
    items, report = read(shared_data / "zooniverse" / name)
    assert report.stats["rows"] == (153 if "small" not in name else 24)
    assert not any(report.counts[k] for k in INPUT_PROBLEMS), report.lines()
    strokes = [s for item in items for s in item.strokes]
    # FORMAT.md counts 165 + 19 marks in all rows; 5 rows repeat a volunteer on a subject
    assert report.counts["repeat_classification"] == (5 if "small" not in name else 1)
    assert len(strokes) == (182 if "small" not in name else 44)
    assert all(s.frame == 0 and len(s.xy) >= 2 for s in strokes)
    first = items[0]
    assert first.subject["image_name"] and first.dimensions[0]["naturalWidth"] > 0
    assert any(not i.logged_in for i in items) and any(i.logged_in for i in items)


def test_real_export_filters_by_workflow_version(shared_data) -> None:
    path = shared_data / "zooniverse" / "cat-project-classifications.csv"
    _, report = read(path, workflow="28090", version="13")
    assert report.counts["other_version"] == 6  # 4.4 (5 rows), 8.7 (1); 13.x kept
    exact, report = read(path, version="13.19")
    assert report.counts["other_version"] == 25 and len(exact) == 124


def test_real_subject_export(shared_data) -> None:
    subjects = read_subjects(shared_data / "zooniverse" / "cat-project-subjects.csv")
    assert len(subjects) == 30 and subjects["458021"]["subject_id"] == 1


def test_both_mark_styles_any_key_case_and_combo_tasks() -> None:
    old_style = {"tool": 0, "frame": 2, "points": [{"X": 1, "Y": 2}, {"x": "3", "y": 4}]}
    new_style = {"Frame": 1, "PathX": [0, 1, 2], "pathY": [5, 6, 7], "toolType": "freehandLine"}
    polygon = {"frame": 0, "points": [[1, 1], [5, 1], [5, 5]], "toolType": "polygon"}
    combo = {"task": "T9", "value": [{"task": "T1", "value": [polygon]}]}
    report = ImportReport()
    strokes = extract_strokes(
        [{"task": "T0", "value": [old_style, new_style]}, combo], report, "here"
    )
    assert [s.frame for s in strokes] == [2, 1, 0]
    assert strokes[0].xy.tolist() == [[1, 2], [3, 4]]
    assert strokes[1].xy[:, 1].tolist() == [5, 6, 7]
    assert not report.counts


def test_marks_that_cannot_be_used_are_counted() -> None:
    marks = [
        {"frame": 0, "pathX": [1, 2, 3], "pathY": [1, 2]},  # lengths differ
        {"frame": 0, "points": [{"x": 1, "y": 1}]},  # one point
        {"frame": 0, "x": 4, "y": 5},  # a point tool
        {"frame": 0, "points": [{"x": "a", "y": 1}, {"x": 2, "y": 2}]},
        {"frame": -1, "points": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]},
        {"frame": 0, "pathX": [1, float("nan")], "pathY": [1, 2]},
    ]
    tasks = [{"task": "T0", "value": marks}, {"task": "T1", "value": 2},
             {"task": "T2", "value": [1]}]  # fmt: skip
    report = ImportReport()
    assert extract_strokes(tasks, report, "here") == []
    assert report.counts == {"bad_mark": 6, "non_drawing_task": 2}


def test_every_kind_of_bad_row_is_counted_and_the_rest_imports(write_export) -> None:
    good = row(1, "ann")
    rows = [
        good,
        row(2, "bob", annotations="[{not json"),
        row(3, "cat", subject_data="{"),
        row(4, "dan", annotations=""),
        row(5, "eve", classification_id=""),
        row(1, "ann2"),  # duplicate classification id
        row(6, "ann"),  # ann again on subject 1
        row(7, "fay", subject_ids="1;2"),
        row(8, "gus", workflow_id="99"),
        row(9, "hal", annotations=json.dumps({"task": "T0"})),
        row(10, "ivy", marks=[]),
        row(11, "jon", annotations=json.dumps([{"task": "T1", "value": "yes"}])),
        row(12, "kim", metadata="nope"),
    ]
    items, report = read(write_export(rows), workflow="11")
    assert [i.id for i in items] == ["1", "10", "11"]
    assert report.counts == {
        "malformed_json": 4,
        "missing_field": 2,
        "duplicate_classification": 1,
        "repeat_classification": 1,
        "multi_subject": 1,
        "other_workflow": 1,
        "no_marks": 2,
        "non_drawing_task": 1,
    }
    assert report.stats["rows"] == 13 and report.stats["classifications"] == 3
    assert "row 3 (classification 2)" in report.examples["malformed_json"][0]
    assert set(report.counts) <= set(ISSUE_KINDS)
    assert any("malformed" not in line and "x" in line for line in report.lines())


def test_subject_metadata_from_the_subject_export(write_export, tmp_path) -> None:
    subjects = tmp_path / "subjects.csv"
    subjects.write_text(
        'subject_id,metadata\n1,"{""#slice"": 5, ""#volume"": ""em""}"\n2,{broken\n',
        encoding="utf-8",
    )
    rows = [row(1, subject_data="")]
    items, report = read(write_export(rows, columns=[c for c in rows[0] if c != "subject_data"]),
                         subjects=read_subjects(subjects))  # fmt: skip
    assert items[0].subject["#slice"] == 5 and not report.problems
    with pytest.raises(InputFileError, match="the classification export, not the subject export"):
        read_subjects(write_export(rows))  # the other export in its place


def test_unreadable_csv_rows_are_counted(write_export, monkeypatch) -> None:
    long_trace = [freehand(circle(30, 30, 10, n=400))]
    path = write_export([row(1), row(2, "bob", marks=long_trace), row(3, "cy")])
    real = csv.field_size_limit
    before = real()
    monkeypatch.setattr(csv, "field_size_limit", lambda *args: real(5000))
    try:
        items, report = read(path)
    finally:
        real(before)
    assert [i.id for i in items] == ["1", "3"]
    assert report.counts == {"malformed_json": 1}
    assert "field larger than field limit" in report.examples["malformed_json"][0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (
            "a,b\n1,2\n",
            "is not a Zooniverse export: missing column(s) classification_id, user_name",
        ),
        ("", "missing column(s)"),
        ("II*\0\x08\0\x0e", "is not a CSV text file: give the Zooniverse export"),
        ("subject_id,metadata\n1,{}\n", "is the subject export, not the classification export"),
    ],
)
def test_unusable_files_raise(tmp_path, content, message) -> None:
    path = tmp_path / "export.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read(path)
