"""The synthetic EM phantom: determinism, slab consistency, ground-truth validity, image realism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from emstudio.core.synth import (
    CLASS_NAMES,
    MEMBRANE,
    MITOCHONDRIA,
    NUCLEAR_ENVELOPE,
    PhantomSpec,
    render,
    render_slab,
    rendering,
)

FIELDS = ("image", "semantic", "mito_instances", "nuclei", "cells")
SHAPE = (32, 256, 256)


@pytest.fixture(scope="module")
def spec() -> PhantomSpec:
    return PhantomSpec.create(SHAPE, seed=0)


@pytest.fixture(scope="module")
def vol(spec):
    return render(spec)


def assert_same(a, b, planes=slice(None)) -> None:
    for f in FIELDS:
        x, y = getattr(a, f)[planes], getattr(b, f)
        assert x.dtype == y.dtype, f
        assert np.array_equal(x, y), f"{f}: {(x != y).sum()} voxels differ"


def test_class_names():
    assert CLASS_NAMES == {0: "background", 1: "membrane", 2: "nuclear_envelope", 3: "mitochondria"}
    assert (MEMBRANE, NUCLEAR_ENVELOPE, MITOCHONDRIA) == (1, 2, 3)


def test_spec_defaults_equality_and_validation(spec):
    s = PhantomSpec.create()
    assert s.shape == SHAPE and s.voxel_size_nm == (40.0, 10.0, 10.0) and s.seed == 0
    assert s == spec and hash(s) == hash(spec) and np.array_equal(s.cell_pos, spec.cell_pos)
    assert s != PhantomSpec.create((4, 32, 32), seed=0)
    assert s.n_nuclei >= 1 and s.n_mitochondria >= 10 and s.n_cells > s.n_nuclei
    for bad in (
        {"shape": (0, 8, 8)},
        {"shape": (8, 8)},
        {"voxel_size_nm": (40, 0, 10)},
        {"seed": -1},
    ):
        with pytest.raises(ValueError):
            PhantomSpec.create(**bad)
    with pytest.raises(ValueError):
        render_slab(s, 5, 5)
    with pytest.raises(ValueError):
        render_slab(s, 0, SHAPE[0] + 1)


def test_deterministic_per_seed():
    shape = (6, 96, 128)
    a = render(PhantomSpec.create(shape, seed=7))
    b = render(PhantomSpec.create(shape, seed=7))
    assert_same(a, b)
    c = render(PhantomSpec.create(shape, seed=8))
    assert not np.array_equal(a.image, c.image)
    assert not np.array_equal(a.cells, c.cells)


def test_slabs_equal_planes_of_full_volume(spec, vol):
    for z0, z1 in ((0, 1), (5, 9), (13, 27), (29, 32), (31, 32)):
        slab = render_slab(spec, z0, z1)
        assert (slab.z0, slab.z1) == (z0, z1)
        assert_same(vol, slab, slice(z0, z1))


def test_work_units_and_threads_do_not_change_voxels(monkeypatch):
    # row bands (with filter halos) and threads must give the same voxels as one block
    s = PhantomSpec.create((5, 200, 144), seed=3, voxel_size_nm=(30.0, 8.0, 8.0))
    whole = render(s)
    monkeypatch.setattr(rendering, "_UNIT_VOXELS", 1 << 13)
    assert_same(whole, render(s, workers=2))
    assert_same(whole, render_slab(s, 2, 4), slice(2, 4))


def test_arrays(vol):
    for f, dtype in zip(FIELDS, (np.uint8, np.uint8, np.uint32, np.uint32, np.uint32), strict=True):
        a = getattr(vol, f)
        assert a.shape == SHAPE and a.dtype == dtype, f
    assert set(np.unique(vol.semantic)) == {0, 1, 2, 3}


def test_class_fractions(vol):
    sem = vol.semantic
    assert 0.03 <= (sem == MEMBRANE).mean() <= 0.20
    assert 0.02 <= (sem == MITOCHONDRIA).mean() <= 0.20
    assert (sem == NUCLEAR_ENVELOPE).mean() > 0.002
    assert (sem == 0).mean() > 0.5


def test_mitochondria_instances(spec, vol):
    mito, sem = vol.mito_instances, vol.semantic
    n = spec.n_mitochondria
    assert np.array_equal(np.unique(mito), np.arange(n + 1))  # unique ids 1..N, all present
    assert np.array_equal(mito > 0, sem == MITOCHONDRIA)
    six = ndimage.generate_binary_structure(3, 1)
    for i, sl in enumerate(ndimage.find_objects(mito), start=1):
        obj = mito[sl] == i
        assert ndimage.label(obj, six)[1] == 1, f"mitochondrion {i} is not 6-connected"
        assert obj.shape[0] >= 3, f"mitochondrion {i} spans {obj.shape[0]} planes"
        # inside one cell, never touching a membrane
        assert len(np.unique(vol.cells[sl][obj])) == 1
    # the centre of each axis segment is labelled with its own id
    mid = (spec.mito_p0 + spec.mito_p1) / 2 / np.array(spec.voxel_size_nm)
    idx = np.rint(mid).astype(int)
    assert np.array_equal(mito[idx[:, 0], idx[:, 1], idx[:, 2]], np.arange(1, n + 1))
    grown = ndimage.binary_dilation(mito > 0, np.ones((1, 3, 3), bool))
    assert not np.any(grown & (sem == MEMBRANE))


def test_nuclei(spec, vol):
    nuc = vol.nuclei
    m = spec.n_nuclei
    assert m >= 1
    assert np.array_equal(np.unique(nuc), np.arange(m + 1))
    six = ndimage.generate_binary_structure(3, 1)
    for i, sl in enumerate(ndimage.find_objects(nuc), start=1):
        assert ndimage.label(nuc[sl] == i, six)[1] == 1
    env = vol.semantic == NUCLEAR_ENVELOPE
    assert np.all(nuc[env] > 0)  # the envelope belongs to its nucleus
    assert not np.any((nuc > 0) & (vol.semantic == MITOCHONDRIA))
    # only some cells have a nucleus
    assert len(np.unique(vol.cells)) > 3 * m


def test_membranes_separate_cells(vol):
    # wherever two face-adjacent voxels belong to different cells, one of them is membrane:
    # the truth is tunnel free, also between planes (40 nm apart) and for sheets parallel to XY
    mem = vol.semantic == MEMBRANE
    cells = vol.cells
    for axis in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis], b[axis] = slice(0, -1), slice(1, None)
        a, b = tuple(a), tuple(b)
        border = cells[a] != cells[b]
        assert border.any()
        assert not np.any(border & ~mem[a] & ~mem[b]), f"gap between cells along axis {axis}"


def test_image_contrast_and_difficulty(vol):
    img, sem = vol.image, vol.semantic
    mem = sem == MEMBRANE
    cyto = img[sem == 0].mean()
    assert img[mem].mean() < cyto - 20  # membranes clearly darker on average
    assert img[sem == MITOCHONDRIA].mean() < cyto - 30
    assert 20 < img.std() < 60 and 100 < img.mean() < 220

    def best_threshold_dice(a: np.ndarray) -> float:
        a = np.clip(np.rint(a), 0, 255).astype(np.int64)
        tp = np.cumsum(np.bincount(a[mem], minlength=256))
        pred = np.cumsum(np.bincount(a.ravel(), minlength=256))
        return float((2 * tp / (pred + mem.sum())).max())

    raw = best_threshold_dice(img)
    smooth = best_threshold_dice(ndimage.gaussian_filter(img.astype(np.float32), (0, 1, 1)))
    assert raw < 0.8  # a global threshold does not solve it...
    assert raw > 0.2 and smooth > raw  # ...but the signal is there (not hopeless)


def test_membranes_nearly_parallel_to_xy_exist(spec, vol):
    # the normal of the membrane sheets, from the gradient of the distance to them (in nm)
    mem = vol.semantic[:, :, :128] == MEMBRANE  # half the field is plenty (and faster)
    d = ndimage.distance_transform_edt(~mem, sampling=spec.voxel_size_nm)
    gz, gy, gx = np.gradient(d, *spec.voxel_size_nm)
    gn = np.sqrt(gz**2 + gy**2 + gx**2)
    near = (d > 0) & (d <= 50) & (gn > 0.5)
    cos_z = np.abs(gz[near]) / gn[near]
    within_30 = cos_z > np.cos(np.radians(30))
    assert within_30.sum() > 500 and within_30.mean() > 0.02
