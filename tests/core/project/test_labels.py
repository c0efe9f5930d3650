"""Label sets: create empty, save painted chunks in place (all levels), rename, delete."""

from __future__ import annotations

import numpy as np
import pytest
from volume_helpers import add_array

from emstudio.core.errors import NameConflictError, ProjectError
from emstudio.core.project import Project
from emstudio.core.project.labels import (
    create_label_set,
    labelled_slices,
    read_chunk,
    save_label_edits,
)
from emstudio.core.project.manage import delete_volume, rename_volume
from emstudio.core.volume.store import Volume

SHAPE = (6, 300, 280)  # two levels: in-plane size above 256


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "P.emproj") as project:
        add_array(project, "em", "image", np.full(SHAPE, 7, np.uint8))
        yield project


def test_new_label_set_is_empty_and_shaped_like_its_image(project):
    image = project.catalog.volume("em")
    labels = create_label_set(project, image, "mine", {0: "background", 1: "mito"})
    assert labels.kind == "labels" and labels.image_id == image.id
    assert labels.attrs["classes"] == {"0": "background", "1": "mito"}
    assert labelled_slices(labels) == {"z": set(), "y": set(), "x": set()}
    volume = Volume(project.resolve(labels.path))
    assert volume.shape == SHAPE and volume.levels == 2 and volume.dtype == np.uint8
    assert not volume.read(0, SHAPE[0]).any()
    with pytest.raises(NameConflictError):
        create_label_set(project, image, "mine")


def test_saved_chunks_reach_every_level_and_the_catalog(project):
    labels = create_label_set(project, project.catalog.volume("em"), "mine")
    volume = Volume(project.resolve(labels.path))
    key = (0, 2, 1)  # an edge chunk in y (rows 256..299)
    chunk = read_chunk(volume, key)
    assert chunk.shape == volume.chunks
    chunk[3, 10:20, 30:40] = 1
    saved = save_label_edits(project, labels, {key: chunk}, {"z": [3], "x": [200, 3]})
    again = Volume(project.resolve(labels.path))
    full = again.read(0, SHAPE[0])
    assert full.sum() == 100 and full[3, 266:276, 158:168].all()
    coarse = again.read(0, again.level_shape(1)[0], level=1)
    assert np.array_equal(coarse, full[:, ::2, ::2][:, : coarse.shape[1], : coarse.shape[2]])
    assert labelled_slices(saved) == {"z": {3}, "y": set(), "x": {3, 200}}
    stored = project.catalog.volume("mine").attrs["labelled_slices"]
    assert stored == {"z": [3], "y": [], "x": [3, 200]}
    leftovers = [p for p in project.resolve(labels.path).rglob(".tmp-*")]
    assert leftovers == []


def test_rename_and_delete(project):
    image = project.catalog.volume("em")
    labels = create_label_set(project, image, "mine")
    renamed = rename_volume(project, labels, "  nuclei ")
    assert renamed.name == "nuclei" and project.catalog.volume("nuclei").id == labels.id
    with pytest.raises(
        NameConflictError, match="already exists in this project: choose another name"
    ):
        rename_volume(project, renamed, "em")
    with pytest.raises(NameConflictError, match="cannot hold '/'"):
        rename_volume(project, renamed, "a/b")  # names become file names
    with pytest.raises(NameConflictError, match=r"^A volume needs a name\.$"):
        rename_volume(project, renamed, "  ")
    with pytest.raises(ProjectError, match="nuclei"):
        delete_volume(project, image)  # the label set belongs to it
    delete_volume(project, renamed)
    assert not project.resolve(labels.path).exists()
    assert [v.name for v in project.catalog.volumes()] == ["em"]
    assert not list(project.data_dir.glob(".tmp-*"))


def test_saving_into_a_set_that_recorded_no_slices_keeps_its_labelled_slices(project):
    """An imported (or ground-truth) label set has no labelled_slices: every z slice holding
    a label counts. Saving a painted XZ plane keeps them, and adds the plane."""
    dense = np.zeros(SHAPE, np.uint8)
    dense[[1, 4], 5:9, 5:9] = 2
    labels = add_array(project, "imported", "labels", dense)
    assert "labelled_slices" not in labels.attrs
    volume = Volume(project.resolve(labels.path))
    chunk = read_chunk(volume, (0, 0, 0))
    chunk[2:4, 20, 30:40] = 1  # on the XZ plane at y = 20
    saved = save_label_edits(project, labels, {(0, 0, 0): chunk}, {"y": [20]})
    assert labelled_slices(saved) == {"z": {1, 2, 3, 4}, "y": {20}, "x": set()}
