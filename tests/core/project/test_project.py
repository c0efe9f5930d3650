"""Project folder: creation, locking, schema versions and migrations, crash recovery."""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3

import pytest

from emstudio.core.errors import (
    DestinationError,
    ProjectError,
    ProjectLockedError,
    SchemaTooNewError,
)
from emstudio.core.project import Project, schema
from emstudio.core.project.catalog import CATALOG_FILE
from emstudio.core.synth.demo import add_demo_volumes


def test_create_makes_the_documented_layout(tmp_path):
    with Project.create(tmp_path / "cells.emproj") as project:
        assert project.name == "cells"
        for sub in ("data", "models", "meshes", "jobs"):
            assert (project.path / sub).is_dir()
        assert project.catalog.schema_version == schema.SCHEMA_VERSION
    db = sqlite3.connect(tmp_path / "cells.emproj" / CATALOG_FILE)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_create_refuses_non_empty_folder_and_missing_parent(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file.txt").write_text("x")
    with pytest.raises(DestinationError, match="not an empty folder"):
        Project.create(tmp_path / "full")
    with pytest.raises(DestinationError, match="does not exist"):
        Project.create(tmp_path / "no" / "such" / "p.emproj")


@pytest.mark.parametrize("inside", ["data/sub.emproj", "sub.emproj", "jobs/x/sub.emproj"])
def test_create_refuses_a_place_inside_another_project(tmp_path, inside):
    # a project's own clean-up removes what its catalog does not name from its folders
    with Project.create(tmp_path / "cells.emproj") as project:
        (project.path / "jobs" / "x").mkdir()
    path = tmp_path / "cells.emproj" / inside
    with pytest.raises(DestinationError, match=r"inside the project .*cells\.emproj"):
        Project.create(path)
    assert not path.exists()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_open_non_project_says_so(tmp_path):
    with pytest.raises(
        ProjectError,
        match=r"not an emstudio project \(a project is a folder, usually named \*\.emproj",
    ):
        Project.open(tmp_path)
    with pytest.raises(ProjectError, match="does not exist"):
        Project.open(tmp_path / "missing.emproj")


def _hold_lock(path, ready, release):
    project = Project.open(path)
    ready.set()
    release.wait(30)
    project.close()


@contextlib.contextmanager
def lock_holder(path):
    """Another process that holds the project at ``path`` open until the block ends."""
    Project.create(path).close()
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        yield holder
    finally:
        if holder.is_alive():  # (a killed waiter would leave set() hanging)
            release.set()
        holder.join(30)


def test_second_process_gets_a_clear_lock_error(tmp_path):
    path = tmp_path / "p.emproj"
    with lock_holder(path) as holder:
        with pytest.raises(ProjectLockedError, match="open in another process") as err:
            Project.open(path)
        assert str(holder.pid) in str(err.value)
        with Project.open(path, mode="read") as reader:  # reading stays possible
            assert reader.catalog.volumes() == []
    Project.open(path).close()  # released when the holder closed


def test_lock_released_when_holder_is_killed(tmp_path):
    path = tmp_path / "p.emproj"
    with lock_holder(path) as holder:
        holder.kill()
        holder.join(30)
        Project.open(path).close()


def test_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "p.emproj"
    Project.create(path).close()
    db = sqlite3.connect(path / CATALOG_FILE)
    db.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    db.close()
    before = (path / CATALOG_FILE).read_bytes()
    for mode in ("write", "read"):
        with pytest.raises(SchemaTooNewError, match="newer emstudio"):
            Project.open(path, mode=mode)
    assert (path / CATALOG_FILE).read_bytes() == before


def test_an_emptied_catalog_is_refused_and_no_volume_is_taken_for_a_leftover(tmp_path):
    """A catalog truncated by a crash must not become a fresh, empty one: the next writer would
    delete every volume's store as unreferenced."""
    path = tmp_path / "p.emproj"
    with Project.create(path) as project:
        add_demo_volumes(project, shape=(4, 32, 32), seed=1)
    stores = sorted(p.name for p in (path / "data").iterdir())
    assert stores
    (path / CATALOG_FILE).write_bytes(b"")
    for mode in ("write", "read"):
        with pytest.raises(
            ProjectError, match="the project catalog is empty: the file was damaged"
        ):
            Project.open(path, mode=mode)
    assert sorted(p.name for p in (path / "data").iterdir()) == stores


def test_migration_upgrades_with_backup(tmp_path, monkeypatch):
    path = tmp_path / "p.emproj"
    Project.create(path).close()
    extra = ["ALTER TABLE volumes ADD COLUMN favourite INTEGER NOT NULL DEFAULT 0"]
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, extra])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with Project.open(path) as project:
        assert project.catalog.schema_version == len(schema.MIGRATIONS)
        columns = [r[1] for r in project.catalog._db.execute("PRAGMA table_info(volumes)")]
        assert "favourite" in columns
    assert (path / f"{CATALOG_FILE}.bak-v{len(schema.MIGRATIONS) - 1}").is_file()


def test_failing_migration_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "p.emproj"
    Project.create(path).close()
    broken = ["CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"]
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with pytest.raises(sqlite3.OperationalError):
        Project.open(path)
    db = sqlite3.connect(path / CATALOG_FILE)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS) - 1
    assert db.execute("SELECT name FROM sqlite_master WHERE name='extra'").fetchone() is None


def test_a_version_1_catalog_is_upgraded_with_its_rows(tmp_path, monkeypatch):
    """A project made by the first release (schema 1) opens, keeps its jobs, gains meshes."""
    path = tmp_path / "old.emproj"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        m.setattr(schema, "SCHEMA_VERSION", 1)
        with Project.create(path) as project:
            project.catalog.add_job("old-job", "import", {"kind": "import"}, status="done")
    with Project.open(path) as project:
        assert project.catalog.schema_version == schema.SCHEMA_VERSION
        job = project.catalog.job("old-job")
        assert job.status == "done" and job.outputs is None and job.device is None
        tables = {r[0] for r in project.catalog._db.execute("SELECT name FROM sqlite_master")}
        assert "meshes" in tables
    assert (path / f"{CATALOG_FILE}.bak-v1").is_file()


def test_recover_removes_leftovers_and_marks_dead_jobs(tmp_path):
    path = tmp_path / "p.emproj"
    with Project.create(path) as project:
        project.catalog.add_job("j1", "import", {}, status="queued")
        project.catalog.set_job_status("j1", "running", pid=2**22 + 12345)
    (path / "data" / ".tmp-abc.zarr").mkdir()
    (path / "data" / "0123orphan.zarr").mkdir()
    (path / ".tmp-catalog.json.1").write_text("{}")
    with Project.open(path) as project:
        assert project.catalog.job("j1").status == "interrupted"
    assert sorted(p.name for p in (path / "data").iterdir()) == []
    assert not (path / ".tmp-catalog.json.1").exists()


def test_read_only_folder_is_refused_for_writing(tmp_path, monkeypatch):
    """Simulated: tests run as root in CI, and root may write anywhere."""
    import os

    path = tmp_path / "p.emproj"
    Project.create(path).close()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p) == str(path) else real_access(p, mode)
    )
    with pytest.raises(ProjectError, match="read-only"):
        Project.open(path)
    with Project.open(path, mode="read") as project:
        assert not project.writable


def test_a_job_process_of_the_holder_may_write(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "p.emproj"
    with Project.create(path) as holder:
        (path / "data" / ".tmp-sibling.zarr").mkdir()  # another running job's staging
        code = (
            "import sys; from emstudio.core.project import Project\n"
            "with Project.open(sys.argv[1]) as p: p.catalog.set_meta('touched', True)"
        )
        env = {**os.environ, **holder.job_environment()}
        done = subprocess.run([sys.executable, "-c", code, str(path)], env=env, timeout=60)
        assert done.returncode == 0
        assert holder.catalog.get_meta("touched") is True
        assert (path / "data" / ".tmp-sibling.zarr").exists()  # no clean-up by the child
        stranger = subprocess.run(
            [sys.executable, "-c", code, str(path)], timeout=60, capture_output=True, text=True
        )
        assert stranger.returncode != 0 and "open in another process" in stranger.stderr
