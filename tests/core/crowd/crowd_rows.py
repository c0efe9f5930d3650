"""Export rows written by hand for the crowd tests (imported as ``crowd_rows``)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def circle(cx: float, cy: float, r: float, n: int = 60) -> list[dict[str, float]]:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return [{"x": round(cx + r * np.cos(a), 2), "y": round(cy + r * np.sin(a), 2)} for a in t]


def freehand(points: list[dict[str, float]], frame: int = 0) -> dict[str, Any]:
    return {
        "frame": frame,
        "pathX": [p["x"] for p in points],
        "pathY": [p["y"] for p in points],
        "details": [],
        "toolType": "freehandLine",
        "toolIndex": 0,
        "tool_label": None,
    }


def row(
    cid: int,
    user: str = "ann",
    marks: list[dict[str, Any]] | None = None,
    subject: str = "1",
    meta: dict[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """One classification row of a volunteer tracing on subject ``subject`` (slice 2 of "em")."""
    meta = {"#volume": "em", "#slice": 2} if meta is None else meta
    values = {
        "classification_id": cid,
        "user_name": user,
        "user_id": "7",
        "user_ip": "abc",
        "workflow_id": "11",
        "workflow_name": "Draw",
        "workflow_version": "3.2",
        "created_at": "2025-01-21 16:08:41 UTC",
        "gold_standard": "",
        "expert": "",
        "metadata": json.dumps({"subject_dimensions": [{"naturalWidth": 64, "naturalHeight": 64}]}),
        "annotations": json.dumps(
            [{"task": "T0", "value": [freehand(circle(30, 30, 10))] if marks is None else marks}]
        ),
        "subject_data": json.dumps({subject: {"retired": None, **meta}}),
        "subject_ids": subject,
    }
    values.update(changes)
    return values
