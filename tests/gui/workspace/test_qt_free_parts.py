"""The Qt-free parts of the viewers: view state, plane cache and reader, label editor, colours."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from workspace_helpers import add_array

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import Project
from emstudio.core.volume.blocks import read_planes
from emstudio.core.volume.store import Volume, VolumeWriter
from emstudio.gui import colors
from emstudio.gui.instance_colours import Colouring, InstanceColourer
from emstudio.gui.label_editor import MAX_UNDO, LabelEditor
from emstudio.gui.layers import LayerSet
from emstudio.gui.planes import (
    Overview,
    PlaneCache,
    PlaneKey,
    PlaneReader,
    level_factors,
    overview_level,
)
from emstudio.gui.viewstate import CURSOR, Contrast, ViewState


def test_view_state_notifies_and_clamps() -> None:
    state = ViewState()
    topics: list[str] = []
    state.subscribe(topics.append)
    state.set_image("em", (10, 20, 30), (40.0, 10.0, 10.0))
    assert state.cursor == (5, 10, 15) and state.centre == (200.0, 100.0, 150.0)
    topics.clear()
    state.set_slice(0, 99)
    assert state.cursor == (9, 10, 15) and topics == [CURSOR]
    state.set_cursor((9, 10, 15))
    assert topics == [CURSOR]  # no change, no notification
    state.step_slice(2, -100)
    assert state.cursor == (9, 10, 0)


def _store(path: Path, data: np.ndarray, kind: str = "image") -> Volume:
    voxel = VoxelSize(40, 10, 10, known=True)
    with VolumeWriter(path, data.shape, data.dtype, voxel, kind, "v") as writer:
        writer.write_slab(0, data)
        writer.finalize({})
    return Volume(path)


@pytest.mark.parametrize("kind", ["image", "labels"])  # raw and compressed chunks
def test_plane_blocks_equal_single_planes(tmp_path: Path, kind: str) -> None:
    data = np.random.default_rng(0).integers(0, 255, (40, 150, 300), dtype=np.uint8)
    volume = _store(tmp_path / "v.zarr", data, kind)
    for axis, (start, stop) in enumerate(((30, 36), (120, 140), (0, 5))):
        block = read_planes(volume, axis, start, stop)
        for offset in range(stop - start):
            assert np.array_equal(block[offset], volume.plane(axis, start + offset))
    coarse = read_planes(volume, 1, 0, 3, level=1)
    assert np.array_equal(coarse[2], volume.plane(1, 2, level=1))


def test_cache_keeps_to_its_budget() -> None:
    cache = PlaneCache(max_bytes=3 * 100)
    keys = [PlaneKey("a", 0, i, 0) for i in range(5)]
    for key in keys:
        cache.put(key, np.zeros(100, np.uint8))
    assert cache.nbytes == 300 and keys[0] not in cache and keys[4] in cache
    cache.forget("a")
    assert cache.nbytes == 0


def test_reader_reads_the_wanted_plane_then_its_neighbours(tmp_path: Path) -> None:
    data = np.arange(20 * 16 * 16, dtype=np.uint32).reshape(20, 16, 16).astype(np.uint8)
    volume = _store(tmp_path / "v.zarr", data)
    ready: list[PlaneKey] = []
    done = threading.Event()
    cache = PlaneCache()
    reader = PlaneReader(cache, lambda key: (ready.append(key), done.set()), prefetch=4)
    try:
        wanted = PlaneKey(str(volume.path), 0, 10, 0)
        reader.request([wanted], group="xy")
        assert done.wait(10)
        deadline = time.monotonic() + 10
        neighbours = [wanted.at(i) for i in range(6, 15)]
        while not all(k in cache for k in neighbours) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready[0] == wanted
        assert all(k in cache for k in neighbours)
        assert np.array_equal(cache.get(wanted.at(13)), data[13])
        reader.request([PlaneKey(str(volume.path), 2, 5, 0)], group="yz")
        deadline = time.monotonic() + 10
        while PlaneKey(str(volume.path), 2, 5, 0) not in cache and time.monotonic() < deadline:
            time.sleep(0.01)
        yz = cache.get(PlaneKey(str(volume.path), 2, 5, 0))
        assert np.array_equal(yz, data[:, :, 5].T) and yz.flags.c_contiguous  # (y, z)
    finally:
        reader.stop()


def test_overview_stands_in_for_planes_not_read_yet(tmp_path: Path) -> None:
    data = np.random.default_rng(1).integers(0, 255, (40, 600, 520), dtype=np.uint8)
    volume = _store(tmp_path / "v.zarr", data)
    assert volume.levels == 3  # 600 x 520 -> 300 x 260 -> 150 x 130 in-plane
    assert overview_level(volume) == 1  # never level 0 of a multiscale volume
    assert overview_level(volume, budget=40 * 300 * 260 - 1) == 2
    assert overview_level(volume, budget=1) is None  # nothing stands in then
    assert Overview(0, 0, None, level_factors(volume)).plane(PlaneKey("v", 0, 3, 0)) is None
    coarse = Overview(0, 1, read_planes(volume, 0, 0, 40, 1), level_factors(volume))
    key = PlaneKey(str(volume.path), 2, 401, 0)
    stand_key, plane = coarse.plane(key)
    assert stand_key == PlaneKey(key.path, 2, 200, 1)
    assert np.array_equal(plane, volume.plane(2, 200, 1).T) and plane.flags.c_contiguous
    assert coarse.plane(PlaneKey(key.path, 0, 7, 2)) is None  # finer than asked: not used
    assert coarse.plane(PlaneKey(key.path, 0, 7, 0, version=1)) is None  # an older content
    reader = PlaneReader(PlaneCache(), lambda key: None)
    try:
        assert reader.overview(key) is None
        reader.request([key], group="yz")
        deadline = time.monotonic() + 10
        while reader.overview(key) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        stand_key, plane = reader.overview(key)
        assert stand_key == PlaneKey(key.path, 2, 200, 1)
        assert np.array_equal(plane, volume.plane(2, 200, 1).T)
        reader.forget(key.path)
        assert reader.overview(key) is None
    finally:
        reader.stop()


def _editor(tmp_path: Path, data: np.ndarray) -> LabelEditor:
    with Project.create(tmp_path / "P.emproj") as project:
        add_array(project, "em", "image", data)
        labels = add_array(project, "lab", "labels", np.zeros_like(data))
        layers = LayerSet(ViewState())
        layers.open(project)
        layers.assign("labels", labels.name)
        editor = LabelEditor(layers.layer("labels"))
    return editor


def test_brush_fill_undo_and_painted_slices(tmp_path: Path) -> None:
    editor = _editor(tmp_path, np.zeros((6, 40, 50), np.uint8))
    base = np.zeros((40, 50), np.uint8)
    editor.begin_step()
    assert editor.brush(0, 2, (10.5, 5.5), (10.5, 30.5), (1.5, 1.5), 1)
    assert editor.end_step()
    plane = editor.plane(0, 2, base)
    assert plane[10, 5:31].all() and plane[9:12, 15].all() and not plane[13, 15]
    assert editor.painted["z"] == {2}
    # a closed square, filled inside only
    square = ((20.5, 20.5), (20.5, 30.5), (30.5, 30.5), (30.5, 20.5), (20.5, 20.5))
    for a, b in itertools.pairwise(square):
        editor.begin_step()
        editor.brush(0, 2, a, b, (0.5, 0.5), 2)
        editor.end_step()
    assert editor.fill(0, 2, (25, 25), editor.plane(0, 2, base), 3)  # one undo step
    plane = editor.plane(0, 2, base)
    assert (plane[21:30, 21:30] == 3).all() and plane[35, 45] == 0
    for _ in range(6):
        assert editor.undo()
    assert not editor.plane(0, 2, base).any() and editor.painted["z"] == set()
    assert editor.redo() and editor.plane(0, 2, base)[10, 10] == 1


def test_undo_history_holds_many_steps_and_yz_orientation(tmp_path: Path) -> None:
    editor = _editor(tmp_path, np.zeros((6, 40, 50), np.uint8))
    for i in range(MAX_UNDO + 5):
        editor.begin_step()
        editor.brush(2, 7, (i % 40 + 0.5, 2.5), (i % 40 + 0.5, 2.5), (0.5, 0.5), 1 + i % 3)
        editor.end_step()
    assert editor.undo_steps == MAX_UNDO >= 50
    # YZ planes are shown with y down and z across: (row, col) = (y, z)
    chunks, painted, _ = editor.snapshot()
    stored = np.zeros((6, 40, 50), np.uint8)
    for key, chunk in chunks.items():
        z0, y0, x0 = (k * c for k, c in zip(key, editor.chunk_shape, strict=True))
        part = chunk[: 6 - z0, : 40 - y0, : 50 - x0]
        stored[z0 : z0 + part.shape[0], y0 : y0 + part.shape[1], x0 : x0 + part.shape[2]] = part
    assert stored[2, 0:40, 7].all() and painted["x"] == {7}


def test_a_fill_is_computed_without_changing_the_editor_then_applied(tmp_path: Path) -> None:
    editor = _editor(tmp_path, np.zeros((6, 40, 50), np.uint8))
    base = np.zeros((40, 6), np.uint8)  # a YZ plane (y, z)
    editor.begin_step()
    editor.brush(2, 9, (0.5, 2.5), (39.5, 2.5), (0.5, 0.5), 1)  # a wall at z = 2
    editor.end_step()
    shown = editor.plane(2, 9, base)
    fill = editor.fill_changes(2, 9, (5, 0), shown, 2, background_only=True)  # a worker's part
    assert fill.chunks and np.array_equal(editor.plane(2, 9, base), shown)  # nothing changed yet
    assert editor.undo_steps == 1 and editor.painted["x"] == {9}
    assert editor.apply_fill(fill)
    after = editor.plane(2, 9, base)
    assert (after[:, :2] == 2).all() and (after[:, 2] == 1).all() and not after[:, 3:].any()
    assert editor.fill_changes(2, 9, (5, 2), after, 3, background_only=True).changes == []
    assert editor.undo() and np.array_equal(editor.plane(2, 9, base), shown)


def test_colour_tables() -> None:
    levels, lut = colors.grey_lut(Contrast(10, 200, 1.0, invert=True))
    assert levels == (10, 200) and lut[0] == 255 and lut[-1] == 0
    assert colors.class_lut()[0, 3] == 0 and colors.class_lut()[3, 3] == 255
    assert (colors.probability_lut(100)[:100, 3] == 0).all()
    ids = np.zeros((8, 8), np.uint32)
    ids[2:6, 2:6] = 7
    ids[6, 6] = 2**20 + 7  # a large id
    filled, outlined = colors.instance_indices(ids, False), colors.instance_indices(ids, True)
    assert (filled > 0).sum() == 17 and (outlined > 0).sum() == 13
    assert filled[3, 3] == filled[2, 2] == colors.instance_indices(ids.T, False)[4, 4] > 0
    assert colors.instance_lut()[filled[3, 3], 3] == 255 and colors.instance_lut()[0, 3] == 0


def test_instance_planes_are_coloured_in_the_colourer_thread_newest_first() -> None:
    ids = np.zeros((8, 8), np.uint32)
    ids[2:6, 2:6] = 7
    threads: list[threading.Thread] = []

    def patch(plane: np.ndarray) -> np.ndarray:  # the proofreading edits: id 7 became 9
        threads.append(threading.current_thread())
        return np.where(plane == 7, 9, plane).astype(np.uint32)

    done: list[Colouring] = []
    ready = threading.Event()
    colourer = InstanceColourer(lambda c: (done.append(c), ready.set()))
    stale, fresh = (Colouring(PlaneKey("s", 0, i, 0), False, (9,), 1) for i in (1, 2))
    try:
        with colourer._condition:  # both wait: the newer request of the view replaces the older
            colourer.request("xy", stale, ids, patch)
            colourer.request("xy", fresh, ids, patch)
        assert ready.wait(10) and done == [fresh] and colourer.get(stale) is None
        coloured = colourer.get(fresh)
        assert coloured is not None and threads == [colourer._thread]
        assert threading.main_thread() not in threads
        assert (coloured.ids[2:6, 2:6] == 9).all()
        expected = colors.instance_indices(coloured.ids, False, (9,))
        assert np.array_equal(coloured.indices, expected)
        assert coloured.indices[3, 3] == colors.SELECTED_FILL
    finally:
        colourer.stop()


def test_reader_survives_a_vanished_store(tmp_path: Path) -> None:
    data = np.zeros((4, 8, 8), np.uint8)
    volume = _store(tmp_path / "v.zarr", data)
    ready = threading.Event()
    cache = PlaneCache()
    reader = PlaneReader(cache, lambda key: ready.set())
    try:
        reader.request([PlaneKey(str(tmp_path / "gone.zarr"), 0, 1, 0)], group="a")
        reader.request([PlaneKey(str(volume.path), 0, 1, 0)], group="b")
        assert ready.wait(10) and PlaneKey(str(volume.path), 0, 1, 0) in cache
    finally:
        reader.stop()
