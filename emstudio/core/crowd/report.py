"""What an import met on its way: bad rows and skipped slices, counted per kind, with examples."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# kind -> what it means, for a person reading the summary
ISSUE_KINDS: dict[str, str] = {
    "malformed_json": "a row or one of its JSON columns could not be read (row skipped)",
    "missing_field": "a needed value is empty (row skipped)",
    "other_workflow": "classification of another workflow (not imported)",
    "other_version": "classification of another workflow version (not imported)",
    "pooled_versions": "workflow versions pooled (keep one with --workflow-version)",
    "duplicate_classification": "classification id seen before (skipped)",
    "repeat_classification": "volunteer classified the same subject again (first one kept)",
    "multi_subject": "classification of several subjects at once (skipped)",
    "non_drawing_task": "task without drawing marks (question, survey...: ignored)",
    "bad_mark": "mark with unreadable or too few points (ignored)",
    "outside_image": "mark with points outside the image (clipped to it)",
    "subject_past_plane": "subject image larger than the slice at its scale (wrong image, or "
    "--scale?)",
    "unmapped_subject": "subject or frame maps to no slice (skipped)",
    "other_volume": "subject of another volume (skipped)",
    "slice_out_of_range": "subject maps to a slice outside the image (skipped)",
    "no_marks": 'volunteer drew nothing on the subject (counted as "nothing here")',
    "too_few_volunteers": "slice traced by fewer volunteers than the minimum (not labelled)",
}
EXAMPLES_PER_KIND = 3


@dataclass
class ImportReport:
    """Counts per issue kind, the first examples of each, and what was read and kept."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    stats: Counter = field(default_factory=Counter)

    def add(self, kind: str, example: str = "", n: int = 1) -> None:
        if kind not in ISSUE_KINDS:
            raise ValueError(f"unknown issue kind {kind!r}")
        self.counts[kind] += n
        shown = self.examples.setdefault(kind, [])
        if example and len(shown) < EXAMPLES_PER_KIND:
            shown.append(example)

    def count(self, stat: str, n: int = 1) -> None:
        self.stats[stat] += n

    @property
    def problems(self) -> int:
        """Issues that are problems of the input (not informational ones)."""
        informational = (
            "no_marks",
            "too_few_volunteers",
            "other_workflow",
            "other_version",
            "pooled_versions",
        )
        return sum(n for kind, n in self.counts.items() if kind not in informational)

    def lines(self) -> list[str]:
        """The summary as text lines: what was read, then one line per issue kind and examples."""
        out = [", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(self.stats.items()))]
        for kind in ISSUE_KINDS:
            if self.counts.get(kind):
                out.append(f"{self.counts[kind]} x {ISSUE_KINDS[kind]}")
                out.extend(f"    e.g. {e}" for e in self.examples.get(kind, []))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "examples": self.examples,
            "stats": dict(self.stats),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportReport:
        return cls(
            Counter(data.get("counts", {})),
            {k: list(v) for k, v in data.get("examples", {}).items()},
            Counter(data.get("stats", {})),
        )
