"""Measurement tables as CSV files: the per-object rows, the per-class summary beside them.

Light on purpose (numpy and the standard library): the app reads and writes these tables
without loading the measuring code (trimesh, scikit-image).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emstudio.core.project.atomic import atomic_write_text

SUMMARY_COLUMNS = (
    "class",
    "count",
    "total_volume_um3",
    "mean_volume_um3",
    "median_volume_um3",
    "mean_surface_area_um2",
    "mean_sphericity",
    "touching_border",
)


def summarise(rows: list[dict[str, Any]], object_class: str = "object") -> list[dict[str, Any]]:
    """One row per class: counts, volumes, areas, sphericity (and mean distance if measured);
    without rows, a count of 0 for ``object_class``."""
    if not rows:
        nothing = {"class": object_class, "count": 0, "total_volume_um3": 0.0}
        return [{**dict.fromkeys(SUMMARY_COLUMNS, math.nan), **nothing, "touching_border": 0}]
    out = []
    for name in sorted({r["class"] for r in rows}):
        members = [r for r in rows if r["class"] == name]
        volumes = np.array([r["volume_um3"] for r in members])
        summary: dict[str, Any] = {
            "class": name,
            "count": len(members),
            "total_volume_um3": float(volumes.sum()),
            "mean_volume_um3": float(volumes.mean()),
            "median_volume_um3": float(np.median(volumes)),
            "mean_surface_area_um2": float(np.mean([r["surface_area_um2"] for r in members])),
            "mean_sphericity": float(np.nanmean([r["sphericity"] for r in members])),
            "touching_border": sum(bool(r["touches_border"]) for r in members),
        }
        for key in members[0]:
            if key.startswith("distance_to_"):
                values = np.array([r[key] for r in members], np.float64)
                found = values[~np.isnan(values)]
                summary[f"mean_{key}"] = float(found.mean()) if len(found) else float("nan")
                summary[f"found_{key}"] = len(found)  # the others: none within the search
        out.append(summary)
    return out


def format_value(value: Any, digits: int = 6, yes: str = "true", no: str = "false") -> str:
    """A measurement as text: floats to ``digits`` significant digits (NaN empty), booleans as
    ``yes`` / ``no``."""
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def to_csv(rows: list[dict[str, Any]], columns: Sequence[str] = ()) -> str:
    """CSV text (missing values empty, floats to 6 significant digits); ``columns``: the
    header where there are no rows."""
    buffer = io.StringIO()
    header = list(rows[0]) if rows else list(columns)
    if header:
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([format_value(v) for v in row.values()])
    return buffer.getvalue()


def summary_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-summary{path.suffix or '.csv'}")


def write_csv(
    rows: list[dict[str, Any]],
    path: Path,
    columns: Sequence[str] = (),
    object_class: str = "object",
) -> tuple[Path, Path]:
    """Write the object table and the per-class summary beside it (atomically); without rows,
    the table has the header ``columns`` and the summary a count of 0 for ``object_class``."""
    path = Path(path)
    atomic_write_text(path, to_csv(rows, columns))
    summary = summary_path(path)
    atomic_write_text(summary, to_csv(summarise(rows, object_class)))
    return path, summary


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
