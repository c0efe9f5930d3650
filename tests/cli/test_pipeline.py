"""The headless demo pipeline (`make run` without a display), end to end on the demo project."""

from __future__ import annotations

import pytest

from emstudio.cli import pipeline
from emstudio.cli.commands.demo import create_demo
from emstudio.core.project import Project

SHORT_TRAINING = ("--size", "small", "--epochs", "3", "--iterations", "12", "--batch", "4",
                  "--patch", "96", "--slices", "z:2,8,14,20,26")  # fmt: skip


@pytest.fixture
def demo(tmp_path):
    return create_demo(tmp_path / "demo.emproj", None, 0)


def test_every_step_runs_and_a_second_run_adds_new_results(demo, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "TRAINING", SHORT_TRAINING)  # the steps, not the accuracy
    assert pipeline.run_headless_demo(demo) == 0
    out = capsys.readouterr().out
    for step in ("5. emstudio train", "7. emstudio segment", "9. emstudio measure", "10. against"):
        assert step in out
    results = demo.parent / "demo-results"
    assert (results / "mitochondria.csv").is_file() and (
        results / "meshes" / "index.json"
    ).is_file()
    assert pipeline.run_headless_demo(demo) == 0
    assert (demo.parent / "demo-results-2" / "mitochondria.csv").is_file()
    with Project.open(demo, mode="read") as project:
        assert project.catalog.has_model_name("demo-mito-model-2")
        assert project.catalog.volume("demo-mito-objects-2").kind == "segmentation"


def test_a_failing_step_stops_the_pipeline_with_its_exit_code(demo, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "TRAINING", ("--size", "huge"))
    assert pipeline.run_headless_demo(demo) == 2
    assert "stopped: `emstudio train` exited with 2" in capsys.readouterr().out
