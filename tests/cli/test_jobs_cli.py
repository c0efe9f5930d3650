"""`emstudio job run`, `emstudio job cancel` and `emstudio jobs` through the real executable."""

from __future__ import annotations

import json
import subprocess
import time

import numpy as np
import tifffile

from emstudio.core.project import Project
from emstudio.jobs.launch import emstudio_command
from emstudio.jobs.spec import JobSpec


def write_spec(tmp_path, project, tif, name):
    spec = JobSpec(
        kind="import",
        project=str(project),
        inputs={"paths": [str(tif)]},
        params={"name": name, "kind": "image", "voxel_size_nm": None},
    )
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec.to_json()))
    return spec, path


def test_job_run_prints_json_lines_and_jobs_lists_it(tmp_path, cli_process, project):
    tif = tmp_path / "s.tif"
    tifffile.imwrite(tif, np.zeros((5, 32, 32), np.uint8), photometric="minisblack")
    spec, path = write_spec(tmp_path, project, tif, "raw")
    res = cli_process("job", "run", path)
    assert res.code == 0, res.err
    events = [json.loads(line) for line in res.out.splitlines()]
    assert events[-1]["event"] == "done" and events[-1]["outputs"]["volume"] == "raw"
    assert any(e["event"] == "progress" for e in events)
    history = json.loads(cli_process("jobs", project, "--json").out)
    assert [(j["id"], j["status"], j["device"]) for j in history] == [(spec.id, "done", "cpu")]
    assert (project / "jobs" / spec.id / "events.jsonl").is_file()


def test_job_run_refuses_a_bad_spec(tmp_path, cli):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = cli("job", "run", bad)
    assert res.code == 2 and "bad.json" in res.err
    bad.write_text(json.dumps({"kind": "dance", "project": str(tmp_path)}))
    res = cli("job", "run", bad)
    assert res.code == 2 and "unknown job kind 'dance'" in res.err
    for wrong, message in (
        ({"id": "x/../../outside"}, "'id' must be letters"),  # it names the job's folder
        ({"params": None}, "'params' must be an object"),
        ({"inputs": [1]}, "'inputs' must be an object"),
    ):
        bad.write_text(json.dumps({"kind": "import", "project": str(tmp_path), **wrong}))
        res = cli("job", "run", bad)
        assert res.code == 2 and message in res.err, res.err
    project = tmp_path / "p.emproj"
    bad.write_text(
        json.dumps({"kind": "train", "project": str(project), "inputs": {"image": "em"}})
    )
    res = cli("job", "run", bad)  # not an internal error half-way into the job
    assert res.code == 2 and "not a complete train job spec: it lacks inputs.labels" in res.err
    assert not project.exists()


def test_job_cancel_stops_a_running_job(tmp_path, cli_process, project):
    # a phantom this large takes minutes to render on any machine: still running when cancelled
    spec = JobSpec(kind="demo", project=str(project), params={"shape": [256, 2048, 2048]})
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(spec.to_json()))
    child = subprocess.Popen(
        emstudio_command("job", "run", str(path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    end = time.monotonic() + 60
    while time.monotonic() < end:
        with Project.open(project, mode="read") as p:
            if p.catalog.has_job(spec.id) and p.catalog.job(spec.id).status == "running":
                break
        time.sleep(0.05)
    res = cli_process("job", "cancel", project, spec.id[:8])
    assert res.code == 0, res.err
    assert child.poll() is not None  # stopped when the command returns (timing: test_queue)
    with Project.open(project) as p:
        assert p.catalog.job(spec.id).status == "cancelled"
        assert p.catalog.volumes() == []
    assert [e.name for e in (project / "data").iterdir()] == []
    assert "already ended" in cli_process("job", "cancel", project, spec.id).out


def test_a_job_whose_process_ended_unseen_lists_as_interrupted(cli, project):
    """`kill -9`: until the project is next opened for writing, the catalog says running."""
    with Project.open(project) as opened:
        opened.catalog.add_job("gone", "import", {}, "running")
        opened.catalog.set_job_status("gone", "running", pid=2**22 + 12345)  # no such process
    for command in (("jobs", project, "--json"), ("info", project, "--json")):
        listed = json.loads(cli(*command).out)
        jobs = listed if isinstance(listed, list) else listed["jobs"]
        assert [j["status"] for j in jobs] == ["interrupted"], command
    with Project.open(project, mode="read") as opened:
        assert opened.catalog.job("gone").status == "running"  # a listing records nothing
