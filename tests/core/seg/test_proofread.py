"""Proofreading a stored segmentation: exact merge/split/delete/relabel, undo/redo, new version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emstudio.core.errors import NameConflictError
from emstudio.core.io.base import VoxelSize
from emstudio.core.measure.run import measure_segmentation
from emstudio.core.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import add_volume
from emstudio.core.seg import proofread
from emstudio.core.seg.object_table import ObjectTable
from emstudio.core.volume.store import Volume, VolumeWriter

CHUNKS = (4, 16, 16)  # small chunks: every object spans several
VOXEL = VoxelSize(40, 10, 10, known=True)


def labels() -> np.ndarray:
    out = np.zeros((8, 40, 50), np.uint32)
    out[1:5, 2:12, 2:14] = 1
    out[1:5, 2:12, 14:20] = 2  # touches 1
    out[6:8, 30:38, 40:48] = 5
    out[2:7, 20:30, 2:12] = 7  # a dumbbell: two blobs joined by a thin neck
    out[2:7, 20:30, 22:32] = 7
    out[4, 24:26, 12:22] = 7
    return out


def image_of(seg: np.ndarray) -> np.ndarray:
    """Bright left half, dark right half: an edge at x = 25."""
    out = np.full(seg.shape, 200, np.uint8)
    out[:, :, 25:] = 40
    return out


def store(project: Project, name: str, kind: str, data: np.ndarray, image_id=None) -> VolumeRecord:
    record = VolumeRecord(
        id=f"id-{name}",
        name=name,
        kind=kind,
        path="",
        shape=data.shape,
        dtype=data.dtype.name,
        voxel_size=VOXEL,
        chunks=CHUNKS,
        levels=1,
        source="test",
        image_id=image_id,
        attrs={"class": "mito"},
    )

    def write(path: Path) -> None:
        with VolumeWriter(path, data.shape, data.dtype, VOXEL, kind, name, CHUNKS) as writer:
            writer.write_slab(0, data)
            writer.finalize({})
            record.levels = len(writer.arrays)

    return add_volume(project, write, record)


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        store(project, "em", "image", image_of(labels()))
        store(project, "seg", "segmentation", labels(), image_id="id-em")
        yield project


def reader_of(project: Project) -> proofread.Proofreader:
    def volume(name: str) -> Volume:
        return Volume(project.resolve(project.catalog.volume(name).path))

    return proofread.Proofreader.open(volume("seg"), volume("em"))


def everything(reader: proofread.Proofreader) -> np.ndarray:
    return reader.layer.read(tuple(slice(0, s) for s in reader.layer.shape))


def test_scan_finds_every_object_with_its_box_and_count(project):
    table = reader_of(project).table
    seg = labels()
    assert len(table) == 4 and table.max_id() == 7
    for object_id in (1, 2, 5, 7):
        expected = ObjectTable.of_region(seg, [object_id], (0, 0, 0))[object_id]
        assert table.get(object_id) == expected
    assert table.count(7) == (seg == 7).sum()


def test_merge_delete_relabel_with_exact_undo_and_redo(project):
    reader = reader_of(project)
    original = labels()
    merged = original.copy()
    merged[merged == 1] = 2
    edit = reader.merge([2, 1])
    assert np.array_equal(everything(reader), merged)
    assert edit.voxels == (original == 1).sum()
    assert reader.table.get(1) is None and reader.table.count(2) == (merged == 2).sum()
    assert reader.table.get(2).lo == (1, 2, 2) and reader.table.get(2).hi == (5, 12, 20)
    reader.delete([5])
    assert not (everything(reader) == 5).any() and 5 not in reader.table
    with pytest.raises(proofread.ProofreadError, match="in use"):
        reader.relabel(7, 2)
    reader.relabel(7, 9)
    assert reader.table.count(9) == (original == 7).sum() and 7 not in reader.table
    assert reader.applied == ["merge [1] into 2", "delete [5]", "relabel 7 as 9"]
    for _ in range(3):
        reader.undo()
    assert np.array_equal(everything(reader), original)
    assert not reader.modified and reader.table.count(1) == (original == 1).sum()
    reader.redo()
    assert np.array_equal(everything(reader), merged)
    reader.relabel(5, 2, merge=True)  # an id in use: a merge when asked for
    assert reader.table.count(2) == (merged == 2).sum() + (original == 5).sum()
    assert not reader.can_redo
    stored = Volume(project.resolve(project.catalog.volume("seg").path)).read(0, 8)
    assert np.array_equal(stored, original)  # the store itself is never written


def test_errors_are_clear():
    reader = proofread.Proofreader.__new__(proofread.Proofreader)
    reader.table = ObjectTable({})
    with pytest.raises(proofread.ProofreadError, match="at least two"):
        reader.merge([3, 3])
    with pytest.raises(proofread.ProofreadError, match="No object with id 4"):
        reader.delete([4])


@pytest.mark.parametrize("flood", ["distance", "gradient"])
def test_split_by_seeds(project, flood):
    reader = reader_of(project)
    original = labels()
    seeds = [[(4, 25, 5), (4, 26, 6)], [(4, 25, 28)]]
    edit = reader.split(7, seeds, flood=flood)
    after = everything(reader)
    assert edit.description == "split 7 into [7, 8]"
    obj = original == 7
    x = np.broadcast_to(np.arange(obj.shape[2]), obj.shape)
    if flood == "gradient":  # cut along the image's edge, between x 24 and 25
        assert (after[obj & (x < 24)] == 7).all() and (after[obj & (x > 25)] == 8).all()
    else:  # cut in the neck (x 12..21), the blobs whole
        assert (after[obj & (x < 12)] == 7).all() and (after[obj & (x >= 22)] == 8).all()
    np.testing.assert_array_equal(after[original != 7], original[original != 7])
    assert reader.table.count(7) + reader.table.count(8) == (original == 7).sum()
    assert reader.table.get(8).hi == (7, 30, 32)
    reader.undo()
    assert np.array_equal(everything(reader), original) and 8 not in reader.table
    reader.redo()
    assert np.array_equal(everything(reader), after)


def test_split_needs_two_colours_on_the_object(project):
    reader = reader_of(project)
    with pytest.raises(proofread.ProofreadError, match="two colours"):
        reader.split(7, [[(4, 25, 5)], []])
    with pytest.raises(proofread.ProofreadError, match="colour 2 do not touch object 7"):
        reader.split(7, [[(4, 25, 5)], [(0, 0, 0)]])
    with pytest.raises(proofread.ProofreadError, match="colour 1 lie under seeds of another"):
        reader.split(7, [[(4, 25, 5)], [(4, 25, 5), (4, 25, 6)]])  # the object would vanish
    assert not reader.can_undo


def test_undo_keeps_at_least_fifty_steps(project):
    reader = reader_of(project)
    current = 5
    for step in range(60):
        reader.relabel(current, 100 + step)
        current = 100 + step
    assert all(reader.undo() is not None for _ in range(60))
    assert np.array_equal(everything(reader), labels()) and not reader.can_undo


@pytest.mark.parametrize("axis,display", [(0, (1, 2)), (1, (0, 2)), (2, (1, 0))])
def test_patched_planes_of_a_coarser_level_show_the_edits(project, axis, display):
    reader = reader_of(project)
    reader.merge([7, 1])
    factor = (2, 2, 2)
    stored = labels()[::2, ::2, ::2]
    edited = everything(reader)[::2, ::2, ::2]
    index = 2

    def plane(volume: np.ndarray) -> np.ndarray:
        out = np.take(volume, index, axis=axis)
        return out.T if display[0] > display[1] else out

    patched = reader.layer.patch_plane(plane(stored), axis, index, factor, display)
    assert np.array_equal(patched, plane(edited))


def test_save_as_a_new_version_with_provenance(project):
    measure_segmentation(project, "seg")  # of the objects before the edits
    assert project.catalog.volume("seg").attrs.get("measurements")
    reader = reader_of(project)
    reader.merge([1, 2])
    reader.split(7, [[(4, 25, 5)], [(4, 25, 28)]])
    expected = everything(reader)
    saved = proofread.save_version(project, "seg", reader, "seg-proofread")
    assert saved.provenance["operation"] == "proofread"
    assert saved.provenance["params"]["edits"] == ["merge [2] into 1", "split 7 into [7, 8]"]
    assert saved.provenance["inputs"] == [{"volume": "seg", "id": "id-seg"}]
    assert saved.attrs["proofread_from"] == "seg" and saved.attrs["class"] == "mito"
    assert "measurements" not in saved.attrs  # the old objects' table is not the new ones'
    assert saved.image_id == "id-em" and saved.kind == "segmentation"
    assert np.array_equal(Volume(project.resolve(saved.path)).read(0, 8), expected)
    original = Volume(project.resolve(project.catalog.volume("seg").path))
    assert np.array_equal(original.read(0, 8), labels())
    with pytest.raises(NameConflictError):
        proofread.save_version(project, "seg", reader, "seg")
