"""Each volunteer's outlines per slice, gathered from classifications through the mapping."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.crowd.export import Classification
from emstudio.core.crowd.mapping import SliceRef, SubjectMapping, Unmapped, plane_shape
from emstudio.core.crowd.raster import join_strokes
from emstudio.core.crowd.report import ImportReport

SliceKey = tuple[str, int]  # (axis, index): "z", 12 is the XY plane z = 12


@dataclass
class Tracing:
    """One volunteer's closed outlines on one slice, in plane pixels (row, column)."""

    volunteer: str
    outlines: list[np.ndarray]
    classifications: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)


@dataclass
class TracingSet:
    """All tracings of an import, per slice; ``volunteers``: id -> logged in."""

    image_shape: tuple[int, int, int]
    slices: dict[SliceKey, list[Tracing]] = field(default_factory=dict)
    volunteers: dict[str, bool] = field(default_factory=dict)


def collect_tracings(
    classifications: Iterable[Classification],
    mapping: SubjectMapping,
    image_shape: tuple[int, int, int],
    report: ImportReport,
) -> TracingSet:
    """Map each classification's strokes to slices, then join each volunteer's strokes on a
    slice (from all subjects showing that slice) into closed outlines. A classification with no
    strokes is a volunteer saying "nothing here": an empty tracing on each frame it showed."""
    strokes: dict[tuple[SliceKey, str], Tracing] = {}
    result = TracingSet(tuple(image_shape))
    versions: Counter = Counter()
    for item in classifications:
        versions[item.workflow_version] += 1
        where = f"classification {item.id}, subject {item.subject_id}"
        for frame in traced_frames(item):
            ref = mapping.locate(item.subject, frame, item.dimensions, image_shape)
            if isinstance(ref, Unmapped):
                report.add(ref.kind, f"{where}, frame {frame}: {ref.reason}")
                continue
            key = (ref.axis, ref.index)
            tracing = strokes.setdefault((key, item.volunteer), Tracing(item.volunteer, []))
            dims = item.dimensions[frame] if frame < len(item.dimensions) else {}
            past = _past_the_plane(ref, dims, image_shape)
            if past:
                report.add("subject_past_plane", f"{where}, frame {frame}: {past}")
            for stroke in (s for s in item.strokes if s.frame == frame):
                tracing.outlines.append(
                    _to_plane(stroke.xy, ref, dims, image_shape, report, f"{where}, frame {frame}")
                )
            tracing.classifications.append(item.id)
            tracing.subjects.append(item.subject_id)
            result.volunteers[item.volunteer] = item.logged_in
    for (key, _), tracing in sorted(strokes.items(), key=lambda kv: kv[0]):
        tracing.outlines = join_strokes(tracing.outlines)
        result.slices.setdefault(key, []).append(tracing)
    if len(versions) > 1:  # a workflow's tasks can change between versions
        counts = ", ".join(f"{v or '?'}: {versions[v]}" for v in sorted(versions, key=_version))
        report.add("pooled_versions", f"classifications per version: {counts}", len(versions))
    report.count("volunteers", len(result.volunteers))
    report.count("slices traced", len(result.slices))
    return result


def _past_the_plane(ref: SliceRef, dims: dict, image_shape: tuple[int, int, int]) -> str:
    """How a subject image placed on its slice reaches more than a pixel past the plane (the
    wrong image, or the wrong scale), or "" where it fits (or its size is not recorded)."""
    width, height = dims.get("naturalWidth"), dims.get("naturalHeight")
    if not (isinstance(width, int | float) and isinstance(height, int | float)):
        return ""
    rows, cols = plane_shape(image_shape, ref.axis)
    right, bottom = ref.x0 + width * ref.scale, ref.y0 + height * ref.scale
    if right <= cols + 1 and bottom <= rows + 1:
        return ""
    return (
        f"a {width:g} x {height:g} px image at scale {ref.scale:g} covers {right:g} x "
        f"{bottom:g} px of a {cols} x {rows} px slice"
    )


def _version(text: str) -> tuple[int, ...]:
    """ "13.19" -> (13, 19), for sorting versions as numbers."""
    return tuple(int(part) if part.isdigit() else -1 for part in text.split("."))


def traced_frames(item: Classification) -> list[int]:
    """The subject frames a classification speaks for: those with strokes, or, when the volunteer
    drew nothing, every frame the subject showed (its recorded image sizes; else frame 0)."""
    if item.strokes:
        return sorted({s.frame for s in item.strokes})
    return list(range(max(len(item.dimensions), 1)))


def _to_plane(
    xy: np.ndarray,
    ref: SliceRef,
    dims: dict,
    image_shape: tuple[int, int, int],
    report: ImportReport,
    where: str,
) -> np.ndarray:
    """Natural-pixel (x, y) -> plane (row, column) with pixel centres at integers; points are
    clipped to the plane, and a mark reaching over half a pixel past the subject image, or a
    pixel past the plane, is counted."""
    rows, cols = plane_shape(image_shape, ref.axis)
    width, height = dims.get("naturalWidth"), dims.get("naturalHeight")
    outside = bool(
        isinstance(width, int | float)
        and isinstance(height, int | float)
        and ((xy < -0.5).any() or (xy[:, 0] > width + 0.5).any() or (xy[:, 1] > height + 0.5).any())
    )
    plane = np.column_stack([ref.y0 + xy[:, 1] * ref.scale, ref.x0 + xy[:, 0] * ref.scale]) - 0.5
    low, high = np.array([-0.5, -0.5]), np.array([rows - 0.5, cols - 0.5])
    outside |= bool((plane < low - 1).any() or (plane > high + 1).any())
    if outside:
        report.add("outside_image", where)
    return np.clip(plane, low, high)
