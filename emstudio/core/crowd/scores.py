"""A crowd label set's scores as rows: per volunteer (worst agreement first) and per slice, for
the ``crowd report`` command and its CSV file."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from emstudio.core.crowd.aggregate import VolunteerScore
from emstudio.core.crowd.sidecar import SCORE_FIELDS, CrowdTracings
from emstudio.core.errors import DestinationError
from emstudio.core.project.atomic import atomic_write_bytes
from emstudio.core.text import counted as counted_text

VOLUNTEER_FIELDS = ("volunteer", "logged_in", *SCORE_FIELDS)
SLICE_FIELDS = ("axis", "index", "volunteers", "labelled", "agreement")


def ranked(data: CrowdTracings) -> list[VolunteerScore]:
    """Volunteers by agreement with the consensus, lowest first (unscored ones last)."""
    return sorted(
        data.scores.values(), key=lambda s: (s.reliability is None, s.reliability or 0.0, s.id)
    )


def exclusion_reason(score: VolunteerScore, min_reliability: float | None) -> str:
    """Why a volunteer was left out of the consensus ("" when counted)."""
    if not score.excluded:
        return ""
    first = score.first_pass
    if min_reliability is not None and first is not None and first < min_reliability:
        return f"agreement {first:.3f} with the first consensus, below {min_reliability}"
    return "left out by name"


def volunteer_note(score: VolunteerScore, min_reliability: float | None) -> str:
    """What a reader of a volunteer's scores should know ("" when nothing): why the volunteer
    was left out, or that the agreement rests on a single slice."""
    reason = exclusion_reason(score, min_reliability)
    if reason:
        return f"excluded: {reason}"
    return "from one slice only" if score.slices == 1 and score.reliability is not None else ""


def counted_volunteers(data: CrowdTracings) -> str:
    """ "15 volunteers (2 excluded, 1 with no labelled slice)": those the consensus counts,
    then those it does not."""
    scores = list(data.scores.values())
    excluded = sum(s.excluded for s in scores)
    idle = sum(1 for s in scores if not s.excluded and not s.slices)
    others = [f"{excluded} excluded"] if excluded else []
    others += [f"{idle} with no labelled slice"] if idle else []
    counted = len(scores) - excluded - idle
    return counted_text(counted, "volunteer") + (f" ({', '.join(others)})" if others else "")


def volunteer_rows(data: CrowdTracings) -> list[dict[str, Any]]:
    return [
        {"volunteer": s.id, "logged_in": s.logged_in, **{f: getattr(s, f) for f in SCORE_FIELDS}}
        for s in ranked(data)
    ]


def slice_rows(data: CrowdTracings) -> list[dict[str, Any]]:
    return [
        {"axis": axis, "index": index, "volunteers": info.volunteers,
         "labelled": info.labelled, "agreement": info.agreement}
        for (axis, index), info in sorted(data.slices.items())
    ]  # fmt: skip


def write_scores_csv(data: CrowdTracings, path: Path) -> None:
    """The volunteer rows as a CSV file (written atomically)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DestinationError(f"{path.parent}: folder does not exist.")
    text = io.StringIO()
    writer = csv.DictWriter(text, VOLUNTEER_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(volunteer_rows(data))
    atomic_write_bytes(path, text.getvalue().encode("utf-8"))
