"""Exporting stored volumes: every kind the project holds can be written as TIFF."""

from __future__ import annotations

import numpy as np
import tifffile
from volume_helpers import add_array

from emstudio.core.io.export import export_volume
from emstudio.core.project import Project
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
