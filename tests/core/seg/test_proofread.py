"""Proofreading operations: each edit is undoable and a saved version keeps every edit."""

from __future__ import annotations

import numpy as np
import pytest

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project
from emstudio.core.project.records import VolumeRecord
from emstudio.core.project.volumes import add_volume
from emstudio.core.seg import proofread
from emstudio.core.volume.store import Volume, VolumeWriter


def block() -> np.ndarray:
    labels = np.zeros((4, 10, 20), np.uint32)
    labels[1:3, 2:8, 2:8] = 1
    labels[1:3, 2:8, 8:12] = 2
    labels[1:3, 2:8, 14:18] = 5
    return labels


def test_merge_delete_relabel_undo_redo():
    labels = block()
    original = labels.copy()
    change = proofread.merge(labels, [2, 1])
    assert set(np.unique(labels)) == {0, 1, 5} and (labels == 1).sum() == 2 * 6 * 10
    proofread.revert(labels, change)
    assert np.array_equal(labels, original)
    proofread.apply(labels, change)
    assert (labels == 2).sum() == 0
    gone = proofread.delete(labels, [5])
    assert not (labels == 5).any()
    proofread.revert(labels, gone)
    renamed = proofread.relabel(labels, 5, 9)
    assert (labels == 9).sum() == 2 * 6 * 4 and renamed.description == "relabel 5 as 9"
    with pytest.raises(proofread.ProofreadError, match="already in use"):
        proofread.relabel(labels, 9, 1)
    with pytest.raises(proofread.ProofreadError, match="at least two"):
        proofread.merge(labels, [1, 1])


def test_split_by_seeds_with_origin():
    labels = np.zeros((3, 6, 30), np.uint32)
    labels[:, 1:5, 2:28] = 4
    origin = (10, 100, 200)
    change = proofread.split(labels, 4, [[(1, 3, 4)], [(1, 3, 25)]], origin=origin)
    assert change.box[0].start == 10 and change.box[2].start == 202
    assert labels[1, 3, 4] == 4 and labels[1, 3, 25] == 5
    assert proofread.connected_pieces(labels, 4) == 1
    assert (labels == 4).sum() == (labels == 5).sum()  # symmetric object, symmetric seeds
    proofread.revert(labels, change, origin)
    assert set(np.unique(labels)) == {0, 4}
    with pytest.raises(proofread.ProofreadError, match="outside object"):
        proofread.split(labels, 4, [[(0, 0, 0)], [(1, 3, 25)]])


def test_save_version_writes_a_new_segmentation(tmp_path):
    labels = block()
    with Project.create(tmp_path / "p.emproj") as project:
        record = VolumeRecord(
            id="seg1",
            name="seg",
            kind="segmentation",
            path="",
            shape=labels.shape,
            dtype="uint32",
            voxel_size=VoxelSize(40, 10, 10, known=True),
            chunks=(1, 1, 1),
            levels=1,
            source="test",
        )

        def write(path):
            with VolumeWriter(
                path, labels.shape, "uint32", record.voxel_size, "segmentation", "seg"
            ) as writer:
                writer.write_slab(0, labels)
                writer.finalize({})

        add_volume(project, write, record)
        work = labels.copy()
        changes = [proofread.merge(work, [1, 2]), proofread.delete(work, [5])]
        saved = proofread.save_version(project, "seg", changes, "seg-v2")
        assert saved.provenance["operation"] == "proofread"
        assert saved.attrs["edits"] == 2
        assert np.array_equal(Volume(project.resolve(saved.path)).read(0, 4), work)
