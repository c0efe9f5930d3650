"""Training patches: from labelled slices only, XZ/YZ views from crossing labelled slices,
anisotropic resampling, neighbouring slices as channels, centred patches, boundary targets."""

from __future__ import annotations

import numpy as np

from emstudio.core.ml.geometry import View
from emstudio.core.ml.labels import IGNORE, LabelledSlices, Target
from emstudio.core.ml.normalise import Normaliser
from emstudio.core.ml.sampling import PatchSampler

SHAPE = (16, 64, 64)
VOXEL = (40.0, 10.0, 10.0)
IDENTITY = Normaliser("volume", 0.0, 1.0)


def views(*axes: str) -> dict[str, View]:
    return {a: View(a, SHAPE, VOXEL, 10.0, 40.0, 5) for a in axes}


def coordinate_volume(dim: int) -> np.ndarray:
    """uint8 volume whose value is the voxel's coordinate along ``dim``."""
    return np.indices(SHAPE)[dim].astype(np.uint8)


def sampler(image, labels, slices, axes=("xy",), patch=32, **kw) -> PatchSampler:
    return PatchSampler(
        image, labels, slices, views(*axes), Target(("a", "b"), (1, 2)), patch, IDENTITY, **kw
    )


def test_xy_patches_come_from_labelled_slices_only() -> None:
    labels = np.ones(SHAPE, np.uint8)  # dense labels: only the listed slices may be used
    s = sampler(coordinate_volume(0), labels, LabelledSlices(z=(3, 11)))
    rng = np.random.default_rng(0)
    for _ in range(30):
        patch = s.sample(rng)
        assert patch.image[2, 0, 0] in (3, 11)  # the centre channel is the labelled plane
        assert patch.mask.all() and (patch.index == 1).all() and patch.axis == "xy"


def test_xz_views_learn_from_the_rows_of_labelled_z_slices() -> None:
    labels = np.ones(SHAPE, np.uint8)
    s = sampler(coordinate_volume(0), labels, LabelledSlices(z=(4,)), axes=("xz",), patch=64)
    assert s.axes == ["xz"]
    image, _index, _b, mask, _axis = s.extract("xz", 10, (0, 0))
    rows = np.flatnonzero(mask.any(axis=1))
    # model rows r sit at z = r / 4; the rows nearest to plane 4 are labelled (4 rows wide)
    assert rows.tolist() == [14, 15, 16, 17]
    assert mask[rows].all()
    # the image is resampled to 10 nm: z grows by 1/4 per row, until the volume ends (z 15)
    column = image[2, :, 0]
    assert np.allclose(np.diff(column[: 15 * 4]), 0.25)
    assert not mask[61:].any()  # past the last plane (padding): never labelled


def test_neighbouring_slices_are_40_nm_apart_in_every_view() -> None:
    labels = np.ones(SHAPE, np.uint8)
    s = sampler(coordinate_volume(1), labels, LabelledSlices(y=(20,)), axes=("xz",), patch=64)
    image = s.extract("xz", 20, (0, 0)).image
    assert image[:, 0, 0].tolist() == [12, 16, 20, 24, 28]  # y +- 4 and 8 (10 nm voxels)
    s = sampler(coordinate_volume(0), labels, LabelledSlices(z=(1,)), patch=32)
    image = s.extract("xy", 1, (0, 0)).image
    assert image[:, 0, 0].tolist() == [0, 0, 1, 2, 3]  # clamped at the first plane


def test_ignored_voxels_are_masked_and_classes_indexed() -> None:
    labels = np.zeros(SHAPE, np.uint8)
    labels[5, :10] = IGNORE
    labels[5, 10:20] = 2
    labels[5, 20:30] = 7  # a class not learnt: background
    s = sampler(np.zeros(SHAPE, np.uint8), labels, LabelledSlices(z=(5,)), patch=64)
    _image, index, _b, mask, _axis = s.extract("xy", 5, (0, 0))
    assert not mask[:10].any() and mask[10:].all()
    assert (index[10:20] == 2).all() and (index[20:30] == 0).all()


def test_centred_patches_find_rare_classes() -> None:
    labels = np.zeros(SHAPE, np.uint8)
    labels[2, 40:44, 50:54] = 2  # 16 voxels of class "b" in a 64 x 64 plane
    s = sampler(np.zeros(SHAPE, np.uint8), labels, LabelledSlices(z=(2,)), patch=16, focus=1.0)
    rng = np.random.default_rng(1)
    hits = sum((s.sample(rng).index == 2).any() for _ in range(20))
    assert hits == 20
    fractions = s.class_fractions(rng, patches=8)
    assert fractions[0] == 0 and fractions[1] > 0


def test_boundary_target_from_a_class_or_from_instances() -> None:
    labels = np.zeros(SHAPE, np.uint8)
    labels[2, 10:20, 10:30] = 2
    instances = np.zeros(SHAPE, np.uint32)
    instances[2, 10:20, 10:20] = 1
    instances[2, 10:20, 20:30] = 2  # two touching objects
    target = Target(("b",), (2,), boundary_of="b")
    s = PatchSampler(
        np.zeros(SHAPE, np.uint8), labels, LabelledSlices(z=(2,)), views("xy"), target, 64, IDENTITY
    )
    edge = s.extract("xy", 2, (0, 0)).boundary
    assert edge[9:11, 15].all() and edge[15, 9:11].all() and not edge[15, 15]
    assert not edge[15, 19:21].any()  # no edge between touching objects from a class mask
    s = PatchSampler(
        np.zeros(SHAPE, np.uint8),
        labels,
        LabelledSlices(z=(2,)),
        views("xy"),
        target,
        64,
        IDENTITY,
        instances=instances,
    )
    assert s.extract("xy", 2, (0, 0)).boundary[15, 19:21].all()  # ... but from instances


def test_batches_stack_patches() -> None:
    labels = np.ones(SHAPE, np.uint8)
    s = sampler(coordinate_volume(0), labels, LabelledSlices(z=(3,)), axes=("xy", "yz"))
    batch = s.batch(np.random.default_rng(0), 8)
    assert batch.image.shape == (8, 5, 32, 32) and batch.image.dtype == np.float32
    assert batch.index.shape == (8, 32, 32) and batch.mask.shape == (8, 32, 32)
    assert batch.boundary is None
    # XY patches may be turned by 90 degrees when augmenting; YZ patches (z blurred) not
    assert sorted(set(batch.turnable.tolist())) == [False, True]
