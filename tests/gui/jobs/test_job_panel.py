"""The job panel with real job processes: progress, log, metrics, cancel, re-run, results."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import tifffile

from emstudio.core.project import Project
from emstudio.gui.jobs.manager import JobManager
from emstudio.gui.jobs.panel import JobPanel, outputs_line
from emstudio.gui.jobs.plot import metric_title
from emstudio.jobs.spec import JobSpec


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        yield project


@pytest.fixture
def make_panel(qtbot):
    made = []

    def make(project, command_for=None):
        manager = JobManager(project, command_for=command_for)
        panel = JobPanel(manager)
        qtbot.addWidget(panel)
        panel.show()
        made.append(manager)
        return manager, panel

    yield make
    for manager in made:
        manager.shutdown(keep_running=False)


def import_spec(project, tmp_path, shape=(6, 64, 64), name="raw"):
    path = tmp_path / f"{name}.tif"
    tifffile.imwrite(path, np.zeros(shape, np.uint8), photometric="minisblack")
    return JobSpec(
        kind="import",
        project=str(project.path),
        inputs={"paths": [str(path)]},
        params={"name": name, "kind": "image", "voxel_size_nm": None},
    )


def status_of(panel, job_id):
    row = next(r for r, j in enumerate(panel._jobs) if j.id == job_id)
    return panel.table.item(row, 3).text()


def test_a_job_runs_and_its_result_opens(qtbot, tmp_path, project, make_panel):
    manager, panel = make_panel(project)
    job_id = manager.submit(import_spec(project, tmp_path))
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "done", timeout=60_000)
    panel.select(job_id)
    assert panel.progress.value() == 100
    assert "no voxel size" in panel.log.toPlainText()
    assert panel.table.item(0, 6).text() == "cpu"
    with qtbot.waitSignal(panel.open_result) as opened:
        panel.result_button.click()
    assert opened.args[0]["volume"] == "raw"
    assert not panel.cancel_button.isEnabled() and panel.rerun_button.isEnabled()


def test_rerun_makes_a_new_job_with_the_same_parameters(qtbot, tmp_path, project, make_panel):
    manager, panel = make_panel(project)
    first = manager.submit(import_spec(project, tmp_path))
    qtbot.waitUntil(lambda: status_of(panel, first) == "done", timeout=60_000)
    panel.select(first)
    panel.rerun_button.click()
    second = panel._selected
    assert second != first
    qtbot.waitUntil(lambda: status_of(panel, second) == "failed", timeout=60_000)
    assert "already exists" in project.catalog.job(second).message  # same --name again
    assert project.catalog.job(second).spec["params"] == project.catalog.job(first).spec["params"]


def test_metrics_are_plotted_live(qtbot, project, make_panel):
    lines = [
        json.dumps({"event": "metric", "name": n, "step": s, "value": v})
        for s, (n, v) in enumerate([("loss", 1.0), ("val_dice", 0.4), ("loss", 0.5)])
    ]
    code = "import time\n" + "".join(f"print({line!r}, flush=True)\n" for line in lines)
    code += "time.sleep(1)\n"
    manager, panel = make_panel(project, command_for=lambda spec: [sys.executable, "-c", code])
    job_id = manager.submit(JobSpec(kind="train", project=str(project.path)))
    panel.select(job_id)
    assert not panel.plot.isVisibleTo(panel)  # no metric yet: no empty axes
    qtbot.waitUntil(lambda: set(panel.plot.names()) == {"loss", "val_dice"}, timeout=30_000)
    assert panel.plot.isVisibleTo(panel)
    log_width, plot_width = panel.details.sizes()
    assert plot_width > 100 and abs(log_width - plot_width) <= 1  # half each, not squeezed
    legend = panel.plot.getPlotItem().legend
    assert [label.text for _, label in legend.items] == ["loss", "validation Dice (mean)"]
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "failed", timeout=30_000)
    assert "without reporting a result" in panel.log.toPlainText()


def test_cancel_from_the_panel(qtbot, tmp_path, project, make_panel):
    manager, panel = make_panel(
        project,
        command_for=lambda spec: [
            sys.executable,
            "-c",
            "import time; print('garbage', flush=True); time.sleep(60)",
        ],
    )
    job_id = manager.submit(JobSpec(kind="import", project=str(project.path)))
    panel.select(job_id)
    qtbot.waitUntil(lambda: "garbage" in panel.log.toPlainText(), timeout=30_000)
    assert panel.cancel_button.isEnabled()
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: status_of(panel, job_id) == "cancelled", timeout=10_000)
    assert manager.active() == []


def test_closing_without_jobs_needs_no_question(project, make_panel):
    manager, _ = make_panel(project)
    assert manager.confirm_close(None)


def test_a_new_job_is_selected_so_its_progress_shows(qtbot, project, make_panel):
    """After Train/Predict/... the panel shows the job just started, not an older one."""
    manager, panel = make_panel(
        project, command_for=lambda spec: [sys.executable, "-c", "import time; time.sleep(30)"]
    )
    first = manager.submit(JobSpec(kind="import", project=str(project.path)))
    panel.select(first)
    manager.cancel(first)
    qtbot.waitUntil(lambda: status_of(panel, first) == "cancelled", timeout=10_000)
    assert panel._selected == first
    second = manager.submit(JobSpec(kind="train", project=str(project.path)))
    assert panel._selected == second
    assert panel.table.selectedItems()[0].text() == second[:8]
    assert panel.cancel_button.isEnabled()


def test_the_progress_text_of_another_job_is_not_kept(qtbot, project, make_panel):
    """Selecting a job that has not reported yet shows no message of the job shown before."""
    line = json.dumps({"event": "progress", "done": 1, "total": 2, "message": "saved raw"})
    code = f"import time; print({line!r}, flush=True); time.sleep(30)"
    manager, panel = make_panel(project, command_for=lambda spec: [sys.executable, "-c", code])
    first = manager.submit(JobSpec(kind="import", project=str(project.path)))
    qtbot.waitUntil(lambda: "saved raw" in panel.progress.text(), timeout=30_000)
    manager.cancel(first)
    qtbot.waitUntil(lambda: status_of(panel, first) == "cancelled", timeout=10_000)
    manager.queue._command_for = lambda spec: [sys.executable, "-c", "import time; time.sleep(30)"]
    manager.submit(JobSpec(kind="train", project=str(project.path)))
    assert "saved raw" not in panel.progress.text()


def test_a_running_job_shows_when_it_started(qtbot, project, make_panel):
    """The job's process records its start a moment after launch: the table picks it up."""
    manager, panel = make_panel(
        project, command_for=lambda spec: [sys.executable, "-c", "import time; time.sleep(30)"]
    )
    job_id = manager.submit(JobSpec(kind="import", project=str(project.path)))
    row = next(r for r, j in enumerate(panel._jobs) if j.id == job_id)
    assert panel.table.item(row, 4).text() == ""  # not started yet
    project.catalog.set_job_status(job_id, "running", pid=1)  # as the job's process does
    qtbot.waitUntil(lambda: panel.table.item(row, 4).text() != "", timeout=5_000)
    assert panel.table.item(row, 5).text().startswith("0:0")
    manager.cancel(job_id)


def test_metric_names_read_as_words():
    assert metric_title("val_dice_nuclear_envelope") == "Dice: nuclear envelope"
    assert metric_title("train_loss") == "training loss"
    assert metric_title("some_new_metric") == "some new metric"


def test_a_finished_job_that_logged_nothing_shows_what_it_gave():
    outputs = {"objects": 32, "csv": "/data/m.csv", "columns": [1, 2], "seconds": {"xy": 1.0}}
    assert outputs_line(outputs) == "objects: 32; csv: /data/m.csv"
    assert outputs_line({}) == "finished"
