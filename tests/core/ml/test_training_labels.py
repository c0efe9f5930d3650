"""Sparse labels: which slices count as labelled, --slices, classes, the validation split."""

from __future__ import annotations

import numpy as np
import pytest

from emstudio.core.ml.errors import LabelsError
from emstudio.core.ml.labels import (
    IGNORE,
    LabelledSlices,
    find_labelled_slices,
    parse_slices,
    resolve_target,
)

CLASSES = {"classes": {"0": "background", "1": "membrane", "3": "mitochondria"}}


def test_without_a_list_every_z_slice_holding_a_label_counts() -> None:
    labels = np.zeros((6, 8, 8), np.uint8)
    labels[1, 2, 2] = 1
    labels[5, 0, 0] = 3
    warnings: list[str] = []
    assert find_labelled_slices(labels, CLASSES, warn=warnings.append) == LabelledSlices(z=(1, 5))
    assert len(warnings) == 1 and "its 4 z slices holding no class are taken as" in warnings[0]
    labels[4] = IGNORE  # "not labelled here" everywhere: not a labelled slice, but where the
    labels[3, :4] = IGNORE  # volume says what is not labelled, all the others are, background too
    assert find_labelled_slices(labels, CLASSES, warn=warnings.append) == LabelledSlices(
        z=(0, 1, 2, 3, 5)
    )
    assert len(warnings) == 1  # nothing left out unsaid: the volume marks what is not labelled


def test_the_painting_tools_list_wins_and_slices_option_wins_over_it() -> None:
    labels = np.zeros((6, 8, 8), np.uint8)
    attrs = {**CLASSES, "labelled_slices": {"z": [0, 2], "y": [3], "x": []}}
    assert find_labelled_slices(labels, attrs) == LabelledSlices(z=(0, 2), y=(3,))
    assert find_labelled_slices(labels, attrs, "z:1-3;x:7") == LabelledSlices(z=(1, 2, 3), x=(7,))


def test_no_labelled_slice_and_outside_slices_are_refused() -> None:
    with pytest.raises(LabelsError, match="no labelled slice"):
        find_labelled_slices(np.zeros((3, 4, 4), np.uint8), CLASSES)
    with pytest.raises(LabelsError, match="outside"):
        find_labelled_slices(np.zeros((3, 4, 4), np.uint8), CLASSES, "z:0,9")


@pytest.mark.parametrize("text", ["q:1", "z:", "z:a", "", "z:1-b"])
def test_malformed_slices_are_refused(text) -> None:
    with pytest.raises(LabelsError):
        parse_slices(text)


def test_targets_by_name() -> None:
    target = resolve_target(CLASSES, ["mitochondria"], "mitochondria")
    assert target.classes == ("mitochondria",) and target.values == (3,)
    assert resolve_target(CLASSES, None).classes == ("membrane", "mitochondria")
    with pytest.raises(LabelsError, match="'nucleus' is not in the label set"):
        resolve_target(CLASSES, ["nucleus"])
    with pytest.raises(LabelsError, match="boundary"):
        resolve_target(CLASSES, ["membrane"], "mitochondria")
    with pytest.raises(LabelsError, match="no classes"):
        resolve_target({}, None)


def test_split_holds_out_spread_slices_and_keeps_single_ones() -> None:
    train, val = LabelledSlices(z=tuple(range(0, 40, 4)), y=(5,)).split(0.2)
    assert len(val.z) == 2 and not set(val.z) & set(train.z)
    assert set(val.z) | set(train.z) == set(range(0, 40, 4))
    assert train.y == (5,) and val.y == ()
    assert LabelledSlices(z=(3,)).split(0.2)[1].count == 0
