"""Drawing marks out of a classification's ``annotations``: strokes of (x, y) points per frame.

Both export styles are read (see ../shared/data/zooniverse/FORMAT.md): the new front end's
freehand lines (``pathX``/``pathY``) and polygons (``points``), and the older front end's
``points`` of ``{x, y}``, with keys in any case. Combo tasks (a task whose value is a list of
tasks) are searched too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from emstudio.core.crowd.report import ImportReport


@dataclass(frozen=True)
class Stroke:
    """One continuous line drawn on a frame, in the subject image's natural pixels (x, y)."""

    frame: int
    xy: np.ndarray  # (n, 2) float: x along the width, y along the height, origin top-left


def extract_strokes(annotations: Any, report: ImportReport, where: str) -> list[Stroke]:
    """All strokes of all drawing tasks; other tasks and unreadable marks are counted."""
    strokes: list[Stroke] = []
    for task in annotations:
        value = task.get("value") if isinstance(task, dict) else None
        if not isinstance(value, list):
            report.add("non_drawing_task", f"{where}: task {_task_name(task)}")
        elif value and all(isinstance(v, dict) and "task" in v for v in value):
            strokes.extend(extract_strokes(value, report, where))  # combo task
        elif all(isinstance(v, dict) for v in value):
            for mark in value:
                stroke = _stroke(mark, report, f"{where}, task {_task_name(task)}")
                if stroke is not None:
                    strokes.append(stroke)
        else:
            report.add("non_drawing_task", f"{where}: task {_task_name(task)}")
    return strokes


def _task_name(task: Any) -> str:
    return str(task.get("task", "?")) if isinstance(task, dict) else "?"


def _stroke(mark: dict, report: ImportReport, where: str) -> Stroke | None:
    keys = {str(k).lower(): v for k, v in mark.items()}
    try:
        frame = int(keys.get("frame") or 0)
        if "pathx" in keys or "pathy" in keys:
            xs, ys = keys.get("pathx") or [], keys.get("pathy") or []
            if len(xs) != len(ys):
                raise ValueError(f"{len(xs)} x values but {len(ys)} y values")
            xy = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
        elif "points" in keys:
            xy = [_point(p) for p in keys["points"] or []]
        else:
            raise ValueError("no points (a tool without an outline)")
    except (TypeError, ValueError, KeyError) as exc:
        report.add("bad_mark", f"{where}: {exc}")
        return None
    if frame < 0 or len(xy) < 2 or not all(math.isfinite(c) for p in xy for c in p):
        report.add("bad_mark", f"{where}: {len(xy)} points on frame {frame}")
        return None
    return Stroke(frame, np.asarray(xy, dtype=np.float64))


def _point(point: Any) -> tuple[float, float]:
    if isinstance(point, dict):
        p = {str(k).lower(): v for k, v in point.items()}
        return float(p["x"]), float(p["y"])
    x, y = point
    return float(x), float(y)
