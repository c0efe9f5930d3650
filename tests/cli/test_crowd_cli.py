"""`emstudio crowd simulate`, `crowd import` and `crowd report`, end to end on a small demo
project."""

from __future__ import annotations

import pytest

from emstudio.core.crowd.simulate import SimulationOptions, crowd
from emstudio.core.project import Project


@pytest.fixture
def demo(tmp_path, cli):
    path = tmp_path / "demo.emproj"
    assert cli("demo", path, "--shape", "8,256,256").code == 0
    return path


def test_simulate_then_import(demo, tmp_path, cli) -> None:
    export = tmp_path / "sim.csv"
    result = cli("crowd", "simulate", demo, "--labels", "truth-classes", "--out", export,
                 "--slices", -1)  # fmt: skip
    assert result.code == 2 and "trace at least one slice (--slices), not -1" in result.err
    result = cli("crowd", "simulate", demo, "--labels", "truth-classes", "--volunteers", 6,
                 "--out", export, "--slices", 3)  # fmt: skip
    assert result.code == 0, result.err
    assert "wrote 18 classifications of 3 subjects (class 2, volume 'em')" in result.out
    result = cli("crowd", "import", demo, "--classifications", export, "--image", "em",
                 "--name", "crowd-nuclei")  # fmt: skip
    assert result.code == 0, result.err
    assert "created label set 'crowd-nuclei': 3 slices labelled from 6 volunteers" in result.out
    assert "classifications: 18" in result.err  # the summary, logged by the job
    result = cli("crowd", "report", demo, "crowd-nuclei", "--csv", tmp_path / "scores.csv")
    assert result.code == 0, result.err
    assert "'crowd-nuclei': mean consensus of 6 volunteers, 3 slices labelled" in result.out
    table = result.out.split("\n\n")[1].splitlines()  # header + one row per volunteer
    assert len(table) == 7 and table[0].split()[:3] == ["volunteer", "slices", "agreement"]
    assert len((tmp_path / "scores.csv").read_text().splitlines()) == 7
    result = cli("crowd", "report", demo, "crowd-nuclei", "--csv", tmp_path / "scores.csv")
    assert result.code == 2 and "scores.csv: already exists" in result.err  # nothing printed
    assert result.out == "" and len((tmp_path / "scores.csv").read_text().splitlines()) == 7
    result = cli("crowd", "report", demo, "truth-classes")
    assert result.code == 2 and "'truth-classes' is not a crowd label set" in result.err
    volunteer = crowd(SimulationOptions(volunteers=6)).pop().name  # same seed as simulated
    result = cli("crowd", "import", demo, "--from-labels", "crowd-nuclei", "--image", "em",
                 "--name", "again", "--method", "staple", "--exclude", volunteer,
                 "--outline-nm", 50, "--min-volunteers", 4)  # fmt: skip
    assert result.code == 0, result.err
    with Project.open(demo, mode="read") as project:
        first = project.catalog.volume("crowd-nuclei")
        again = project.catalog.volume("again")
        jobs = {j.kind for j in project.catalog.jobs()}
    assert first.kind == "labels" and len(first.attrs["labelled_slices"]["z"]) == 3
    assert again.attrs["crowd"]["method"] == "staple"
    assert again.attrs["crowd"]["excluded"] == [volunteer]
    assert again.attrs["classes"]["1"] == "nuclear_envelope"
    assert {"crowd_simulate", "crowd_import"} <= jobs
    result = cli("crowd", "report", demo, "again")
    assert f"{volunteer} " in result.out and "excluded: left out by name" in result.out
    assert "staple consensus of 5 volunteers (1 excluded), 3 slices labelled" in result.out
    rerun = ("crowd", "import", demo, "--from-labels", "crowd-nuclei", "--image", "em")
    for extra, message in (
        (["--exclude", "nobody"], "no volunteer named 'nobody' traced these slices"),
        (["--min-reliability", "1.5"], "a Dice score from 0 to 1, not 1.5"),
        (["--min-reliability", "0.999"], "of 6 volunteers were left out (--exclude"),
        (["--workflow", "7", "--axis", "x"], "--workflow, --axis read(s) an export"),
        (["--include", volunteer], f"--include: '{volunteer}' not left out of 'crowd-nuclei'"),
    ):
        result = cli(*rerun, "--name", "x", *extra)
        assert result.code == 2 and message in result.err, (extra, result.err)
    result = cli(*rerun, "--name", "screened", "--min-reliability", "0.8")
    assert result.code == 0, result.err
    result = cli("crowd", "report", demo, "screened")
    assert "excluded: agreement 0." in result.out and "with the first consensus, below 0.8" in (
        result.out
    )
    kept = ("crowd", "import", demo, "--from-labels", "screened", "--image", "em", "--name")
    result = cli(*kept, "same-again")
    assert result.code == 0 and "left out as in 'screened': " in result.out, result.err
    left_out = result.out.split("left out as in 'screened': ")[1].split(" (")[0].split(", ")
    result = cli(*kept, "all-again", "--include", *left_out)
    assert result.code == 0 and "from 6 volunteers (0 excluded" in result.out, result.err
    with Project.open(demo, mode="read") as project:
        assert project.catalog.volume("same-again").attrs["crowd"]["excluded"] == left_out
    result = cli("crowd", "simulate", demo, "--labels", "truth-classes", "--out", export)
    assert result.code == 2 and "sim.csv: already exists" in result.err  # a real export, maybe
    result = cli("crowd", "simulate", demo, "--labels", "truth-mito-instances", "--out",
                 tmp_path / "objects.csv", "--slices", 2)  # fmt: skip
    assert result.code == 0 and "(class mitochondria, volume 'em')" in result.out  # all objects


def test_bad_input_exits_2_with_one_message(demo, tmp_path, cli) -> None:
    not_export = tmp_path / "other.csv"
    not_export.write_text("a,b\n1,2\n", encoding="utf-8")
    cases = [
        (["--classifications", tmp_path / "missing.csv"], "does not exist"),
        (["--classifications", not_export], "missing column(s)"),
        (["--classifications", not_export, "--image", "nope"], "No volume named 'nope'"),
        (["--classifications", not_export, "--file-pattern", "("], "file name pattern"),
        (["--classifications", not_export, "--scale", "huge"], "scale must be"),
    ]
    for extra, message in cases:
        args = ["crowd", "import", demo, "--image", "em", "--name", "x", *extra]
        result = cli(*args)
        assert result.code == 2 and message in result.err, (extra, result.err)
        assert "Traceback" not in result.err
    result = cli("crowd", "simulate", demo, "--labels", "truth-classes", "--out",
                 tmp_path / "no" / "sim.csv")  # fmt: skip
    assert result.code == 2 and "folder does not exist" in result.err
    result = cli("crowd", "simulate", demo, "--labels", "truth-classes", "--class", "golgi",
                 "--out", tmp_path / "sim.csv")  # fmt: skip
    assert result.code == 2 and "no class 'golgi'" in result.err
    result = cli("crowd", "simulate", demo, "--labels", "truth-classes", "--class", "0",
                 "--out", tmp_path / "sim.csv")  # fmt: skip
    assert result.code == 2 and "class 0 is the background" in result.err
