"""The crowd simulator: who the volunteers are, what they draw, and the export it writes."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from emstudio.core.crowd.classes import UnknownClassError, pick_class
from emstudio.core.crowd.export import read_classifications
from emstudio.core.crowd.report import ImportReport
from emstudio.core.crowd.simulate import (
    COLUMNS,
    SimulationError,
    SimulationOptions,
    crowd,
    export_text,
    make_subjects,
    simulate_rows,
)
from emstudio.core.crowd.volunteer import HABITS, Volunteer, trace_subject
from emstudio.core.io.base import VoxelSize
from emstudio.core.project import VolumeRecord


def test_crowds_are_nested_with_exact_fractions() -> None:
    big = crowd(SimulationOptions(volunteers=20, careless=0.1, adversarial=0.2, seed=4))
    small = crowd(SimulationOptions(volunteers=10, careless=0.1, adversarial=0.2, seed=4))
    assert big[:10] == small
    kinds = [v.kind for v in big]
    assert kinds.count("adversarial") == 4 and kinds.count("careless") == 2
    assert any(v.user_id == "" and v.name.startswith("not-logged-in-") for v in big)


@pytest.mark.parametrize("kind", sorted(HABITS))
def test_each_kind_of_volunteer_draws_closed_or_open_strokes(kind) -> None:
    t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    contour = np.column_stack([50 + 20 * np.cos(t), 40 + 15 * np.sin(t)])
    who = Volunteer("v", "", "ip", kind, 0.0, old_front_end=kind == "careless")
    rng = np.random.default_rng(1)
    marks = [m for _ in range(20) for m in trace_subject([contour], (100, 80), who, rng)]
    assert marks and all(m["frame"] == 0 for m in marks)
    for mark in marks:
        xs = mark["pathX"] if "pathX" in mark else [p["x"] for p in mark["points"]]
        assert len(xs) >= 2 and min(xs) >= 0 and max(xs) <= 100
    assert ("tool" in marks[0]) == (kind == "careless")  # the older front end's style


def test_export_has_the_standard_columns_and_reads_back(tmp_path) -> None:
    mask = np.zeros((64, 80), bool)
    mask[20:40, 30:60] = True
    subjects = make_subjects([(("z", 5), mask), (("z", 6), np.zeros_like(mask))], 2.0, 4)
    assert len(subjects) == 1 and subjects[0].size == (19, 14)  # (30 + 8) / 2, (20 + 8) / 2
    options = SimulationOptions(volunteers=3, careless=0.0, adversarial=0.0, scale=2.0)
    path = tmp_path / "sim.csv"
    path.write_text("".join(export_text(simulate_rows(subjects, "em", options))), "utf-8")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 3
    data = json.loads(rows[0]["subject_data"])[rows[0]["subject_ids"]]
    assert data | {"retired": None} == {
        "retired": None, "#volume": "em", "#slice": 5, "#axis": "z", "#x0": 26, "#y0": 16,
        "#scale": 2.0, "Image 0": "em_0005.png",
    }  # fmt: skip
    report = ImportReport()
    assert len(list(read_classifications(path, report))) == 3 and not report.problems


def test_settings_out_of_range() -> None:
    for bad in ({"volunteers": 0}, {"careless": 0.6, "adversarial": 0.5}, {"scale": 0},
                {"careless": -0.1}):  # fmt: skip
        with pytest.raises(SimulationError):
            SimulationOptions(**bad)


def labels_record(classes: dict[str, str]) -> VolumeRecord:
    return VolumeRecord("id", "truth", "labels", "", (1, 1, 1), "uint8", VoxelSize(), (1, 1, 1),
                        1, "", attrs={"classes": classes})  # fmt: skip


def test_which_class_is_traced() -> None:
    demo = labels_record({"0": "background", "1": "membrane", "2": "nuclear_envelope"})
    assert pick_class(demo, None) == 2
    assert pick_class(demo, "Membrane") == 1 and pick_class(demo, "3") == 3
    assert pick_class(labels_record({"0": "background", "4": "mito"}), None) == 4
    assert pick_class(labels_record({}), None) == 1
    with pytest.raises(UnknownClassError, match="no class 'golgi'"):
        pick_class(demo, "golgi")
