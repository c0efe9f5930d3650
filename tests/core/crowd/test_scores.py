"""A crowd label set's scores as a person reads them: who was counted, and notes per volunteer."""

from __future__ import annotations

from emstudio.core.crowd.aggregate import VolunteerScore
from emstudio.core.crowd.scores import counted_volunteers, volunteer_note
from emstudio.core.crowd.sidecar import CrowdTracings
from emstudio.core.crowd.tracings import TracingSet


def test_a_volunteer_left_out_or_scored_on_one_slice_is_noted() -> None:
    left_out = VolunteerScore("ann", True, slices=4, reliability=0.3, excluded=True, first_pass=0.3)
    assert volunteer_note(left_out, 0.5) == (
        "excluded: agreement 0.300 with the first consensus, below 0.5"
    )
    assert volunteer_note(VolunteerScore("bob", True, slices=1, reliability=0.9), None) == (
        "from one slice only"
    )
    assert volunteer_note(VolunteerScore("cy", True, slices=3, reliability=0.9), None) == ""
    assert volunteer_note(VolunteerScore("dee", False), None) == ""  # nothing scored


def test_the_volunteers_counted_are_told_apart_from_the_others() -> None:
    scores = {
        "ann": VolunteerScore("ann", True, slices=4, reliability=0.8),
        "bob": VolunteerScore("bob", True, slices=2, reliability=0.2, excluded=True),
        "cy": VolunteerScore("cy", False, slices=0),  # traced only slices not labelled
    }
    tracings = TracingSet((1, 8, 8))
    data = CrowdTracings(tracings, scores)
    assert counted_volunteers(data) == "1 volunteer (1 excluded, 1 with no labelled slice)"
    both = CrowdTracings(tracings, {k: scores[k] for k in ("ann", "cy")})
    assert counted_volunteers(both) == "1 volunteer (1 with no labelled slice)"
