"""A realistic Zooniverse classification export from ground-truth masks (``crowd simulate``).

One subject per slice: a crop around the slice's objects (optionally downscaled), with the
metadata the default mapping reads (``#volume``, ``#slice``, ``#axis``, ``#x0``, ``#y0``,
``#scale``; plus an Etch A Cell style ``Image 0`` file name). Every volunteer classifies every
subject; see ``volunteer.py`` for how they draw.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy import ndimage
from skimage.measure import find_contours

from emstudio.core.crowd.tracings import SliceKey
from emstudio.core.crowd.volunteer import Volunteer, make_volunteers, trace_subject
from emstudio.core.errors import EmstudioError

COLUMNS = (
    "classification_id", "user_name", "user_id", "user_ip", "workflow_id", "workflow_name",
    "workflow_version", "created_at", "gold_standard", "expert", "metadata", "annotations",
    "subject_data", "subject_ids",
)  # fmt: skip
WORKFLOW_ID = "1"
TASK_LABEL = "Draw around the outline of each nucleus on this slice."
MIN_OBJECT_PX = 20


class SimulationError(EmstudioError):
    """A simulation setting is out of range, or there is nothing to trace."""


@dataclass(frozen=True)
class SimulationOptions:
    volunteers: int = 10
    careless: float = 0.1  # fraction of careless volunteers
    adversarial: float = 0.1  # fraction of adversarial ones
    scale: float = 1.0  # image pixels per subject pixel (2: subjects are downscaled 2x)
    margin: int = 24  # image pixels around the objects in each subject
    seed: int = 0

    def __post_init__(self) -> None:
        if self.volunteers < 1:
            raise SimulationError("simulate at least one volunteer.")
        if min(self.careless, self.adversarial) < 0 or self.careless + self.adversarial > 1:
            raise SimulationError(
                "the careless and adversarial fractions must be >= 0 and add up to at most 1."
            )
        if not self.scale > 0 or self.margin < 0 or self.seed < 0:
            raise SimulationError("scale must be positive; margin and seed at least 0.")


@dataclass(frozen=True)
class Subject:
    id: str
    key: SliceKey
    x0: int  # crop origin in the plane (pixel corners)
    y0: int
    size: tuple[int, int]  # natural (width, height)
    contours: list[np.ndarray]  # closed outlines in natural pixels (x, y)


def make_subjects(
    planes: Iterable[tuple[SliceKey, np.ndarray]], scale: float, margin: int, first_id: int = 1
) -> list[Subject]:
    """A subject per plane that has objects: their outer outlines (holes filled)."""
    subjects = []
    for key, mask in planes:
        filled = ndimage.binary_fill_holes(mask)
        labels, n = ndimage.label(filled)
        sizes = ndimage.sum_labels(filled, labels, range(1, n + 1))
        keep = np.isin(labels, 1 + np.flatnonzero(sizes >= MIN_OBJECT_PX))
        if not keep.any():
            continue
        rows, cols = np.nonzero(keep)
        r0, c0 = max(rows.min() - margin, 0), max(cols.min() - margin, 0)
        r1 = min(rows.max() + 1 + margin, mask.shape[0])
        c1 = min(cols.max() + 1 + margin, mask.shape[1])
        contours = [
            np.column_stack([c - 1 + 0.5 - c0, r - 1 + 0.5 - r0]) / scale
            for r, c in (line.T for line in find_contours(np.pad(keep, 1).astype(float), 0.5))
        ]
        size = (math.ceil((c1 - c0) / scale), math.ceil((r1 - r0) / scale))
        subjects.append(
            Subject(str(first_id + len(subjects)), key, int(c0), int(r0), size, contours)
        )
    return subjects


def simulate_rows(
    subjects: list[Subject], volume: str, options: SimulationOptions
) -> Iterator[dict[str, Any]]:
    """Export rows: every volunteer on every subject, in a shuffled order of time."""
    rng = np.random.default_rng([options.seed, 0xC0])
    people = crowd(options, rng)
    jobs = [(s, p) for s in subjects for p in people]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for n, index in enumerate(rng.permutation(len(jobs))):
        subject, who = jobs[index]
        marks = trace_subject(subject.contours, subject.size, who, rng)
        when = start + timedelta(seconds=37 * n)
        yield _row(700000000 + n, subject, who, marks, volume, options.scale, when)


def crowd(options: SimulationOptions, rng: np.random.Generator | None = None) -> list[Volunteer]:
    """The simulated volunteers of ``options`` (the first k are the same for any number >= k)."""
    rng = rng if rng is not None else np.random.default_rng([options.seed, 0xC0])
    return make_volunteers(options.volunteers, options.careless, options.adversarial, rng)


def export_text(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The CSV text, a header line then one chunk per row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def subject_metadata(subject: Subject, volume: str, scale: float) -> dict[str, Any]:
    axis, index = subject.key
    return {
        "#volume": volume,
        "#slice": index,
        "#axis": axis,
        "#x0": subject.x0,
        "#y0": subject.y0,
        "#scale": scale,
        "Image 0": f"{volume}_{index:04d}.png",
    }


def _row(
    cid: int,
    subject: Subject,
    who: Volunteer,
    marks: list[dict[str, Any]],
    volume: str,
    scale: float,
    when: datetime,
) -> dict[str, Any]:
    width, height = subject.size
    metadata = {
        "source": "api",
        "started_at": (when - timedelta(seconds=30)).isoformat(),
        "finished_at": when.isoformat(),
        "user_language": "en",
        "subject_dimensions": [
            {"clientWidth": width * 2, "clientHeight": height * 2,
             "naturalWidth": width, "naturalHeight": height}
        ],
    }  # fmt: skip
    if not who.old_front_end:
        metadata["classifier_version"] = "2.0"
    task = {"task": "T0", "task_label": TASK_LABEL, "value": marks}
    data = {subject.id: {"retired": None, **subject_metadata(subject, volume, scale)}}
    return {
        "classification_id": cid,
        "user_name": who.name,
        "user_id": who.user_id,
        "user_ip": who.ip,
        "workflow_id": WORKFLOW_ID,
        "workflow_name": "Trace nuclei (simulated)",
        "workflow_version": "1.1",
        "created_at": when.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "gold_standard": "",
        "expert": "",
        "metadata": json.dumps(metadata),
        "annotations": json.dumps([task]),
        "subject_data": json.dumps(data),
        "subject_ids": subject.id,
    }
