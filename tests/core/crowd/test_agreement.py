"""The agreement map of a slice (share of volunteers per pixel), traced slices, score rows."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from emstudio.core.crowd.aggregate import VolunteerScore
from emstudio.core.crowd.agreement import slice_agreement, traced_slices
from emstudio.core.crowd.scores import slice_rows, volunteer_rows, write_scores_csv
from emstudio.core.crowd.sidecar import CrowdTracings, SliceInfo
from emstudio.core.crowd.tracings import Tracing, TracingSet
from emstudio.core.errors import DestinationError


def square(r0: float, c0: float, size: float) -> np.ndarray:
    """A closed square outline around the pixels r0..r0+size-1, c0..c0+size-1."""
    r1, c1 = r0 + size, c0 + size
    return np.array([[r0, c0], [r0, c1], [r1, c1], [r1, c0]], dtype=float) - 0.5


@pytest.fixture
def tracings() -> TracingSet:
    """Slice z = 3 of a (6, 40, 50) image: ann and bob trace overlapping squares, cy a far
    one; slice y = 10 (an XZ plane): ann alone."""
    result = TracingSet((6, 40, 50), volunteers={"ann": True, "bob": True, "cy": False})
    result.slices[("z", 3)] = [
        Tracing("ann", [square(10, 10, 10)]),
        Tracing("bob", [square(14, 10, 10)]),
        Tracing("cy", [square(30, 40, 5)]),
    ]
    result.slices[("y", 10)] = [Tracing("ann", [square(1, 5, 3)])]
    return result


def test_counts_and_fraction_over_the_box(tracings) -> None:
    shown = slice_agreement(tracings, ("z", 3))
    assert shown is not None and shown.volunteers == 3
    r0, r1, c0, c1 = shown.box
    assert (r0, c0) == (8, 8) and (r1, c1) == (37, 47)  # all outlines, a pixel of margin
    assert shown.at(12, 12) == 1 and shown.at(16, 15) == 2 and shown.at(32, 42) == 1
    assert shown.at(0, 0) == 0 and shown.at(25, 25) == 0
    assert shown.counts.sum() == 100 + 100 + 25  # 10x10, 10x10, 5x5 filled pixels
    assert shown.fraction.max() == pytest.approx(2 / 3)
    assert shown.as_uint8().max() == 170


def test_only_the_chosen_volunteers_count(tracings) -> None:
    shown = slice_agreement(tracings, ("z", 3), {"ann", "bob"})
    assert shown.volunteers == 2 and shown.box == (8, 26, 8, 22)
    assert shown.at(16, 15) == 2 and shown.as_uint8().max() == 255
    assert slice_agreement(tracings, ("z", 3), set()) is None
    assert slice_agreement(tracings, ("z", 4)) is None  # nobody traced it
    xz = slice_agreement(tracings, ("y", 10))
    assert xz.counts.sum() == 9 and xz.box[1] <= 6  # rows are z: within the 6 planes


def test_traced_slices(tracings) -> None:
    assert traced_slices(tracings, "ann") == [("y", 10), ("z", 3)]
    assert traced_slices(tracings, "cy") == [("z", 3)]
    assert traced_slices(tracings, "nobody") == []


def test_score_rows_worst_first_and_csv(tracings, tmp_path) -> None:
    scores = {
        "ann": VolunteerScore("ann", True, 2, 0.9, 0.8),
        "bob": VolunteerScore("bob", True, 1, 0.4, excluded=True),
        "cy": VolunteerScore("cy", False),
    }
    data = CrowdTracings(tracings, scores, {("z", 3): SliceInfo(3, True, 0.5),
                                            ("y", 10): SliceInfo(1, False, None)})  # fmt: skip
    assert [r["volunteer"] for r in volunteer_rows(data)] == ["bob", "ann", "cy"]
    assert [(r["axis"], r["index"], r["labelled"]) for r in slice_rows(data)] == [
        ("y", 10, False), ("z", 3, True)]  # fmt: skip
    out = tmp_path / "scores.csv"
    write_scores_csv(data, out)
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0] == {"volunteer": "bob", "logged_in": "True", "slices": "1",
                       "reliability": "0.4", "expert": "", "sensitivity": "",
                       "specificity": "", "excluded": "True", "first_pass": ""}  # fmt: skip
    with pytest.raises(DestinationError, match="folder does not exist"):
        write_scores_csv(data, tmp_path / "missing" / "scores.csv")
