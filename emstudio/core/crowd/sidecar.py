"""The tracings sidecar: every volunteer's outlines per slice, with the scores, beside a label set.

Stored as gzipped JSON Lines at ``<label volume>.zarr/crowd/tracings.json.gz`` (the path,
relative to the volume folder, is in the volume's attrs under ``crowd.tracings``), so it moves
and is deleted with the label set and other NGFF readers ignore it. The first line is the
header, each further line one slice::

    {"format": "emstudio.crowd.tracings", "version": 2,
     "image_shape": [z, y, x],
     "coordinates": "...",                       # see COORDINATES
     "volunteers": [{"id", "logged_in", "slices", "reliability", "expert",
                     "sensitivity", "specificity", "excluded", "first_pass"}, ...]}
    {"axis": "z", "index": 12, "labelled": true, "volunteers": 7,
     "agreement": 0.91,                          # mean pairwise Dice (null if < 2)
     "tracings": [{"volunteer": 0,               # index into "volunteers"
                   "classifications": ["611591158"], "subjects": ["458021"],
                   "outlines": ["base64 of float32 row, col, row, col, ...", ...]}]}
    ...

Line by line, and with the points packed, a large file (thousands of tracings) is parsed in
small steps: the GUI's reader thread never holds Python's lock for seconds, as one
``json.loads`` of the whole file did (version 1: one JSON object with a "slices" list and the
points as lists of [row, col]; still read).

The GUI draws ``outlines`` directly, or fills them with ``CrowdTracings.mask``; a
re-aggregation (``crowd_import`` with ``tracings_from``) reads them instead of the export.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.crowd.aggregate import Aggregation, VolunteerScore
from emstudio.core.crowd.mapping import plane_shape
from emstudio.core.crowd.raster import rasterize
from emstudio.core.crowd.tracings import SliceKey, Tracing, TracingSet
from emstudio.core.errors import EmstudioError, InputFileError
from emstudio.core.project.atomic import atomic_write_bytes
from emstudio.core.project.project import Project
from emstudio.core.project.records import VolumeRecord

FORMAT = "emstudio.crowd.tracings"
VERSION = 2
SIDECAR_PATH = "crowd/tracings.json.gz"
COORDINATES = (
    "plane pixels [row, column], pixel centres at integers; the plane of slice (axis, index) "
    "has rows and columns z -> (y, x), y -> (z, x), x -> (z, y)"
)
SCORE_FIELDS = (
    "slices",
    "reliability",
    "expert",
    "sensitivity",
    "specificity",
    "excluded",
    "first_pass",
)


class NotCrowdLabelsError(EmstudioError):
    """The label set asked for was not made by a crowd import."""


@dataclass
class SliceInfo:
    volunteers: int
    labelled: bool
    agreement: float | None


@dataclass
class CrowdTracings:
    """A label set's sidecar, read back."""

    tracings: TracingSet
    scores: dict[str, VolunteerScore]
    slices: dict[SliceKey, SliceInfo] = field(default_factory=dict)

    def mask(self, key: SliceKey, volunteer: str) -> np.ndarray:
        """One volunteer's filled outlines on a slice, over the whole plane (bool)."""
        rows, cols = plane_shape(self.tracings.image_shape, key[0])
        loops = [o for t in self.tracings.slices.get(key, []) if t.volunteer == volunteer
                 for o in t.outlines]  # fmt: skip
        return rasterize(loops, (0, rows, 0, cols))


def sidecar_json(tracings: TracingSet, aggregation: Aggregation) -> dict[str, Any]:
    ids = sorted(tracings.volunteers)
    index = {v: i for i, v in enumerate(ids)}
    volunteers = []
    for v in ids:
        score = aggregation.volunteers[v]
        entry = {"id": v, "logged_in": score.logged_in}
        entry.update({f: _round(getattr(score, f)) for f in SCORE_FIELDS})
        volunteers.append(entry)
    results = {s.key: s for s in aggregation.slices}
    slices = []
    for key in sorted(tracings.slices):
        result = results[key]
        slices.append({
            "axis": key[0],
            "index": key[1],
            "labelled": result.labelled,
            "volunteers": result.volunteers,
            "agreement": _round(result.agreement),
            "tracings": [
                {
                    "volunteer": index[t.volunteer],
                    "classifications": t.classifications,
                    "subjects": t.subjects,
                    "outlines": [pack_outline(o) for o in t.outlines],
                }
                for t in tracings.slices[key]
            ],
        })  # fmt: skip
    return {
        "format": FORMAT,
        "version": VERSION,
        "image_shape": list(tracings.image_shape),
        "coordinates": COORDINATES,
        "volunteers": volunteers,
        "slices": slices,
    }


def write_sidecar(volume_dir: Path, data: dict[str, Any]) -> None:
    """``data`` (``sidecar_json``) as the header line, then one line per slice."""
    path = Path(volume_dir) / SIDECAR_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {k: v for k, v in data.items() if k != "slices"}
    lines = [json.dumps(header), *(json.dumps(s) for s in data["slices"])]
    atomic_write_bytes(path, gzip.compress("\n".join(lines).encode("utf-8"), mtime=0))


def read_sidecar(volume_dir: Path, attrs: dict[str, Any]) -> CrowdTracings:
    """The sidecar of a crowd label set (``attrs``: the volume's catalog attrs)."""
    relative = (attrs.get("crowd") or {}).get("tracings")
    if not relative:
        raise InputFileError(volume_dir, "is not a crowd label set (no tracings recorded).")
    path = Path(volume_dir) / relative
    try:
        first, _, rest = gzip.decompress(path.read_bytes()).decode("utf-8").partition("\n")
        data = json.loads(first)
        if "slices" not in data:  # version 2: the slices follow, one per line
            data["slices"] = [json.loads(line) for line in rest.splitlines() if line]
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"cannot be read ({exc})") from None
    if data.get("format") != FORMAT or int(data.get("version", 0)) > VERSION:
        raise InputFileError(path, "is not a tracings file this emstudio can read.")
    return _from_json(data)


def is_crowd_label_set(record: VolumeRecord) -> bool:
    """Whether a crowd import made the volume (its tracings are stored with it)."""
    return bool((record.attrs.get("crowd") or {}).get("tracings"))


def label_set_tracings(project: Project, name: str) -> tuple[VolumeRecord, CrowdTracings]:
    """The catalog record of crowd label set ``name`` and its sidecar, read back."""
    record = project.catalog.volume(name)
    if not is_crowd_label_set(record):
        raise NotCrowdLabelsError(f"{name!r} is not a crowd label set: make one with crowd import.")
    return record, read_sidecar(project.resolve(record.path), record.attrs)


def _from_json(data: dict[str, Any]) -> CrowdTracings:
    ids = [v["id"] for v in data["volunteers"]]
    tracings = TracingSet(
        tuple(data["image_shape"]), volunteers={v["id"]: v["logged_in"] for v in data["volunteers"]}
    )
    scores = {
        v["id"]: VolunteerScore(v["id"], v["logged_in"], **{f: v.get(f) for f in SCORE_FIELDS})
        for v in data["volunteers"]
    }
    result = CrowdTracings(tracings, scores)
    for entry in data["slices"]:
        key = (entry["axis"], int(entry["index"]))
        tracings.slices[key] = [
            Tracing(
                ids[t["volunteer"]],
                [unpack_outline(o) for o in t["outlines"]],
                list(t.get("classifications", [])),
                list(t.get("subjects", [])),
            )
            for t in entry["tracings"]
        ]
        result.slices[key] = SliceInfo(entry["volunteers"], entry["labelled"], entry["agreement"])
    return result


def pack_outline(outline: np.ndarray) -> str:
    """An outline's (row, column) points as base64 of little-endian float32 pairs."""
    points = np.asarray(outline, dtype="<f4").reshape(-1)
    return base64.b64encode(points.tobytes()).decode("ascii")


def unpack_outline(outline: str | list) -> np.ndarray:
    """(n, 2) float64 points of a packed outline (version 1 files: a JSON list of pairs)."""
    if isinstance(outline, str):
        points = np.frombuffer(base64.b64decode(outline), dtype="<f4")
        return points.astype(np.float64).reshape(-1, 2)
    return np.asarray(outline, dtype=np.float64).reshape(-1, 2)


def _round(value: Any) -> Any:
    return round(float(value), 4) if isinstance(value, float | np.floating) else value
