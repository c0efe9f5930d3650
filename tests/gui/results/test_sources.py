"""What the result docks read from the project: which mesh set the 3D view draws."""

from __future__ import annotations

import numpy as np
from volume_helpers import add_array

from emstudio.core.mesh.meshset import create_mesh_set
from emstudio.core.project import Project
from emstudio.gui.results.sources import mesh_set_folder, meshed_segmentations


def test_the_3d_view_draws_the_newest_mesh_set_of_all_objects(tmp_path):
    """A few objects exported with --ids later do not hide the others."""
    labels = np.zeros((6, 20, 20), np.uint32)
    labels[1:3, 2:6, 2:6], labels[3:5, 10:16, 10:16] = 1, 2
    with Project.create(tmp_path / "p.emproj") as project:
        add_array(project, "seg", "segmentation", labels)
        assert mesh_set_folder(project, "seg") is None and meshed_segmentations(project) == []
        few = create_mesh_set(project, "seg", ids=[2])
        assert mesh_set_folder(project, "seg") == project.resolve(few.path)  # all there is
        whole = create_mesh_set(project, "seg", fmt="stl")
        create_mesh_set(project, "seg", ids=[1], fmt="obj")
        assert mesh_set_folder(project, "seg") == project.resolve(whole.path)
        assert meshed_segmentations(project) == ["seg"]
