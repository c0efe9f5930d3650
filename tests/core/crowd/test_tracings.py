"""From classifications to per-slice outlines: frames, merging, coordinates, clipping."""

from __future__ import annotations

import numpy as np

from emstudio.core.crowd.aggregate import ConsensusOptions, aggregate
from emstudio.core.crowd.export import Classification
from emstudio.core.crowd.mapping import SubjectMapping
from emstudio.core.crowd.marks import Stroke
from emstudio.core.crowd.report import ImportReport
from emstudio.core.crowd.tracings import collect_tracings

SHAPE = (10, 100, 120)
SQUARE = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 20.0], [10.0, 20.0], [10.0, 10.0]])


def item(cid, who, subject, meta, strokes, dims=None) -> Classification:
    return Classification(cid, who, True, subject, meta, dims or [], strokes)


def test_coordinates_frames_and_merging() -> None:
    flipbook = {"Image 0": "roi_0003.png", "Image 1": "roi_0004.png", "Scaling factor": 2}
    crop = {"#slice": 4, "#x0": 50, "#y0": 40, "#scale": 1}
    report = ImportReport()
    tracings = collect_tracings(
        [
            item("1", "ann", "s1", flipbook, [Stroke(0, SQUARE), Stroke(1, SQUARE)]),
            item("2", "ann", "s2", crop, [Stroke(0, SQUARE[:3]), Stroke(0, SQUARE[2:])]),
            item("3", "bob", "s2", crop, [Stroke(0, SQUARE)]),
        ],
        SubjectMapping(),
        SHAPE,
        report,
    )
    assert sorted(tracings.slices) == [("z", 3), ("z", 4)]
    (on_3,) = tracings.slices[("z", 3)]
    # natural (x, y) -> plane (row, col) = (y * 2 - 0.5, x * 2 - 0.5)
    assert np.allclose(on_3.outlines[0][0], [19.5, 19.5])
    on_4 = {t.volunteer: t for t in tracings.slices[("z", 4)]}
    assert on_4["ann"].subjects == ["s1", "s2"]  # the flipbook's frame 1 and the crop
    assert len(on_4["ann"].outlines) == 2  # the split square joined; the scaled one apart
    assert np.allclose(on_4["bob"].outlines[0][0], [49.5, 59.5])  # (y0 + y, x0 + x) - 0.5
    assert tracings.volunteers == {"ann": True, "bob": True}
    assert not report.counts and report.stats["slices traced"] == 2


def test_outside_points_are_clipped_and_counted_unmapped_frames_skipped() -> None:
    meta = {"#slice": 1}
    outside = SQUARE + np.array([100.0, 0.0])  # x up to 130 in a 64 px wide subject
    dims = [{"naturalWidth": 64, "naturalHeight": 64}]
    report = ImportReport()
    tracings = collect_tracings(
        [
            item("1", "ann", "s", meta, [Stroke(0, outside)], dims),
            item("2", "bob", "s", meta, [Stroke(0, SQUARE * 10)]),  # past the plane
            item("3", "cy", "t", {"Image 0": "x.png"}, [Stroke(0, SQUARE)]),
            item("4", "dee", "s", meta, [Stroke(9, SQUARE)]),  # slice 10 of 10
        ],
        SubjectMapping(),
        SHAPE,
        report,
    )
    assert report.counts == {
        "outside_image": 2, "unmapped_subject": 1, "slice_out_of_range": 1,
    }  # fmt: skip
    bob = next(t for t in tracings.slices[("z", 1)] if t.volunteer == "bob")
    assert bob.outlines[0].max(axis=0).tolist() == [99.5, 119.5]


def test_a_volunteer_who_drew_nothing_votes_nothing_here() -> None:
    """Three of five volunteers saw no object: the consensus is an empty, labelled slice."""
    meta = {"#slice": 2}
    dims = [{"naturalWidth": 64, "naturalHeight": 64}]
    drawn = [item(str(i), f"v{i}", "s", meta, [Stroke(0, SQUARE)], dims) for i in range(2)]
    empty = [item(str(i), f"v{i}", "s", meta, [], dims) for i in range(2, 5)]
    tracings = collect_tracings(drawn + empty, SubjectMapping(), SHAPE, ImportReport())
    assert len(tracings.slices[("z", 2)]) == 5
    result = aggregate(tracings, ConsensusOptions(min_volunteers=5))
    (slice_2,) = result.labelled
    assert slice_2.volunteers == 5 and not slice_2.label.any()
    assert result.volunteers["v3"].reliability == 1.0  # agreed with the consensus
    assert result.volunteers["v0"].reliability == 0.0


def test_all_volunteers_drew_nothing_and_a_flipbook_speaks_for_its_frames() -> None:
    flipbook = {"#slice": 4}
    dims = [{"naturalWidth": 64, "naturalHeight": 64}] * 2
    tracings = collect_tracings(
        [item(str(i), f"v{i}", "s", flipbook, [], dims) for i in range(3)],
        SubjectMapping(),
        SHAPE,
        ImportReport(),
    )
    assert sorted(tracings.slices) == [("z", 4), ("z", 5)]
    result = aggregate(tracings, ConsensusOptions(min_volunteers=3, outline_nm=20.0))
    assert [r.key for r in result.labelled] == [("z", 4), ("z", 5)]
    assert all(r.label.size == 0 for r in result.labelled)
