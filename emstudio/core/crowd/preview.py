"""A quick look at how the first subjects of an export map to slices (the import dialog's table).

Reads at most ``max_rows`` rows, so it stays fast on any export.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from emstudio.core.crowd.export import read_classifications, read_subjects
from emstudio.core.crowd.mapping import SliceRef, SubjectMapping, Unmapped
from emstudio.core.crowd.report import ImportReport
from emstudio.core.crowd.tracings import traced_frames

METADATA_CHARS = 80


@dataclass
class PreviewRow:
    subject_id: str
    frame: int
    metadata: str  # the subject's metadata, shortened
    place: SliceRef | Unmapped


@dataclass
class Preview:
    rows: list[PreviewRow] = field(default_factory=list)
    workflows: Counter = field(default_factory=Counter)  # workflow id -> rows among those read
    report: ImportReport = field(default_factory=ImportReport)


def preview_mapping(
    path: str | Path,
    mapping: SubjectMapping,
    image_shape: tuple[int, int, int],
    subjects: str | Path | None = None,
    limit: int = 10,
    max_rows: int = 300,
    *,
    workflow: str | None = None,
    version: str | None = None,
) -> Preview:
    """Where the frames of the first ``limit`` subjects of ``workflow`` and ``version`` (None:
    all) go, as the import would take them. Raises InputFileError for a missing or unusable
    file, as the import would."""
    preview = Preview()
    metadata = read_subjects(subjects) if subjects else None
    seen: set[str] = set()
    rows = read_classifications(
        path, preview.report, workflow=workflow, version=version, subjects=metadata
    )
    for item in itertools.islice(rows, max_rows):
        preview.workflows[item.workflow_id] += 1
        if item.subject_id in seen or len(seen) >= limit:
            continue
        seen.add(item.subject_id)
        shown = json.dumps({k: v for k, v in item.subject.items() if k != "retired"})
        if len(shown) > METADATA_CHARS:
            shown = shown[: METADATA_CHARS - 1] + "…"
        for frame in traced_frames(item):
            place = mapping.locate(item.subject, frame, item.dimensions, image_shape)
            preview.rows.append(PreviewRow(item.subject_id, frame, shown, place))
    return preview
