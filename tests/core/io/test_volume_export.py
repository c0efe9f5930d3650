"""Exporting stored volumes: every kind the project holds can be written as TIFF."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from volume_helpers import add_array

from emstudio.core.errors import DestinationError
from emstudio.core.io.export import export_record, export_volume
from emstudio.core.ml.labels import find_labelled_slices
from emstudio.core.project import Project
from emstudio.core.project.importer import import_files
from emstudio.core.volume.store import Volume


def test_a_uint32_segmentation_exports_to_tiff_with_its_voxel_size(tmp_path):
    labels = np.zeros((3, 8, 9), np.uint32)
    labels[1, 2:5, 2:6] = 70_000  # beyond uint16
    with Project.create(tmp_path / "p.emproj") as project:
        record = add_array(project, "seg", "segmentation", labels)
        out = export_volume(Volume(project.resolve(record.path)), tmp_path / "seg.tif")
    with tifffile.TiffFile(out) as tif:
        assert np.array_equal(tif.asarray(), labels) and tif.series[0].dtype == np.uint32
        pixels = tif.ome_metadata
    assert 'PhysicalSizeZ="40.0"' in pixels and 'PhysicalSizeX="10.0"' in pixels


def test_a_sparse_label_set_exports_its_unlabelled_voxels_as_255_and_imports_back(tmp_path):
    """Off its labelled planes a label set is unknown, not background: the file says so, and an
    import of it trains on the same slices (one labelled all background among them)."""
    image = np.zeros((4, 8, 9), np.uint8)
    labels = np.zeros_like(image)
    labels[1, 2:5, 2:6] = 1
    planes = {"z": [1, 2], "y": [6], "x": []}  # z = 2 labelled, but all background
    with Project.create(tmp_path / "p.emproj") as project:
        em = add_array(project, "em", "image", image)
        record = add_array(project, "painted", "labels", labels, image_id=em.id,
                           attrs={"classes": {"1": "cell"}, "labelled_slices": planes})  # fmt: skip
        done = export_record(project, record, tmp_path / "painted.tif")
        assert done.note.startswith("voxels off its 3 labelled slices are 255")
        written = tifffile.imread(done.path)
        expected = np.full_like(labels, 255)
        expected[[1, 2]] = labels[[1, 2]]
        expected[:, 6] = labels[:, 6]
        assert np.array_equal(written, expected)
        back = import_files(project, [done.path], name="back", kind="labels", log=lambda m: None)
        array = Volume(project.resolve(back.path)).arrays[0]
        assert find_labelled_slices(array, back.attrs).z == (0, 1, 2, 3)  # y = 6 rows too
        assert export_record(project, em, tmp_path / "em.tif").note == ""


def test_an_export_never_replaces_a_file_made_while_it_wrote(tmp_path, monkeypatch):
    from emstudio.core.io import export

    out = tmp_path / "em.tif"
    real = export._write_tiff

    def slow(volume, path, slabs):  # another export finishes first
        real(volume, path, slabs)
        out.write_bytes(b"the other export")

    monkeypatch.setattr(export, "_write_tiff", slow)
    with Project.create(tmp_path / "p.emproj") as project:
        record = add_array(project, "em", "image", np.zeros((2, 8, 8), np.uint8))
        with pytest.raises(DestinationError, match="was made meanwhile"):
            export_volume(Volume(project.resolve(record.path)), out)
    assert out.read_bytes() == b"the other export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["em.tif", "p.emproj"]  # no leftover
