"""The SQLite catalog under concurrent writers, and its records."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from emstudio.core.errors import NameConflictError, NotFoundError
from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.catalog import CATALOG_FILE, Catalog, checked_name, free_name


def _add_jobs(path, worker, count):
    catalog = Catalog(path)
    for i in range(count):
        job = f"w{worker}-{i}"
        catalog.add_job(job, "import", {"n": i})
        catalog.set_job_status(job, "running", pid=worker)
        catalog.set_job_status(job, "done", outputs={"i": i})
    catalog.close()


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "p.emproj"
    Project.create(path).close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_add_jobs, args=(path / CATALOG_FILE, w, 40)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with Project.open(path, mode="read") as project:
        jobs = project.catalog.jobs()
    assert len(jobs) == 160 and {j.status for j in jobs} == {"done"}
    db = sqlite3.connect(path / CATALOG_FILE)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def record(name: str) -> VolumeRecord:
    return VolumeRecord(
        id=name + "-id",
        name=name,
        kind="image",
        path=f"data/{name}.zarr",
        shape=(2, 3, 4),
        dtype="uint8",
        voxel_size=VoxelSize(40, 4, 4, known=True, origin="user"),
        chunks=(2, 3, 4),
        levels=1,
        source="test",
        attrs={"a": [1]},
        provenance={"p": 1},
        created_at="2026-01-01T00:00:00+00:00",
    )


def test_volume_records_round_trip_and_names_are_unique(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        project.catalog.add_volume(record("raw"))
        assert project.catalog.volume("raw") == record("raw")
        with pytest.raises(NameConflictError, match="already exists"):
            project.catalog.add_volume(record("raw"))
        with pytest.raises(NotFoundError, match="volumes: raw"):
            project.catalog.volume("other")
        assert project.catalog.volume("raw").nbytes == 24


def test_free_and_checked_names():
    taken = {"m", "m-2"}.__contains__
    assert free_name(taken, "m") == "m-3" and free_name(taken, "x") == "x"
    assert checked_name("  new ", "model", "--out", taken, "choose another name") == "new"
    with pytest.raises(NameConflictError, match="A model needs a name: give --out NAME"):
        checked_name(" ", "model", "--out", taken, "choose another name")
    with pytest.raises(NameConflictError, match="'m' already exists in this project: choose"):
        checked_name("m", "model", "--out", taken, "choose another name")
    for bad in ("cells/mito", "a\\b", "p:q", "tab\there"):
        with pytest.raises(NameConflictError, match=r"name cannot hold .* give another --out"):
            checked_name(bad, "model", "--out", taken, "choose another name")


def test_records_of_new_volumes(tmp_path):
    image = record("raw")
    labels = VolumeRecord.new_of(image, "lab", "labels", "painted", attrs={"classes": {}})
    assert labels.shape == image.shape and labels.voxel_size == image.voxel_size
    assert labels.dtype == "uint8" and labels.image_id == image.id
    assert labels.attrs == {"classes": {}}
    assert (labels.path, labels.chunks, labels.levels) == ("", (0, 0, 0), 0)
    other = VolumeRecord.new("seg", "segmentation", (2, 3, 4), "uint32", image.voxel_size, "t")
    assert len(other.id) == 32 and other.id != labels.id and other.image_id is None
    with Project.create(tmp_path / "p.emproj") as project:
        for added in (image, labels):
            project.catalog.add_volume(added)
        assert [v.name for v in project.catalog.volumes("labels")] == ["lab"]
        assert [v.name for v in project.catalog.volumes()] == ["raw", "lab"]
        assert project.catalog.volume_by_id(labels.id).source == "painted"
        assert project.catalog.has_volume_name("lab") and not project.catalog.has_volume_name("x")


def test_a_catalog_that_cannot_be_read_normally_is_read_as_it_stands(tmp_path, monkeypatch):
    """On a full disk (or a read-only mount) SQLite cannot make the file a read needs: the
    project is still listed and exported, from the catalog file as it stands."""
    with Project.create(tmp_path / "p.emproj") as project:
        project.catalog.add_job("j", "import", {})
    real = sqlite3.connect
    asked: list[str] = []

    class FullDisk:  # a connection whose first read fails, as on a full disk
        def execute(self, *args, **kwargs):
            raise sqlite3.OperationalError("disk I/O error")

        def close(self) -> None:
            pass

    def full_disk(target, *args, **kwargs):
        asked.append(str(target))
        return real(target, *args, **kwargs) if "immutable" in str(target) else FullDisk()

    monkeypatch.setattr(sqlite3, "connect", full_disk)
    catalog = Catalog(tmp_path / "p.emproj" / "project.sqlite", readonly=True)
    assert [j.id for j in catalog.jobs()] == ["j"] and asked[-1].endswith("&immutable=1")
    catalog.close()


def test_an_unknown_voxel_size_is_warned_of_with_the_file_to_import_again():
    unknown = VoxelSize()
    image = VolumeRecord.new("em", "image", (2, 3, 4), "uint8", unknown, "t")
    labels = VolumeRecord.new_of(image, "truth", "labels", "t")
    own = VolumeRecord.new("seg", "segmentation", (2, 3, 4), "uint32", unknown, "t")
    assert image.size_warning.endswith("import it again with --voxel-size Z,Y,X (nm).")
    assert labels.size_warning.endswith("import its image again with --voxel-size Z,Y,X (nm).")
    assert own.size_warning.endswith("import it again with --voxel-size Z,Y,X (nm).")
    known = VolumeRecord.new("k", "image", (2, 3, 4), "uint8", VoxelSize(40, 10, 10, True), "t")
    assert known.size_warning == ""


def test_a_prediction_set_named_for_one_volume_is_said_to_be_one_with_its_maps(tmp_path):
    image = record("raw")
    with Project.create(tmp_path / "p.emproj") as project:
        project.catalog.add_volume(image)
        for output in ("membrane", "mitochondria"):
            project.catalog.add_volume(
                VolumeRecord.new_of(
                    image, f"mito-{output}", "prediction", "t", attrs={"prediction_set": "mito"}
                )
            )
        said = "'mito' is a prediction set, not one volume: name one of its maps, 'mito-membrane'"
        with pytest.raises(NotFoundError, match=said + ", 'mito-mitochondria'"):
            project.catalog.volume("mito")
        with pytest.raises(NotFoundError, match=r"No volume named 'mitox' .*\(volumes: raw, "):
            project.catalog.volume("mitox")
