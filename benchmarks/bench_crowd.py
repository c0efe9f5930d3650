"""Crowd consensus figures (issue: Crowdsourced labels). Prints tables.

On the small demo phantom (8 x 256 x 256, a nucleus on every plane), simulated volunteers trace
the nuclei; each export goes through the real path (CSV -> parser -> mapping -> joined strokes):

1. Average Hausdorff distance (px) of the consensus to the true nucleus outline against the
   number of volunteers, per method: mean (median) over random crowds drawn from crowds of 20
   (10 % careless, 10 % adversarial), every single volunteer for N = 1.
2. Mean vs majority vs STAPLE with 10 volunteers of whom 20 % are adversarial, careless, or
   10 % of each.
3. The nuclear envelope with 10 volunteers: the consensus outline vs the true nucleus outline,
   and a 70 nm band inside it vs the phantom's nuclear-envelope class.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from emstudio.core.crowd.aggregate import ConsensusOptions, aggregate
from emstudio.core.crowd.consensus import METHODS, consensus
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
from emstudio.core.synth import NUCLEAR_ENVELOPE, PhantomSpec, render

CROWDS = (1, 3, 5, 10, 20)


def simulated(nuclei: np.ndarray, folder: Path, options: SimulationOptions) -> TracingSet:
    subjects = make_subjects(((("z", z), nuclei[z]) for z in range(len(nuclei))), 1.0, 24)
    path = folder / "export.csv"
    path.write_text("".join(export_text(simulate_rows(subjects, "em", options))), "utf-8")
    report = ImportReport()
    rows = read_classifications(path, report)
    return collect_tracings(rows, SubjectMapping(), nuclei.shape, report)


def crowd_curve(nuclei: np.ndarray, folder: Path, seeds: int, draws: int) -> None:
    rng = np.random.default_rng(0)
    ahd = {(m, n): [] for m in METHODS for n in CROWDS}
    for seed in range(seeds):
        options = SimulationOptions(volunteers=max(CROWDS), seed=seed)
        tracings = simulated(nuclei, folder, options)
        names = [v.name for v in crowd(options)]
        slices = []
        for (_, z), traced in sorted(tracings.slices.items()):
            box = bounding_box([o for t in traced for o in t.outlines], nuclei.shape[1:], 8)
            masks = {t.volunteer: rasterize(t.outlines, box) for t in traced}
            slices.append((masks, nuclei[z, box[0] : box[1], box[2] : box[3]]))
        for n in CROWDS:
            chosen_sets = (
                [[i] for i in range(len(names))] if n == 1
                else [range(len(names))] if n == len(names)
                else [rng.choice(len(names), n, replace=False) for _ in range(draws)]
            )  # fmt: skip
            for chosen in chosen_sets:
                members = {names[i] for i in chosen}
                for method in METHODS:
                    ahd[(method, n)].append(np.mean([
                        average_hausdorff(consensus(np.stack(kept), method).mask, truth)
                        for masks, truth in slices
                        if (kept := [m for v, m in masks.items() if v in members])
                    ]))  # fmt: skip
    print("\n1. AHD (px) to the true outline vs volunteers: mean (median) over crowds")
    print("   " + "".join(f"{n:>14}" for n in ("method", *CROWDS)))
    for method in METHODS:
        cells = [f"{np.mean(ahd[(method, n)]):.2f} ({np.median(ahd[(method, n)]):.2f})"
                 for n in CROWDS]  # fmt: skip
        print("   " + f"{method:>14}" + "".join(f"{c:>14}" for c in cells))


def slice_ahd(tracings: TracingSet, truth: np.ndarray, **options) -> float:
    result = aggregate(tracings, ConsensusOptions(min_volunteers=1, **options), (40, 10, 10))
    values = []
    for s in result.labelled:
        r0, r1, c0, c1 = s.box
        label = np.zeros(truth.shape[1:], bool)
        label[r0:r1, c0:c1] = s.label
        values.append(average_hausdorff(label, truth[s.key[1]]))
    return float(np.mean(values))


def bad_volunteers(nuclei: np.ndarray, folder: Path, seeds: int) -> None:
    print("\n2. 10 volunteers, 20 % bad: AHD (px), mean over seeds")
    print("   " + "".join(f"{h:>14}" for h in ("bad", *METHODS)))
    for label, careless, adversarial in (("adversarial", 0.0, 0.2), ("careless", 0.2, 0.0),
                                         ("10 % + 10 %", 0.1, 0.1)):  # fmt: skip
        values = {m: [] for m in METHODS}
        for seed in range(seeds):
            options = SimulationOptions(10, careless, adversarial, seed=seed)
            tracings = simulated(nuclei, folder, options)
            for method in METHODS:
                values[method].append(slice_ahd(tracings, nuclei, method=method))
        print("   " + f"{label:>14}" + "".join(f"{np.mean(v):>14.2f}" for v in values.values()))


def envelope(slab, folder: Path, seeds: int) -> None:
    nuclei = slab.nuclei > 0
    outline, band = [], []
    for seed in range(seeds):
        tracings = simulated(nuclei, folder, SimulationOptions(volunteers=10, seed=seed))
        outline.append(slice_ahd(tracings, nuclei))
        band.append(slice_ahd(tracings, slab.semantic == NUCLEAR_ENVELOPE, outline_nm=70.0,
                              outline_side="inside"))  # fmt: skip
    print("\n3. Nuclear envelope, 10 volunteers (10 % careless, 10 % adversarial), mean consensus:")
    print(f"   outline vs true nucleus outline: AHD {np.mean(outline):.2f} px "
          f"(worst seed {np.max(outline):.2f})")  # fmt: skip
    print(f"   70 nm band inside it vs the envelope class: AHD {np.mean(band):.2f} px "
          f"(worst seed {np.max(band):.2f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--draws", type=int, default=24, help="random crowds per size and seed")
    args = parser.parse_args()
    slab = render(PhantomSpec.create((8, 256, 256), seed=0))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        crowd_curve(slab.nuclei > 0, folder, args.seeds, args.draws)
        bad_volunteers(slab.nuclei > 0, folder, args.seeds)
        envelope(slab, folder, args.seeds)


if __name__ == "__main__":
    main()
