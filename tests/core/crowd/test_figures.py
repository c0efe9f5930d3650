"""The issue's figures on the small phantom with simulated volunteers, through the whole crowd
path (simulated export -> parser -> mapping -> joined strokes -> consensus). ``-s`` prints them.

Each seed simulates one crowd of 20; for the volunteers curve, a crowd of N is a random N of
them, drawn many times, so the curve compares the same tracings.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emstudio.core.crowd.aggregate import ConsensusOptions, aggregate
from emstudio.core.crowd.consensus import consensus
from emstudio.core.crowd.export import read_classifications
from emstudio.core.crowd.mapping import SubjectMapping
from emstudio.core.crowd.raster import bounding_box, rasterize
from emstudio.core.crowd.report import ImportReport
from emstudio.core.crowd.simulate import (
    SimulationOptions,
    crowd,
    export_text,
    make_subjects,
    simulate_rows,
)
from emstudio.core.crowd.tracings import TracingSet, collect_tracings
from emstudio.core.metrics.semantic import average_hausdorff
from emstudio.core.synth import NUCLEAR_ENVELOPE

SEEDS = (0, 1, 2, 3)
CROWDS = (1, 3, 5, 10, 20)
VOXEL = (40.0, 10.0, 10.0)


def simulated(phantom, tmp_path, options: SimulationOptions) -> TracingSet:
    nuclei = phantom.nuclei > 0
    subjects = make_subjects(((("z", z), nuclei[z]) for z in range(len(nuclei))), 1.0, 24)
    path = tmp_path / f"crowd-{options.seed}-{options.adversarial}.csv"
    path.write_text("".join(export_text(simulate_rows(subjects, "em", options))), "utf-8")
    report = ImportReport()
    tracings = collect_tracings(
        read_classifications(path, report), SubjectMapping(), nuclei.shape, report
    )
    assert not report.problems, report.lines()
    return tracings


def mean_ahd(tracings: TracingSet, truth: np.ndarray, **options) -> float:
    """Average Hausdorff (px) of the consensus label to ``truth``, averaged over the slices."""
    result = aggregate(tracings, ConsensusOptions(min_volunteers=1, **options), VOXEL)
    distances = []
    for s in result.labelled:
        r0, r1, c0, c1 = s.box
        label = np.zeros(truth.shape[1:], bool)
        label[r0:r1, c0:c1] = s.label
        rows, cols = np.nonzero(label | truth[s.key[1]])  # measure over the objects only
        r0, c0 = max(rows.min() - 2, 0), max(cols.min() - 2, 0)
        near = np.s_[r0 : rows.max() + 3, c0 : cols.max() + 3]
        distances.append(average_hausdorff(label[near], truth[s.key[1]][near]))
    return float(np.mean(distances))


def test_more_volunteers_trace_closer_to_the_truth(phantom, tmp_path) -> None:
    """Mean consensus of random crowds of each size (every single volunteer for 1)."""
    truth, rng = phantom.nuclei > 0, np.random.default_rng(0)
    ahd: dict[int, list[float]] = {n: [] for n in CROWDS}
    for seed in SEEDS[:2]:
        options = SimulationOptions(volunteers=max(CROWDS), seed=seed)  # 10% careless, 10% bad
        slices = crops(simulated(phantom, tmp_path, options), truth)
        everyone = [v.name for v in crowd(options)]
        for n in CROWDS:
            for chosen in subsets(n, len(everyone), rng):
                names = {everyone[i] for i in chosen}
                ahd[n].append(np.mean([
                    average_hausdorff(consensus(np.stack(kept), "mean").mask, expected)
                    for masks, expected in slices
                    if (kept := [m for v, m in masks.items() if v in names])
                ]))  # fmt: skip
    means = [float(np.mean(ahd[n])) for n in CROWDS]
    medians = [float(np.median(ahd[n])) for n in CROWDS]
    print("\nAHD (px) of the mean consensus vs volunteers, mean (median) over crowds:",
          ", ".join(f"{n}: {a:.2f} ({b:.2f})" for n, a, b in zip(CROWDS, means, medians,
                                                                strict=True)))  # fmt: skip
    assert all(a > b for a, b in itertools.pairwise(means)), means
    assert medians[-1] < medians[0] and means[-1] < 1.0


def subsets(n: int, pool: int, rng: np.random.Generator) -> list[np.ndarray]:
    if n == 1:
        return [np.array([i]) for i in range(pool)]
    if n == pool:
        return [np.arange(pool)]
    return [rng.choice(pool, n, replace=False) for _ in range(16 if n < 10 else 8)]


def crops(tracings: TracingSet, truth: np.ndarray) -> list[tuple[dict, np.ndarray]]:
    """Per slice: every volunteer's filled tracing and the truth, over the traced area."""
    out = []
    for (_, z), traced in sorted(tracings.slices.items()):
        box = bounding_box([o for t in traced for o in t.outlines], truth.shape[1:], margin=8)
        masks = {t.volunteer: rasterize(t.outlines, box) for t in traced}
        out.append((masks, truth[z, box[0] : box[1], box[2] : box[3]]))
    return out


def test_staple_is_not_worse_than_the_mean_with_a_fifth_bad(phantom, tmp_path) -> None:
    results = {"mean": [], "staple": []}
    for seed in SEEDS:
        options = SimulationOptions(volunteers=10, careless=0.0, adversarial=0.2, seed=seed)
        assert sum(v.kind == "adversarial" for v in crowd(options)) == 2
        tracings = simulated(phantom, tmp_path, options)
        for method, values in results.items():
            values.append(mean_ahd(tracings, phantom.nuclei > 0, method=method))
    mean, staple = (float(np.mean(v)) for v in results.values())
    print(f"\n10 volunteers, 2 adversarial: AHD mean {mean:.2f} px, STAPLE {staple:.2f} px")
    assert staple <= mean + 0.02


def test_nuclear_envelope_consensus_of_ten_volunteers(phantom, tmp_path) -> None:
    tracings = simulated(phantom, tmp_path, SimulationOptions(volunteers=10, seed=5))
    outline = mean_ahd(tracings, phantom.nuclei > 0)
    band = mean_ahd(
        tracings, phantom.semantic == NUCLEAR_ENVELOPE, outline_nm=70.0, outline_side="inside"
    )
    print(f"\nNE, 10 volunteers: outline AHD {outline:.2f} px, band vs NE class {band:.2f} px")
    assert outline <= 2.0
    assert band <= 2.0


@pytest.mark.parametrize("scale", [2.0])
def test_downscaled_subjects_map_back(phantom, tmp_path, scale) -> None:
    options = SimulationOptions(volunteers=5, careless=0.0, adversarial=0.0, scale=scale)
    nuclei = phantom.nuclei > 0
    subjects = make_subjects([(("z", 3), nuclei[3])], scale, 24)
    assert subjects[0].size[0] < 100  # natural pixels: half the crop
    path = tmp_path / "scaled.csv"
    path.write_text("".join(export_text(simulate_rows(subjects, "em", options))), "utf-8")
    report = ImportReport()
    tracings = collect_tracings(read_classifications(path, report), SubjectMapping(),
                                nuclei.shape, report)  # fmt: skip
    assert mean_ahd(tracings, nuclei) < 2.0
