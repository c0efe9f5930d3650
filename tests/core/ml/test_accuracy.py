"""Accuracy (slow: real training on the CPU for minutes).

Phantom: a model trained on a few labelled XY slices segments the unlabelled slices with Dice
>= 0.9 for membranes and mitochondria, and tri-axis prediction beats XY-only on membranes lying
nearly parallel to the XY plane. Real data (``../shared/data``): Dice and average Hausdorff
distance on slices not trained on. Run with ``pytest -m slow -s tests/core/ml/test_accuracy.py``
to see the figures.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from scipy import ndimage

from emstudio.core.ml.labels import LabelledSlices, Target
from emstudio.core.ml.normalise import normaliser_for
from emstudio.core.ml.prediction import PredictConfig, VolumePredictor
from emstudio.core.ml.scratch import Scratch
from emstudio.core.ml.train_config import TrainConfig
from emstudio.core.ml.training import TrainData, train
from emstudio.core.synth import MEMBRANE, MITOCHONDRIA, PhantomSpec, render

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
CPU = torch.device("cpu")
PHANTOM_SHAPE = (32, 256, 256)
TRAIN_Z = (1, 7, 13, 19, 25, 31)  # 6 of 32 slices labelled
PHANTOM_TRAINING = dict(size="small", epochs=16, iterations=50, batch=8, patch=128, lr=3e-3,
                        patience=0, val_patches=8)  # fmt: skip
MARGIN = 0.03


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(2 * np.sum(pred & truth) / max(pred.sum() + truth.sum(), 1))


def predict(model, card, image, voxel, axes, tmp_path, name) -> dict[str, np.ndarray]:
    predictor = VolumePredictor(model, card, image, voxel, PredictConfig(axes=axes), CPU)
    scratch, _ = Scratch.open(tmp_path / name, image.shape, predictor.outputs, predictor.plan())
    predictor.run(scratch)
    slabs = list(predictor.combined_slabs(scratch))
    return {n: np.concatenate([c[n] for _, c, _ in slabs]) for n in predictor.outputs}


def card_for(result, classes: list[str], voxel) -> dict:
    return {
        "architecture": result.config.to_json(),
        "input": {"slices": result.config.in_channels, **result.geometry,
                  "normalisation": result.normaliser.to_json(), "voxel_size_nm": list(voxel)},
        "classes": classes, "boundary": None, "loss": "bce_dice", "weights": {"sha256": "-"},
    }  # fmt: skip


def near_xy_parallel(
    spec: PhantomSpec, cells: np.ndarray, membrane: np.ndarray, degrees: float = 20.0
) -> np.ndarray:
    """Membrane voxels whose cell face is within ``degrees`` of the XY plane, and two voxels
    around them (where a prediction of them may stray). A face between cells a and b is normal
    to seed b - seed a (power diagram); b is the nearest other cell around the voxel."""
    c = cells.astype(np.int64)
    padded = np.pad(c, ((1, 1), (5, 5), (5, 5)), mode="edge")
    other = np.zeros_like(c)
    offsets = [(dz, dy, dx) for dz in (-1, 0, 1) for dy in range(-5, 6) for dx in range(-5, 6)]
    vz, vy, vx = spec.voxel_size_nm
    offsets.sort(key=lambda o: (o[0] * vz) ** 2 + (o[1] * vy) ** 2 + (o[2] * vx) ** 2)
    z, y, x = c.shape
    for dz, dy, dx in offsets[1:]:
        shifted = padded[1 + dz : 1 + dz + z, 5 + dy : 5 + dy + y, 5 + dx : 5 + dx + x]
        found = (other == 0) & (shifted != c)
        other[found] = shifted[found]
    faces = membrane & (other > 0)
    normal = spec.cell_pos[other[faces] - 1] - spec.cell_pos[c[faces] - 1]
    cos_z = np.abs(normal[:, 0]) / np.linalg.norm(normal, axis=1)
    flat = np.zeros(c.shape, bool)
    flat[faces] = cos_z > np.cos(np.radians(degrees))
    return ndimage.binary_dilation(flat, ndimage.generate_binary_structure(3, 1), iterations=2)


def test_phantom_accuracy_and_tri_axis(tmp_path) -> None:
    spec = PhantomSpec.create(PHANTOM_SHAPE, seed=0)
    phantom = render(spec, workers=2)
    image, truth = phantom.image, phantom.semantic
    voxel = spec.voxel_size_nm
    target = Target(("membrane", "mitochondria"), (MEMBRANE, MITOCHONDRIA))
    data = TrainData(image, truth, voxel, LabelledSlices(z=TRAIN_Z), target)
    config = TrainConfig(**PHANTOM_TRAINING)
    result = train(data, config, CPU, normaliser_for("volume", image))
    card = card_for(result, list(target.classes), voxel)
    xy = predict(result.model, card, image, voxel, ["xy"], tmp_path, "xy")
    tri = predict(result.model, card, image, voxel, ["xy", "xz", "yz"], tmp_path, "tri")
    test = [z for z in range(PHANTOM_SHAPE[0]) if z not in TRAIN_Z]
    parallel = near_xy_parallel(spec, phantom.cells, truth == MEMBRANE)[test]
    figures = {}
    for name, value in (("membrane", MEMBRANE), ("mitochondria", MITOCHONDRIA)):
        t = truth[test] == value
        for label, maps in (("xy", xy), ("tri", tri)):
            p = maps[name][test] >= 128
            figures[f"{label} {name}"] = dice(p, t)
            if name == "membrane":  # membranes within 20 degrees of the XY plane
                figures[f"{label} near-XY membrane"] = dice(p & parallel, t & parallel)
    print("\nphantom accuracy on unlabelled slices (Dice):")
    for key, value in figures.items():
        print(f"  {key:<28} {value:.4f}")
    print(f"  training: {len(result.history)} epochs in {result.seconds:.0f} s")
    assert figures["tri membrane"] >= 0.9 and figures["tri mitochondria"] >= 0.9
    assert figures["tri near-XY membrane"] >= figures["xy near-XY membrane"] + MARGIN


def average_hausdorff_2d(pred: np.ndarray, truth: np.ndarray, spacing: float) -> float:
    """Symmetric mean surface distance of two 2D masks, in pixels x ``spacing``."""
    cross = ndimage.generate_binary_structure(2, 1)
    sp = pred & ~ndimage.binary_erosion(pred, cross, border_value=0)
    st = truth & ~ndimage.binary_erosion(truth, cross, border_value=0)
    if not sp.any() or not st.any():
        return float("nan")
    to_t = ndimage.distance_transform_edt(~st)[sp]
    to_p = ndimage.distance_transform_edt(~sp)[st]
    return float((to_t.mean() + to_p.mean()) / 2 * spacing)


REAL_DATA = {
    # name: (image file, labels file, voxel (z, y, x) nm, class -> mask of the raw labels, crop)
    "isbi2012 membranes": (
        "isbi2012/train-volume.tif", "isbi2012/train-labels.tif", (50.0, 4.0, 4.0),
        {"membrane": lambda raw: raw == 0}, (slice(None), slice(None), slice(None)),
    ),
    "vnc mitochondria": (
        "vnc_gerhard2013/raw.tif", "vnc_gerhard2013/labels.tif", (50.0, 4.6, 4.6),
        {"mitochondria": lambda raw: raw == 191}, (slice(None), slice(0, 512), slice(0, 512)),
    ),
}  # fmt: skip


@pytest.mark.parametrize("dataset", list(REAL_DATA))
def test_real_data_on_slices_not_trained_on(shared_data, tmp_path, dataset) -> None:
    image_file, labels_file, voxel, classes, crop = REAL_DATA[dataset]
    image = np.ascontiguousarray(tifffile.imread(shared_data / image_file)[crop])
    raw = tifffile.imread(shared_data / labels_file)[crop]
    labels = np.zeros(raw.shape, np.uint8)
    for value, select in enumerate(classes.values(), start=1):
        labels[select(raw)] = value
    train_z = tuple(range(0, image.shape[0], 3))
    target = Target(tuple(classes), tuple(range(1, len(classes) + 1)))
    data = TrainData(image, labels, voxel, LabelledSlices(z=train_z), target)
    config = TrainConfig(**{**PHANTOM_TRAINING, "patch": 256, "batch": 4})
    result = train(data, config, CPU, normaliser_for("volume", image))
    card = card_for(result, list(classes), voxel)
    test = [z for z in range(image.shape[0]) if z not in train_z]
    print(f"\n{dataset}: trained on z {list(train_z)}, tested on {len(test)} other slices")
    for axes in (["xy"], ["xy", "xz", "yz"]):
        maps = predict(result.model, card, image, voxel, axes, tmp_path, "-".join(axes))
        for value, name in enumerate(classes, start=1):
            p, t = maps[name][test] >= 128, labels[test] == value
            hd = np.nanmean([average_hausdorff_2d(p[i], t[i], 1.0) for i in range(len(test))])
            print(f"  {'+'.join(axes):<9} {name:<13} Dice {dice(p, t):.3f}  average Hausdorff "
                  f"{hd:.2f} px = {hd * voxel[1]:.1f} nm")  # fmt: skip
            assert dice(p, t) > 0.5
