"""What unfinished predictions keep for --resume goes once their output is made by another."""

from __future__ import annotations

from emstudio.core.project import Project
from emstudio.jobs.tasks.predict import SCRATCH_DIR, drop_superseded_scratch


def test_a_finished_prediction_removes_what_unfinished_ones_to_its_name_kept(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        kept = {}
        jobs = [("a", "cancelled", "mito"), ("b", "interrupted", "mito"),
                ("c", "cancelled", "other"), ("d", "done", "mito")]  # fmt: skip
        for job_id, status, out in jobs:
            project.catalog.add_job(job_id, "predict", {"params": {"out": out}}, status)
            kept[job_id] = project.jobs_dir / job_id / SCRATCH_DIR
            kept[job_id].mkdir(parents=True)
            (kept[job_id] / "z.raw").write_bytes(b"\0" * 2**20)
        said = drop_superseded_scratch(project, "mito", done="d")
        assert said == "removed what 2 unfinished predictions to 'mito' had kept for --resume " \
            "(2.0 MiB)."  # fmt: skip
        assert [j for j, folder in kept.items() if folder.exists()] == ["c", "d"]
        assert drop_superseded_scratch(project, "mito", done="d") == ""
