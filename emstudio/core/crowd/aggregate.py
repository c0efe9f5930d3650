"""Consensus per slice and the scores that come with it (volunteer reliability, agreement)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from emstudio.core.crowd.consensus import METHODS, SIDES, consensus
from emstudio.core.crowd.mapping import PLANE_AXES, plane_shape
from emstudio.core.crowd.outline import outline_band
from emstudio.core.crowd.raster import Box, bounding_box, rasterize
from emstudio.core.crowd.reliability import dice_to, mean_pairwise_dice
from emstudio.core.crowd.tracings import SliceKey, TracingSet
from emstudio.core.errors import EmstudioError
from emstudio.core.progress import Progress, no_progress

# the expert's mask over a box of a slice, or None where the expert did not label that slice
ExpertFn = Callable[[SliceKey, Box], np.ndarray | None]


class ConsensusOptionsError(EmstudioError):
    """A consensus setting is out of range."""


@dataclass
class ConsensusOptions:
    method: str = "mean"
    min_volunteers: int = 5
    outline_nm: float | None = None  # output an outline band this wide instead of the filled mask
    outline_side: str = "centre"  # the traced line is the band's middle, or ("inside") its edge
    exclude: tuple[str, ...] = ()
    min_reliability: float | None = None  # then exclude volunteers below it and aggregate again

    def __post_init__(self) -> None:
        self.exclude = tuple(self.exclude)
        if self.method not in METHODS:
            raise ConsensusOptionsError(
                f"consensus method must be one of {', '.join(METHODS)}, not {self.method!r}."
            )
        if self.min_volunteers < 1:
            raise ConsensusOptionsError("the minimum number of volunteers must be at least 1.")
        if self.outline_nm is not None and not self.outline_nm > 0:
            raise ConsensusOptionsError("the outline width must be positive.")
        if self.outline_side not in SIDES:
            raise ConsensusOptionsError(f"the outline side must be one of {', '.join(SIDES)}.")
        if self.min_reliability is not None and not 0.0 <= self.min_reliability <= 1.0:
            raise ConsensusOptionsError(
                f"the minimum reliability is a Dice score from 0 to 1, not {self.min_reliability}."
            )


@dataclass
class SliceResult:
    key: SliceKey
    volunteers: int  # counted for the consensus (excluded ones left out)
    labelled: bool  # False: too few volunteers
    agreement: float | None = None  # mean pairwise Dice of the counted volunteers
    box: Box | None = None
    label: np.ndarray | None = None  # bool over box: what the label set gets (filled or band)


@dataclass
class VolunteerScore:
    id: str
    logged_in: bool
    slices: int = 0  # labelled slices this volunteer traced
    reliability: float | None = None  # mean Dice with the consensus
    expert: float | None = None  # mean Dice with the expert, where the expert labelled
    sensitivity: float | None = None  # STAPLE
    specificity: float | None = None
    excluded: bool = False
    first_pass: float | None = None  # with min_reliability: reliability with the first consensus
    _sums: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def add(self, name: str, value: float) -> None:
        self._sums.setdefault(name, []).append(float(value))

    def finish(self) -> None:
        means = {k: float(np.mean(v)) for k, v in self._sums.items()}
        self.slices = len(self._sums.get("reliability", []))
        self.reliability = means.get("reliability")
        self.expert = means.get("expert")
        self.sensitivity = means.get("sensitivity")
        self.specificity = means.get("specificity")


@dataclass
class Aggregation:
    slices: list[SliceResult]
    volunteers: dict[str, VolunteerScore]
    options: ConsensusOptions

    @property
    def labelled(self) -> list[SliceResult]:
        return [s for s in self.slices if s.labelled]


def aggregate(
    tracings: TracingSet,
    options: ConsensusOptions,
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
    expert: ExpertFn | None = None,
    progress: Progress = no_progress,
) -> Aggregation:
    """Consensus of every slice traced by at least ``min_volunteers`` volunteers (excluded ones
    do not count) and every volunteer's scores against it. With ``min_reliability``, volunteers
    scoring below it are excluded too and the consensus is made again without them (their
    scores are then against that consensus; ``first_pass`` keeps the first ones).
    ``voxel_size`` (nm, z, y, x) converts ``outline_nm`` into pixels of each plane."""
    unknown = sorted(set(options.exclude) - set(tracings.volunteers))
    if unknown:  # a typo would leave the volunteer in without a word
        known = ", ".join(sorted(tracings.volunteers)[:8])
        raise ConsensusOptionsError(
            f"no volunteer named {', '.join(map(repr, unknown))} traced these slices (volunteers: "
            f"{known}{', ...' if len(tracings.volunteers) > 8 else ''})."
        )
    run = partial(
        _aggregate, tracings, options, voxel_size=voxel_size, expert=expert, progress=progress
    )
    result = run(set(options.exclude))
    if options.min_reliability is None:
        return result
    low = {
        v.id
        for v in result.volunteers.values()
        if v.reliability is not None and v.reliability < options.min_reliability
    }
    final = run(set(options.exclude) | low)
    for vid, score in final.volunteers.items():  # the score the screening saw, kept beside
        score.first_pass = result.volunteers[vid].reliability
    return final


def plane_spacing(voxel_size: tuple[float, float, float], axis: str) -> tuple[float, float]:
    """(row, column) pixel size of a plane normal to ``axis``."""
    rows, cols = PLANE_AXES[axis]
    return voxel_size[rows], voxel_size[cols]


def _aggregate(
    tracings: TracingSet,
    options: ConsensusOptions,
    exclude: set[str],
    *,
    voxel_size: tuple[float, float, float],
    expert: ExpertFn | None,
    progress: Progress,
) -> Aggregation:
    scores = {
        v: VolunteerScore(v, logged_in, excluded=v in exclude)
        for v, logged_in in tracings.volunteers.items()
    }
    results = []
    keys = sorted(tracings.slices)
    for done, key in enumerate(keys):
        traced = tracings.slices[key]
        counted = np.array([t.volunteer not in exclude for t in traced])
        if counted.sum() < options.min_volunteers:
            results.append(SliceResult(key, int(counted.sum()), labelled=False))
            continue
        plane = plane_shape(tracings.image_shape, key[0])
        spacing = plane_spacing(voxel_size, key[0])
        margin = 2 + math.ceil((options.outline_nm or 0) / min(spacing))
        outlines = [o for t in traced for o in t.outlines]
        box = bounding_box(outlines, plane, margin) if outlines else (0, 0, 0, 0)
        masks = np.stack([rasterize(t.outlines, box) for t in traced])
        agreed = consensus(masks[counted], options.method)
        for tracing, value in zip(traced, dice_to(masks, agreed.mask), strict=True):
            scores[tracing.volunteer].add("reliability", value)
        if agreed.sensitivity is not None:
            for tracing, p, q in zip(
                (t for t, c in zip(traced, counted, strict=True) if c),
                agreed.sensitivity,
                agreed.specificity,
                strict=True,
            ):
                scores[tracing.volunteer].add("sensitivity", p)
                scores[tracing.volunteer].add("specificity", q)
        reference = expert(key, box) if expert is not None else None
        if reference is not None:
            for tracing, value in zip(traced, dice_to(masks, reference), strict=True):
                scores[tracing.volunteer].add("expert", value)
        label = agreed.mask
        if options.outline_nm is not None:
            label = outline_band(agreed.mask, options.outline_nm, spacing, options.outline_side)
        agreement = mean_pairwise_dice(masks[counted])
        results.append(SliceResult(key, int(counted.sum()), True, agreement, box, label))
        progress(done + 1, len(keys), f"consensus of slice {key[0]} = {key[1]}")
    for score in scores.values():
        score.finish()
    return Aggregation(results, scores, options)
