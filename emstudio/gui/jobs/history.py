"""What a job said: its events read back from the job folder (for jobs shown after the fact)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emstudio.jobs.events import EVENTS_FILE, EventReader
from emstudio.jobs.launcher import STDOUT_FILE


def job_events(job_dir: Path) -> list[dict[str, Any]]:
    """All events of a job: its stdout stream when it ran as a job process (garbage lines
    included, as log events), else the events file written by the runner."""
    for name in (STDOUT_FILE, EVENTS_FILE):
        path = Path(job_dir) / name
        if path.is_file():
            return EventReader().feed(path.read_bytes() + b"\n")
    return []


def summarise_inputs(spec: dict[str, Any]) -> str:
    """One line for the table: the files or volumes a job reads, and what it makes."""
    inputs = spec.get("inputs", {}) or {}
    parts = []
    for key, value in inputs.items():
        if not value:
            continue
        if key == "paths":
            names = [Path(str(p)).name for p in value]
            parts.append(", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else ""))
        else:
            parts.append(f"{key}: {value}")
    name = (spec.get("params", {}) or {}).get("name") or (spec.get("params", {}) or {}).get("out")
    return "; ".join(parts) + (f" → {name}" if name else "")
