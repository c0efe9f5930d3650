"""Prediction sets: maps written box by box, here or by a child process with its threads."""

from __future__ import annotations

import numpy as np
import pytest
from volume_helpers import add_array

from emstudio.core.ml.outputs import (
    MAP_WRITE_THREADS,
    MAX_MAP_WRITE_THREADS,
    PredictionSet,
    map_write_threads,
    plan_outputs,
)
from emstudio.core.project import Project
from emstudio.core.volume.store import Volume


@pytest.mark.parametrize(
    ("maps", "cores", "threads"),
    [(3, 2, 1), (3, 8, 1), (3, 12, 2), (3, 16, 4), (3, 64, 4), (12, 16, 1), (1, 6, 2)],
)
def test_map_write_threads_share_the_spare_cores(maps, cores, threads):
    assert map_write_threads(maps, cores) == threads
    assert MAP_WRITE_THREADS <= threads <= MAX_MAP_WRITE_THREADS


@pytest.mark.parametrize("in_a_process", [False, True])
def test_maps_written_box_by_box_read_back_whole(tmp_path, in_a_process):
    rng = np.random.default_rng(1)
    shape = (9, 256, 384)
    box_bytes = shape[0] * 128 * 128 * 2 if in_a_process else 0
    with Project.create(tmp_path / "p.emproj") as project:
        image = add_array(project, "em", "image", rng.integers(0, 255, shape, dtype=np.uint8))
        planned = plan_outputs("pred", ["membrane", "mitochondria"], ["xy"], keep_axes=False)
        maps = {o.output: rng.integers(0, 255, shape, dtype=np.uint8) for o in planned}
        outputs = PredictionSet(project, planned, image, {}, {}, box_bytes=box_bytes)
        assert outputs.writes_in_child == in_a_process
        try:
            for y0, x0 in [(128, 256), (0, 0), (128, 0), (0, 128), (128, 128), (0, 256)]:
                box = {name: m[:, y0 : y0 + 128, x0 : x0 + 128] for name, m in maps.items()}
                outputs.write_box(y0, x0, box, {})
            records = outputs.commit()
        finally:
            outputs.close(remove=True)
        assert [r.name for r in records] == ["pred-membrane", "pred-mitochondria"]
        for record, output in zip(records, ["membrane", "mitochondria"], strict=True):
            stored = Volume(project.resolve(record.path))
            np.testing.assert_array_equal(stored.read(0, shape[0]), maps[output])
            coarse = maps[output].reshape(9, 128, 2, 192, 2).astype(np.uint16).sum(axis=(2, 4))
            np.testing.assert_array_equal(stored.read(0, shape[0], 1), (coarse + 2) // 4)
