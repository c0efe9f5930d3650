"""Reading a Zooniverse (Panoptes) classification export, one classification at a time.

Bad rows never stop the import: each is counted in the ``ImportReport`` by kind and skipped.
A file that is missing, unreadable, or lacks the columns an import needs raises
``InputFileError``. See ../shared/data/zooniverse/FORMAT.md for the format.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emstudio.core.crowd.marks import Stroke, extract_strokes
from emstudio.core.crowd.report import ImportReport
from emstudio.core.errors import EmstudioError, InputFileError
from emstudio.core.progress import Progress, no_progress

REQUIRED_COLUMNS = ("classification_id", "user_name", "annotations", "subject_ids")
SUBJECT_COLUMNS = ("subject_id", "metadata")
JSON_COLUMNS = ("annotations", "subject_data", "metadata")


class ExportOptionError(EmstudioError):
    """An option for reading an export is malformed."""


@dataclass
class Classification:
    """One volunteer's work on one subject: the strokes and what is known of the subject."""

    id: str
    volunteer: str
    logged_in: bool
    subject_id: str
    subject: dict[str, Any]  # the subject's metadata (keys as in the export)
    dimensions: list[dict[str, Any]]  # per frame: naturalWidth, naturalHeight (may be empty)
    strokes: list[Stroke] = field(default_factory=list)
    workflow_id: str = ""
    workflow_version: str = ""


def open_csv(path: str | Path, required: tuple[str, ...]) -> tuple[Any, csv.DictReader]:
    """(file handle, DictReader) after checking the header; raises InputFileError."""
    csv.field_size_limit(2**31 - 1)  # freehand traces make very long fields
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "does not exist" if not path.exists() else "is not a file")
    _check_text(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror})") from None
    reader = csv.DictReader(handle)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        handle.close()
        raise InputFileError(path, f"is not a CSV file ({exc})") from None
    missing = [c for c in required if c not in header]
    if missing:
        handle.close()
        found = ", ".join(header[:12]) or "nothing"
        raise InputFileError(
            path,
            f"{_which_export(header, required)}: missing column(s) {', '.join(missing)} "
            f"(found: {found}).",
        )
    return handle, reader


def _check_text(path: Path) -> None:
    """Refuse a file that is not text (an image given for an export, say), before its bytes
    reach a message."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(4096)
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror})") from None
    if b"\0" in start:
        raise InputFileError(path, "is not a CSV text file: give the Zooniverse export (*.csv).")


def _which_export(header: list[str], required: tuple[str, ...]) -> str:
    """What a file with ``header`` is not: the export ``required`` describes, named as the
    other export where it is that one."""
    if required == SUBJECT_COLUMNS and "classification_id" in header:
        return (
            "is the classification export, not the subject export (give it with --classifications)"
        )
    if required != SUBJECT_COLUMNS and "subject_id" in header and "classification_id" not in header:
        return "is the subject export, not the classification export (give it with --subjects)"
    return "is not a Zooniverse export"


def read_subjects(path: str | Path) -> dict[str, dict[str, Any]]:
    """Subject id -> metadata from a subject export (rows with unreadable metadata skipped)."""
    handle, reader = open_csv(path, SUBJECT_COLUMNS)
    subjects: dict[str, dict[str, Any]] = {}
    with handle:
        for row in _rows(reader):
            try:
                meta = json.loads(row.get("metadata") or "{}")
            except ValueError:
                continue
            if isinstance(meta, dict) and row.get("subject_id"):
                subjects[str(row["subject_id"]).strip()] = meta
    return subjects


def read_classifications(
    path: str | Path,
    report: ImportReport,
    *,
    workflow: str | None = None,
    version: str | None = None,
    subjects: dict[str, dict[str, Any]] | None = None,
    progress: Progress = no_progress,
) -> Iterator[Classification]:
    """Classifications of ``workflow`` (all if None) and ``version`` ("13" or "13.19");
    ``subjects``: metadata from a subject export, for subjects the rows do not describe."""
    if version and not re.fullmatch(r"\d+(\.\d+)?", version.strip()):
        raise ExportOptionError(
            f"--workflow-version takes a version as 13 or 13.19, not {version!r}."
        )
    required = REQUIRED_COLUMNS + (("workflow_id",) if workflow else ())
    required += ("workflow_version",) if version else ()
    required += () if subjects else ("subject_data",)
    handle, reader = open_csv(path, required)
    size = max(Path(path).stat().st_size, 1)
    seen_ids: set[str] = set()
    seen_pairs: set[tuple[str, str]] = set()
    with handle:
        for number, row in enumerate(_rows(reader, report), start=2):
            report.count("rows")
            if number % 200 == 0:
                progress(min(handle.buffer.tell(), size), size, f"reading row {number}")
            parsed = _classification(row, number, report, subjects or {})
            if parsed is None:
                continue
            item, annotations = parsed
            where = f"row {number} (classification {item.id})"
            if workflow and item.workflow_id != str(workflow).strip():
                report.add("other_workflow", f"{where}: workflow {item.workflow_id}")
            elif version and not _version_matches(item.workflow_version, version):
                report.add("other_version", f"{where}: version {item.workflow_version}")
            elif item.id in seen_ids:
                report.add("duplicate_classification", where)
            elif (item.volunteer, item.subject_id) in seen_pairs:
                report.add("repeat_classification", f"{where}: {item.volunteer}")
            else:
                seen_ids.add(item.id)
                seen_pairs.add((item.volunteer, item.subject_id))
                item.strokes = extract_strokes(annotations, report, where)
                if not item.strokes:
                    report.add("no_marks", where)
                report.count("classifications")
                yield item


def _rows(reader: csv.DictReader, report: ImportReport | None = None) -> Iterator[dict]:
    """Rows of the reader; a row the csv module cannot parse is counted and skipped."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if report is not None:
                report.add("malformed_json", f"line {reader.line_num}: {exc}")


def _classification(
    row: dict, number: int, report: ImportReport, subjects: dict[str, dict[str, Any]]
) -> tuple[Classification, list] | None:
    """The row's fields and its annotation tasks; None (and counted) when it cannot be used."""
    cid = (row.get("classification_id") or "").strip()
    where = f"row {number} (classification {cid or '?'})"
    subject_ids = (row.get("subject_ids") or "").strip()
    if not cid or not subject_ids or not (row.get("annotations") or "").strip():
        empty = [c for c in ("classification_id", "subject_ids", "annotations") if not row.get(c)]
        report.add("missing_field", f"{where}: empty {', '.join(empty)}")
        return None
    if ";" in subject_ids:
        report.add("multi_subject", f"{where}: subjects {subject_ids}")
        return None
    parsed: dict[str, Any] = {}
    for column in JSON_COLUMNS:
        text = row.get(column)
        try:
            parsed[column] = json.loads(text) if text else None
        except ValueError as exc:
            report.add("malformed_json", f"{where}: {column}: {exc}")
            return None
    if not isinstance(parsed["annotations"], list):
        report.add("malformed_json", f"{where}: annotations is not a list of tasks")
        return None
    subject = dict(subjects.get(subject_ids, {}))
    data = parsed["subject_data"]
    if isinstance(data, dict) and isinstance(data.get(subject_ids), dict):
        subject.update(data[subject_ids])
    metadata = parsed["metadata"] if isinstance(parsed["metadata"], dict) else {}
    dims = metadata.get("subject_dimensions")
    dims = dims if isinstance(dims, list) else []
    user_id = (row.get("user_id") or "").strip()
    item = Classification(
        id=cid,
        volunteer=_volunteer(row, cid),
        logged_in=bool(user_id),
        subject_id=subject_ids,
        subject=subject,
        dimensions=[d if isinstance(d, dict) else {} for d in dims],
        workflow_id=(row.get("workflow_id") or "").strip(),
        workflow_version=(row.get("workflow_version") or "").strip(),
    )
    return item, parsed["annotations"]


def _volunteer(row: dict, cid: str) -> str:
    name = (row.get("user_name") or "").strip()
    if name:
        return name
    ip = (row.get("user_ip") or "").strip()
    return f"not-logged-in-{ip}" if ip else f"anonymous-{cid}"


def _version_matches(actual: str, wanted: str) -> bool:
    wanted = str(wanted).strip()
    return actual == wanted or ("." not in wanted and actual.split(".")[0] == wanted)
