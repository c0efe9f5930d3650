"""Segmenting a project's prediction set: which volumes make up the set, and the object table
the segmentation keeps for meshing and measuring."""

from __future__ import annotations

import numpy as np
from volume_helpers import add_array

from emstudio.core.measure import table
from emstudio.core.measure.run import measure_segmentation
from emstudio.core.mesh import build
from emstudio.core.mesh.meshset import create_mesh_set
from emstudio.core.mesh.surface import MeshOptions
from emstudio.core.project import Project
from emstudio.core.seg.from_truth import add_truth_prediction
from emstudio.core.seg.object_cache import load_boxes
from emstudio.core.seg.objects import object_boxes
from emstudio.core.seg.params import InstanceParams
from emstudio.core.seg.run import prediction_set, segment_prediction
from emstudio.core.synth.demo import add_demo_volumes
from emstudio.core.volume.store import Volume


def test_a_set_whose_name_starts_another_sets_name_keeps_its_own_maps(tmp_path):
    data = np.zeros((2, 8, 8), np.uint8)
    with Project.create(tmp_path / "p.emproj") as project:
        for set_name in ("pred", "pred-v2"):  # pred-v2-mitochondria starts with "pred-"
            for cls in ("mitochondria", "boundary"):
                attrs = {"prediction_set": set_name, "class": cls}
                add_array(project, f"{set_name}-{cls}", "prediction", data, attrs=attrs)
        add_array(project, "old-nucleus", "prediction", data)  # no attrs: found by its name
        found = {cls: record.name for cls, record in prediction_set(project, "pred").items()}
        assert found == {"mitochondria": "pred-mitochondria", "boundary": "pred-boundary"}
        assert {c: r.name for c, r in prediction_set(project, "old").items()} == {
            "nucleus": "old-nucleus"
        }


def test_a_segmentation_keeps_its_objects_so_meshing_and_measuring_need_no_scan(
    tmp_path, monkeypatch
):
    with Project.create(tmp_path / "p.emproj") as project:
        add_demo_volumes(project, shape=(24, 128, 128), seed=2)
        add_truth_prediction(project)
        record = segment_prediction(
            project, "truth", "mito", InstanceParams(min_size=20), block=(8, 64, 64)
        )
        volume = Volume(project.resolve(record.path))
        kept = load_boxes(volume)
        scanned = object_boxes(volume.arrays[0], (8, 48, 48))
        assert kept is not None and len(kept) == record.attrs["objects"] > 0
        for field in ("ids", "lo", "hi", "count"):
            np.testing.assert_array_equal(getattr(kept, field), getattr(scanned, field))

        def no_scan(*_args, **_kwargs):
            raise AssertionError("the segmentation was scanned for its objects")

        monkeypatch.setattr(build, "object_boxes", no_scan)
        monkeypatch.setattr(table, "object_boxes", no_scan)
        meshes = create_mesh_set(project, "mito", options=MeshOptions(smooth=2))
        assert meshes.count == len(kept)
        measured = measure_segmentation(project, "mito", tmp_path / "m.csv")
        assert measured["objects"] == len(kept)
