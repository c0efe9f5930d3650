"""Segmenting a project's prediction set: which volumes make up the set."""

from __future__ import annotations

import numpy as np
from volume_helpers import add_array

from emstudio.core.project import Project
from emstudio.core.seg.run import prediction_set


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
