"""How a simulated volunteer traces an outline: jitter, bias, open ends, split strokes, and
careless or adversarial habits. Coordinates are the subject image's natural pixels (x, y)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Habits:
    drift: float  # px, amplitude of the slow wander across the outline
    tremor: float  # px, fast hand jitter
    bias: float  # spread of the volunteer's constant radial bias (relative size)
    split: float  # probability of drawing an outline in several strokes
    open_end: float  # probability of not closing the outline
    polygon: float  # probability of using the polygon tool (few vertices)
    miss: float  # probability of skipping an object


HABITS = {
    "good": Habits(
        drift=1.5, tremor=0.5, bias=0.02, split=0.3, open_end=0.25, polygon=0.1, miss=0.02
    ),
    "careless": Habits(
        drift=4.0, tremor=1.0, bias=0.08, split=0.5, open_end=0.5, polygon=0.3, miss=0.15
    ),
    "adversarial": Habits(
        drift=1.0, tremor=0.5, bias=0.0, split=0.2, open_end=0.3, polygon=0.2, miss=0.0
    ),
}


@dataclass(frozen=True)
class Volunteer:
    name: str
    user_id: str  # "" when not logged in
    ip: str
    kind: str
    bias: float  # this volunteer's relative size error
    old_front_end: bool  # marks in the older export style ({tool, points})


def make_volunteers(
    n: int, careless: float, adversarial: float, rng: np.random.Generator
) -> list[Volunteer]:
    """``n`` volunteers; about 60 % logged in. The first k of a seed's crowd are the same for
    any n >= k, and any k of them hold floor(k * fraction + offset) careless and adversarial
    ones (evenly spread, exact for round numbers: 10 volunteers at 0.2 -> exactly 2)."""
    if careless < 0 or adversarial < 0 or careless + adversarial > 1:
        raise ValueError("careless and adversarial fractions must be >= 0 and sum to <= 1")
    bad, share = careless + adversarial, adversarial / max(careless + adversarial, 1e-12)
    offsets = rng.random(2)
    people: list[Volunteer] = []
    n_bad = 0
    for i in range(n):
        kind = "good"
        if _steps(i, bad, offsets[0]):
            kind = "adversarial" if _steps(n_bad, share, offsets[1]) else "careless"
            n_bad += 1
        ip = rng.bytes(10).hex()
        logged_in = rng.random() < 0.6
        people.append(
            Volunteer(
                name=f"volunteer-{i + 1:03d}" if logged_in else f"not-logged-in-{ip}",
                user_id=str(1000 + i) if logged_in else "",
                ip=ip,
                kind=kind,
                bias=float(rng.normal(0.0, HABITS[kind].bias)),
                old_front_end=bool(rng.random() < 0.2),
            )
        )
    return people


def _steps(i: int, fraction: float, offset: float) -> bool:
    """Whether item i is one of a Beatty sequence of density ``fraction``."""
    return math.floor((i + 1) * fraction + offset) > math.floor(i * fraction + offset)


def trace_subject(
    contours: list[np.ndarray],
    size: tuple[int, int],
    who: Volunteer,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """The marks one volunteer leaves on a subject (frame 0) showing ``contours`` (closed, x, y)
    in an image of ``size`` (width, height)."""
    habits = HABITS[who.kind]
    marks: list[dict[str, Any]] = []
    for contour in contours:
        if rng.random() < habits.miss:
            continue
        if who.kind == "adversarial":
            contour = _decoy(contour, size, rng)
        line = _wobble(_resample(contour), habits, who.bias, rng)
        for stroke in _strokes(line, habits, rng):
            stroke = np.clip(stroke, 0.0, size)
            marks.append(_mark(stroke, habits, who.old_front_end, rng))
    return marks


def _resample(contour: np.ndarray, step: float = 1.0) -> np.ndarray:
    """The closed contour at even steps along its length (without repeating the first point)."""
    closed = np.vstack([contour, contour[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.arange(0.0, s[-1], step)
    return np.column_stack([np.interp(t, s, closed[:, 0]), np.interp(t, s, closed[:, 1])])


def _wobble(line: np.ndarray, habits: Habits, bias: float, rng: np.random.Generator) -> np.ndarray:
    """Displace points along the normal: slow drift (a few harmonics) plus smoothed tremor, and
    scale about the centroid by the volunteer's bias."""
    n = len(line)
    centre = line.mean(axis=0)
    line = centre + (line - centre) * (1.0 + bias)
    tangent = np.roll(line, -1, axis=0) - np.roll(line, 1, axis=0)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    t = np.arange(n) / n
    offset = np.zeros(n)
    for k in range(1, 5):
        amplitude = rng.normal(0.0, habits.drift / k)
        offset += amplitude * np.sin(2 * np.pi * k * t + rng.uniform(0, 2 * np.pi))
    tremor = ndimage.gaussian_filter1d(rng.normal(0.0, 1.0, n), 2.0, mode="wrap")
    offset += habits.tremor * tremor / max(float(tremor.std()), 1e-9)
    return line + offset[:, None] * normal


def _strokes(line: np.ndarray, habits: Habits, rng: np.random.Generator) -> list[np.ndarray]:
    """Start anywhere, either way round; maybe stop short; maybe in pieces, in any order."""
    n = len(line)
    line = np.roll(line, -int(rng.integers(n)), axis=0)
    if rng.random() < 0.5:
        line = line[::-1]
    line = np.vstack([line, line[:1]])
    if rng.random() < habits.open_end:
        line = line[: n - int(rng.uniform(0.02, 0.08) * n)]
    if rng.random() >= habits.split or len(line) < 40:
        return [line]
    cuts = np.sort(rng.choice(np.arange(10, len(line) - 10), int(rng.integers(1, 3)), False))
    pieces = []
    for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True):
        a = max(0, a - int(rng.integers(-2, 4)))  # small gaps and overlaps at the joins
        piece = line[a:b]
        if len(piece) >= 2:
            pieces.append(piece[::-1] if rng.random() < 0.3 else piece)
    return [pieces[i] for i in rng.permutation(len(pieces))]


def _decoy(contour: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """What an adversarial volunteer draws instead: a blob elsewhere, or one far too big."""
    centre = contour.mean(axis=0)
    radius = np.linalg.norm(contour - centre, axis=1).mean()
    if rng.random() < 0.35:
        return centre + (contour - centre) * 1.8
    angle = np.linspace(0, 2 * np.pi, max(24, int(2 * np.pi * radius)), endpoint=False)
    where = rng.uniform([radius, radius], np.maximum(np.array(size) - radius, radius + 1))
    axes = radius * rng.uniform(0.6, 1.2, 2)
    return where + np.column_stack([axes[0] * np.cos(angle), axes[1] * np.sin(angle)])


def _mark(
    stroke: np.ndarray, habits: Habits, old_style: bool, rng: np.random.Generator
) -> dict[str, Any]:
    """A mark in the export's JSON: freehand path, or polygon vertices; new or old style."""
    polygon = rng.random() < habits.polygon
    if polygon:
        step = int(rng.integers(6, 16))
        stroke = np.vstack([stroke[::step], stroke[-1:]])
    xy = np.round(stroke, 2)
    points = [{"x": float(x), "y": float(y)} for x, y in xy]
    if old_style:
        return {"tool": int(polygon), "frame": 0, "points": points, "details": []}
    if polygon:
        return {
            "frame": 0,
            "points": points,
            "details": [],
            "toolType": "polygon",
            "toolIndex": 1,
            "tool_label": None,
        }
    return {
        "frame": 0,
        "pathX": [float(v) for v in xy[:, 0]],
        "pathY": [float(v) for v in xy[:, 1]],
        "details": [],
        "toolType": "freehandLine",
        "toolIndex": 0,
        "tool_label": None,
    }
