"""A stored volume's object table is scanned once, then read from the cache in its store."""

from __future__ import annotations

import shutil

import pytest

from emstudio.core.project import Project
from emstudio.core.project.manage import delete_volume
from emstudio.core.seg import object_cache
from emstudio.core.seg.object_table import ObjectTable
from emstudio.core.seg.proofread import Proofreader
from emstudio.core.synth.demo import add_demo_volumes
from emstudio.core.volume.store import Volume


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        add_demo_volumes(project, shape=(24, 160, 192), seed=3)
        yield project


def no_scan(*_args, **_kwargs):
    raise AssertionError("the volume was scanned again")


def test_second_session_reads_the_cached_table_without_scanning(project, monkeypatch):
    record = project.catalog.volume("truth-mito-instances")
    store = project.resolve(record.path)
    first = Proofreader.open(Volume(store)).table
    assert len(first) > 0 and (store / object_cache.CACHE_FILE).is_file()
    monkeypatch.setattr(object_cache, "object_boxes", no_scan)
    again = ObjectTable.of_volume(Volume(store))
    assert len(again) == len(first)
    assert all(again.get(i) == first.get(i) for i in range(first.max_id() + 1))
    assert Volume(store).shape == tuple(record.shape)  # the file does not disturb the store
    delete_volume(project, record)
    assert not store.exists()


def test_a_cache_of_another_store_is_not_used(project, monkeypatch, tmp_path):
    store = project.resolve(project.catalog.volume("truth-mito-instances").path)
    ObjectTable.of_volume(Volume(store))
    copy = tmp_path / "other-id.zarr"
    shutil.copytree(store, copy)
    assert object_cache.load_boxes(Volume(copy)) is None
    monkeypatch.setattr(object_cache, "object_boxes", no_scan)
    with pytest.raises(AssertionError, match="scanned again"):
        ObjectTable.of_volume(Volume(copy))


def test_a_read_only_store_is_scanned_without_a_cache(project, monkeypatch):
    store = project.resolve(project.catalog.volume("truth-mito-instances").path)

    def refuse(*_args):
        raise PermissionError("read-only")

    monkeypatch.setattr(object_cache, "atomic_write_bytes", refuse)
    assert len(ObjectTable.of_volume(Volume(store))) > 0
    assert not (store / object_cache.CACHE_FILE).exists()
