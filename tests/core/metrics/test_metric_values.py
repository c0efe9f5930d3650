"""Every metric against small cases computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from volume_helpers import add_array

from emstudio.core.errors import InputFileError
from emstudio.core.metrics import instance, semantic
from emstudio.core.metrics.evaluate import LabelInput, describe, evaluate, open_input
from emstudio.core.project import Project


def line(values) -> np.ndarray:
    return np.array(values, np.uint32).reshape(1, 1, -1)


def table(pred, truth) -> instance.Contingency:
    c = instance.Contingency()
    c.add(np.asarray(pred), np.asarray(truth))
    return c


def test_dice_iou_by_hand():
    counts = semantic.OverlapCounts()
    counts.add(line([1, 1, 0, 0]) > 0, line([1, 0, 0, 0]) > 0)
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 0)
    assert counts.dice == pytest.approx(2 / 3) and counts.iou == pytest.approx(1 / 2)


def test_hausdorff_by_hand_in_px_and_nm():
    pred = np.zeros((1, 1, 5), bool)
    truth = np.zeros((1, 1, 5), bool)
    pred[0, 0, 0], truth[0, 0, 3] = True, True
    px = semantic.hausdorff(pred, truth)
    nm = semantic.hausdorff(pred, truth, sampling=(40.0, 10.0, 2.0))
    assert px == {"average_hausdorff": 3.0, "hausdorff95": 3.0}
    assert nm == {"average_hausdorff": 6.0, "hausdorff95": 6.0}
    # d(P->T) = [0, 1], d(T->P) = [0]: average (0.5 + 0) / 2, 95th percentile of [0, 1] = 0.95
    two = np.zeros((1, 1, 5), bool)
    two[0, 0, :2] = True
    one = np.zeros((1, 1, 5), bool)
    one[0, 0, 0] = True
    result = semantic.hausdorff(two, one)
    assert result["average_hausdorff"] == pytest.approx(0.25)
    assert result["hausdorff95"] == pytest.approx(0.95)
    assert semantic.hausdorff(two, np.zeros_like(two))["hausdorff95"] is None


def test_matching_and_average_precision_by_hand():
    truth = line([1, 1, 1, 1, 0, 2, 2, 0, 0, 0])
    pred = line([7, 7, 7, 0, 0, 0, 0, 0, 8, 8])  # 7 ~ truth 1 (IoU 3/4), 8 is a false positive
    c = table(pred, truth)
    m50 = instance.match(c, 0.5)
    assert (m50["tp"], m50["fp"], m50["fn"]) == (1, 1, 1)
    assert m50["precision"] == 0.5 and m50["recall"] == 0.5
    assert instance.match(c, 0.76)["tp"] == 0
    # ranked 7 (hit), 8 (miss): precision envelope 1.0 up to recall 0.5 -> 51 of 101 points
    assert instance.average_precision(c, 0.5) == pytest.approx(51 / 101)
    # with scores ranking 8 first: envelope 0.5 up to recall 0.5
    scores = {8: 0.9, 7: 0.1}
    assert instance.average_precision(c, 0.5, scores) == pytest.approx(0.5 * 51 / 101)
    assert instance.average_precision(c, 0.75) == pytest.approx(51 / 101)
    perfect = table(truth, truth)
    assert instance.average_precision(perfect, 0.75) == 1.0


def test_voi_by_hand():
    truth = line([1, 1, 1, 1])
    split = line([1, 1, 2, 2])
    c = table(split, truth)
    assert instance.variation_of_information(c) == {"voi_split": 1.0, "voi_merge": 0.0}
    merged = table(line([3, 3, 3, 3]), line([1, 1, 2, 2]))
    assert instance.variation_of_information(merged) == {"voi_split": 0.0, "voi_merge": 1.0}
    # background of the truth is ignored
    ignored = table(line([1, 1, 5]), line([1, 1, 0]))
    assert instance.variation_of_information(ignored)["voi_split"] == 0.0


def test_adapted_rand_by_hand_and_against_scikit_image():
    # truth one object of 4 voxels split 2 + 2: pairs (n^2 - n): together in both 2*2 = 4,
    # in truth 12, in pred 4 -> precision 1, recall 1/3, error 1 - 2 * (1/3) / (4/3) = 0.5
    result = instance.adapted_rand(table(line([1, 1, 2, 2]), line([1, 1, 1, 1])))
    assert result["rand_precision"] == 1.0 and result["rand_recall"] == pytest.approx(1 / 3)
    assert result["adapted_rand_error"] == pytest.approx(0.5)
    from skimage.metrics import adapted_rand_error

    rng = np.random.default_rng(1)
    truth, pred = rng.integers(0, 4, (3, 8, 8)), rng.integers(0, 5, (3, 8, 8))
    expected = adapted_rand_error(truth, pred)[0]
    assert instance.adapted_rand(table(pred, truth))["adapted_rand_error"] == pytest.approx(
        expected
    )


def test_average_precision_does_not_depend_on_the_object_numbering():
    # two true objects found (ids 1, 2: 4 voxels each), two false positives (3, 4: 2 voxels)
    truth = line([1, 1, 1, 1, 0, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 3, 3])
    pred = line([1, 1, 1, 1, 0, 2, 2, 2, 2, 0, 3, 3, 0, 4, 4, 0, 0, 0])
    expected = instance.average_precision(table(pred, truth), 0.5)
    assert expected == pytest.approx(67 / 101)  # by size, hits first: precision 1 to recall 2/3
    for order in ([4, 3, 2, 1], [3, 1, 4, 2], [2, 4, 1, 3]):
        renumber = np.array([0, *order], np.uint32)
        assert instance.average_precision(table(renumber[pred], truth), 0.5) == expected


def test_contingency_adds_up_over_slabs():
    rng = np.random.default_rng(2)
    truth, pred = rng.integers(0, 6, (6, 10, 10)), rng.integers(0, 9, (6, 10, 10))
    whole = table(pred, truth)
    slabs = instance.Contingency()
    for z in range(0, 6, 2):
        slabs.add(pred[z : z + 2], truth[z : z + 2])
    assert np.array_equal(whole.count, slabs.count) and np.array_equal(whole.pred, slabs.pred)


def test_evaluate_files(tmp_path):
    truth = np.zeros((4, 16, 16), np.uint16)
    truth[1:3, 2:6, 2:6], truth[1:3, 8:12, 8:12] = 1, 2
    pred = truth.copy()
    pred[1:3, 2:6, 2:4] = 0  # object 1 half found (IoU 0.5)
    for name, data in (("t.tif", truth), ("p.tif", pred)):
        tifffile.imwrite(tmp_path / name, data, photometric="minisblack")
    with open_input(str(tmp_path / "p.tif")) as p, open_input(str(tmp_path / "t.tif")) as t:
        report = evaluate(p, t, "instance")
        sem = evaluate(p, t, "semantic")
    assert report["tp50"] == 2 and report["tp75"] == 1
    assert report["ap75"] == pytest.approx(51 / 101)  # ranked by size: 2 (hit), 1 (miss)
    assert sem["classes"]["1"]["iou"] == 0.5 and sem["classes"]["2"]["dice"] == 1.0
    json.dumps(report)
    json.dumps(sem)


def test_class_probability_is_scored_against_that_class_of_a_label_set(tmp_path):
    classes = np.zeros((4, 16, 16), np.uint8)
    classes[:, 0:4] = 1  # membrane
    classes[1:3, 8:12, 8:12] = 3  # mitochondria
    probability = np.where(classes == 3, 230, 10).astype(np.uint8)
    probability[1:3, 8:12, 8:10] = 40  # half of it missed
    names = {"0": "background", "1": "membrane", "3": "mitochondria"}
    with Project.create(tmp_path / "p.emproj") as project:
        add_array(project, "truth", "labels", classes, attrs={"classes": names})
        add_array(project, "mito", "prediction", probability, attrs={"class": "mitochondria"})
        add_array(project, "edges", "prediction", probability, attrs={"class": "boundary"})
        with open_input("mito", project) as p, open_input("truth", project) as t:
            report = evaluate(p, t, "semantic")
        assert list(report["classes"]) == ["3"]  # membrane is not part of this comparison
        assert report["classes"]["3"]["name"] == "mitochondria"  # its value in the label set
        assert report["classes"]["3"]["dice"] == pytest.approx(2 * 16 / (16 + 32))
        assert "mitochondria (3): Dice 0.6667" in describe(report)
        with (
            open_input("edges", project) as p,
            open_input("truth", project) as t,
            pytest.raises(InputFileError, match="no class 'boundary'"),
        ):
            evaluate(p, t, "semantic")


def test_semantic_scores_of_a_segmentation_count_its_objects_as_its_class(tmp_path):
    classes = np.zeros((4, 16, 16), np.uint8)
    classes[:, 0:2] = 1  # membrane
    classes[1:3, 8:12, 8:12] = classes[1:3, 2:6, 4:8] = 3  # two mitochondria
    objects = np.zeros(classes.shape, np.uint32)
    objects[1:3, 8:12, 8:12], objects[1:3, 2:6, 4:6] = 7, 9  # the second one half found
    names = {"0": "background", "1": "membrane", "3": "mitochondria"}
    with Project.create(tmp_path / "p.emproj") as project:
        add_array(project, "truth", "labels", classes, attrs={"classes": names})
        attrs = {"classes": ["mitochondria"], "class": "mitochondria"}
        add_array(project, "mito", "segmentation", objects, attrs=attrs)
        for pred, truth in (("mito", "truth"), ("truth", "mito")):
            with open_input(pred, project) as p, open_input(truth, project) as t:
                report = evaluate(p, t, "semantic")
            assert list(report["classes"]) == ["3"]
            assert report["classes"]["3"]["name"] == "mitochondria"
            assert report["classes"]["3"]["dice"] == pytest.approx(2 * 48 / (48 + 64))
        with open_input("mito", project) as p, open_input("mito", project) as t:
            assert evaluate(p, t, "instance")["n_pred"] == 2  # instances keep their ids


def test_hausdorff_pixels_are_in_plane_pixels_however_thick_the_sections():
    truth = np.zeros((6, 20, 20), np.uint8)
    truth[1:4, 5:15, 5:15] = 1
    pred = np.zeros_like(truth)
    pred[1:3, 5:15, 5:15] = 1  # one section (50 nm) short in z

    def side(name, data):
        return LabelInput(name, data.shape, (50.0, 4.0, 4.0), False, lambda a, b: data[a:b])

    report = evaluate(side("p", pred), side("t", truth), "semantic")
    entry = report["classes"]["1"]
    assert entry["hausdorff95_nm"] == pytest.approx(50.0)
    assert entry["hausdorff95_px"] == pytest.approx(12.5)  # 50 nm at 4 nm pixels, not 1 voxel
    assert entry["average_hausdorff_px"] == pytest.approx(entry["average_hausdorff_nm"] / 4)
