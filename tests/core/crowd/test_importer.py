"""Importing into a project: the label set, its sidecar, re-aggregation, expert scores, errors,
and the real Zooniverse export."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pytest
import tifffile
from crowd_rows import circle, freehand, row
from scipy import ndimage

from emstudio.core.crowd.aggregate import ConsensusOptions
from emstudio.core.crowd.importer import CrowdImportError, CrowdSource, import_crowd
from emstudio.core.crowd.mapping import SubjectMapping
from emstudio.core.crowd.scores import exclusion_reason
from emstudio.core.crowd.sidecar import read_sidecar, unpack_outline
from emstudio.core.crowd.simulate import SimulationOptions
from emstudio.core.crowd.simulate_labels import simulate_from_labels
from emstudio.core.errors import EmstudioError, InputFileError, NameConflictError, NotFoundError
from emstudio.core.project import Project
from emstudio.core.project.importer import import_files
from emstudio.core.synth.demo import add_demo_volumes
from emstudio.core.volume.store import Volume


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo project (8 x 256 x 256) and a simulated export of its nuclei: 8 volunteers, one
    adversarial (seed 0)."""
    root = tmp_path_factory.mktemp("crowd")
    with Project.create(root / "demo.emproj") as project:
        add_demo_volumes(project, shape=(8, 256, 256))
        simulate_from_labels(project, "truth-classes", root / "sim.csv",
                             SimulationOptions(volunteers=8, seed=0), slices=4)  # fmt: skip
    return root


@pytest.fixture
def project(demo, tmp_path):
    shutil.copytree(demo / "demo.emproj", tmp_path / "p.emproj")
    with Project.open(tmp_path / "p.emproj") as opened:
        yield opened


def test_label_set_with_sidecar(project, demo) -> None:
    done = import_crowd(project, CrowdSource(str(demo / "sim.csv")), image="em", name="crowd")
    record = project.catalog.volume("crowd")
    image = project.catalog.volume("em")
    assert record.kind == "labels" and record.image_id == image.id and record.shape == image.shape
    assert record.attrs["classes"] == {"0": "background", "1": "nucleus"}
    z = record.attrs["labelled_slices"]["z"]
    assert len(z) == 4 and record.attrs["labelled_slices"]["y"] == []
    crowd = record.attrs["crowd"]
    assert crowd["method"] == "mean" and crowd["min_volunteers"] == 5 and crowd["volunteers"] == 8
    assert crowd["summary"]["stats"]["classifications"] == 32 and not done.report.problems
    labels = Volume(project.resolve(record.path)).read(0, 8)
    truth = Volume(project.resolve(project.catalog.volume("truth-classes").path)).read(0, 8)
    unlabelled = [k for k in range(8) if k not in z]
    assert not labels[unlabelled].any() and set(np.unique(labels)) == {0, 1}
    for k in z:  # the consensus covers the nucleus: filled envelope of the ground truth
        nucleus = ndimage.binary_fill_holes(truth[k] == 2)
        overlap = (labels[k] > 0) & nucleus
        assert 2 * overlap.sum() / ((labels[k] > 0).sum() + nucleus.sum()) > 0.9
    sidecar = read_sidecar(project.resolve(record.path), record.attrs)
    assert sorted(k for _, k in sidecar.tracings.slices) == z
    assert len(sidecar.scores) == 8
    assert all(0 <= s.reliability <= 1 for s in sidecar.scores.values())
    key = ("z", z[0])
    first = sidecar.tracings.slices[key][0]
    assert sidecar.mask(key, first.volunteer).sum() > 1000 and first.classifications
    assert sidecar.slices[key].labelled and 0.5 < sidecar.slices[key].agreement <= 1
    path = project.resolve(record.path) / record.attrs["crowd"]["tracings"]
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()  # parsed in small steps
    assert len(lines) == 1 + len(sidecar.tracings.slices)
    assert json.loads(lines[0])["version"] == 2 and "slices" not in json.loads(lines[0])
    slices = [json.loads(x) for x in lines[1:]]
    for entry in slices:  # version 1 held the points as lists of [row, col]
        for tracing in entry["tracings"]:
            tracing["outlines"] = [unpack_outline(o).tolist() for o in tracing["outlines"]]
    version_1 = {**json.loads(lines[0]), "version": 1, "slices": slices}
    path.write_bytes(gzip.compress(json.dumps(version_1).encode()))  # as earlier ones wrote
    again = read_sidecar(project.resolve(record.path), record.attrs)
    assert (
        again.slices == sidecar.slices and again.tracings.volunteers == sidecar.tracings.volunteers
    )


def test_reaggregate_stored_tracings_without_the_worst(project, demo) -> None:
    first = import_crowd(project, CrowdSource(str(demo / "sim.csv")), image="em", name="crowd")
    worst = min(first.aggregation.volunteers.values(), key=lambda v: v.reliability)
    again = import_crowd(
        project,
        CrowdSource(tracings_from="crowd"),
        image="em",
        name="crowd-2",
        options=ConsensusOptions(method="staple", exclude=(worst.id,), min_volunteers=7),
        expert="truth-classes",
    )
    assert again.record.attrs["crowd"]["expert_class"] is None  # default: the nucleus class
    record = project.catalog.volume("crowd-2")
    assert record.attrs["crowd"]["excluded"] == [worst.id]
    assert record.attrs["crowd"]["source"] == "crowd"
    assert again.report.stats["classifications"] == 32  # carried over from the first import
    scores = again.aggregation.volunteers
    assert scores[worst.id].excluded and scores[worst.id].reliability is not None
    good = [v for v in scores.values() if not v.excluded]
    assert all(v.expert is not None and v.sensitivity is not None for v in good)
    assert max(v.expert for v in good) > 0.9


def test_min_reliability_excludes_and_outline_band(project, demo) -> None:
    done = import_crowd(
        project,
        CrowdSource(str(demo / "sim.csv")),
        image="em",
        name="envelope",
        options=ConsensusOptions(min_reliability=0.8, outline_nm=60.0),
    )
    excluded = [v for v in done.aggregation.volunteers.values() if v.excluded]
    assert len(excluded) == 1 and excluded[0].first_pass < 0.8  # the adversarial volunteer
    record = project.catalog.volume("envelope")
    stored = read_sidecar(project.resolve(record.path), record.attrs).scores[excluded[0].id]
    assert stored.first_pass == pytest.approx(excluded[0].first_pass, abs=1e-4)
    assert exclusion_reason(stored, 0.8).endswith("with the first consensus, below 0.8")
    assert record.attrs["classes"]["1"] == "nuclear_envelope"
    plane = Volume(project.resolve(record.path)).plane(0, record.attrs["labelled_slices"]["z"][0])
    filled = ndimage.binary_fill_holes(plane)
    assert 0 < plane.sum() < 0.5 * filled.sum()  # a ring, not a disc


def test_problems_raise_before_anything_is_written(project, demo, tmp_path, write_export) -> None:
    source = CrowdSource(str(demo / "sim.csv"))
    with pytest.raises(NotFoundError):
        import_crowd(project, source, image="nope", name="x")
    with pytest.raises(CrowdImportError, match="is a label set: give the image it labels"):
        import_crowd(project, source, image="truth-classes", name="x")
    with pytest.raises(NameConflictError):
        import_crowd(project, source, image="em", name="truth-classes")
    with pytest.raises(InputFileError, match="does not exist"):
        import_crowd(project, CrowdSource(str(tmp_path / "none.csv")), image="em", name="x")
    with pytest.raises(CrowdImportError, match="maps to a slice"):
        import_crowd(project, CrowdSource(str(demo / "sim.csv")), image="em", name="x",
                     mapping=SubjectMapping(volume="other"))  # fmt: skip
    with pytest.raises(CrowdImportError, match="traced by 9 or more"):
        import_crowd(project, source, image="em", name="x",
                     options=ConsensusOptions(min_volunteers=9))  # fmt: skip
    with pytest.raises(CrowdImportError, match="not a label set"):
        import_crowd(project, source, image="em", name="x", expert="em")
    few = write_export([row(1, marks=[freehand(circle(30, 30, 10))])])
    with pytest.raises(CrowdImportError, match="the most was 1"):
        import_crowd(project, CrowdSource(str(few)), image="em", name="x")
    large = json.dumps({"subject_dimensions": [{"naturalWidth": 1024, "naturalHeight": 635}]})
    wrong = write_export([row(1, metadata=large), row(2, "bob", metadata=large)])
    with pytest.raises(CrowdImportError, match=r"larger than the slices of 'em' \(256 x 256 px\)"):
        import_crowd(project, CrowdSource(str(wrong)), image="em", name="x")  # another image's
    assert not project.catalog.has_volume_name("x")


def test_real_zooniverse_export_imports(shared_data, tmp_path) -> None:
    """The cat export: subject metadata key subject_id (1..30) as the slice, images fitted."""
    folder = shared_data / "zooniverse"
    tifffile.imwrite(tmp_path / "cats.tif", np.zeros((30, 128, 160), np.uint8))
    with Project.create(tmp_path / "cats.emproj") as project:
        import_files(project, [tmp_path / "cats.tif"], name="cats")
        done = import_crowd(
            project,
            CrowdSource(
                str(folder / "cat-project-classifications.csv"),
                subjects=str(folder / "cat-project-subjects.csv"),
                workflow="28090",
            ),
            image="cats",
            name="cat-faces",
            mapping=SubjectMapping(slice_key="subject_id", slice_offset=-1, scale="fit"),
            options=ConsensusOptions(min_volunteers=2),
        )
        counts = done.report.counts
        assert counts["outside_image"] == 22  # traces past the image edge, clipped
        assert counts["repeat_classification"] == 5
        errors = ("malformed_json", "missing_field", "bad_mark", "unmapped_subject",
                  "slice_out_of_range", "non_drawing_task")  # fmt: skip
        assert not any(counts[k] for k in errors), done.report.lines()
        assert len(done.aggregation.labelled) == 30
        labels = project.catalog.volume("cat-faces")
        assert Volume(project.resolve(labels.path)).read(0, 30).any(axis=(1, 2)).all()


def test_slices_across_other_axes(project, write_export) -> None:
    """XZ subjects: plane rows are z; the label lands in the y = 100 plane of the volume."""
    meta = {"#volume": "em", "#slice": 100, "#axis": "y"}
    shown = json.dumps({"subject_dimensions": [{"naturalWidth": 256, "naturalHeight": 8}]})
    rows = [
        row(
            i,
            f"v{i}",
            marks=[freehand(circle(60 + i * 0.2, 4, 3, n=40))],
            meta=meta,
            metadata=shown,
        )
        for i in range(5)
    ]  # fmt: skip  (an x by z slice's image)
    import_crowd(project, CrowdSource(str(write_export(rows))), image="em", name="xz")
    record = project.catalog.volume("xz")
    assert record.attrs["labelled_slices"] == {"z": [], "y": [100], "x": []}
    labels = Volume(project.resolve(record.path)).read(0, 8)
    assert labels[:, 100, :].sum() == labels.sum() > 10
    z, x = np.nonzero(labels[:, 100, :])
    assert set(z) <= {1, 2, 3, 4, 5, 6} and x.min() >= 55 and x.max() <= 65


def test_classifications_of_several_workflow_versions_are_said_to_be_pooled(
    project, write_export
) -> None:
    rows = [row(i, f"v{i}", workflow_version="10.1" if i % 2 else "3.2") for i in range(5)]
    done = import_crowd(project, CrowdSource(str(write_export(rows))), image="em", name="mixed")
    said = "\n".join(done.report.lines())
    assert "2 x workflow versions pooled (keep one with --workflow-version)" in said
    assert "classifications per version: 3.2: 3, 10.1: 2" in said  # in version order
    one = [row(i, f"v{i}") for i in range(5)]
    done = import_crowd(project, CrowdSource(str(write_export(one))), image="em", name="one")
    assert "pooled" not in "\n".join(done.report.lines())


def test_an_import_that_places_nothing_says_what_kept_the_tracings_out(
    project, write_export
) -> None:
    rows = write_export([row(i, f"v{i}") for i in range(3)])
    for options, said in (
        ({"workflow": "999"}, r"No classification is of the workflow asked for \(--workflow\)"),
        ({"version": "9.9"}, r"No classification is of the workflow version asked for"),
    ):
        with pytest.raises(CrowdImportError, match=said):
            import_crowd(project, CrowdSource(str(rows), **options), image="em", name="x")
    with pytest.raises(EmstudioError, match=r"--workflow-version takes a version as 13 or 13\.19"):
        import_crowd(project, CrowdSource(str(rows), version="abc"), image="em", name="x")
    unplaced = write_export([row(i, f"v{i}", meta={"subject_id": 3}) for i in range(3)])
    with pytest.raises(CrowdImportError, match=r"No subject says which slice of 'em' it shows"):
        import_crowd(project, CrowdSource(str(unplaced)), image="em", name="x")
    assert not project.catalog.has_volume_name("x")
