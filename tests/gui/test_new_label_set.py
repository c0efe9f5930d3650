"""The classes typed into the "New label set" dialog."""

from __future__ import annotations

import pytest

from emstudio.gui.new_label_set import classes_text, parse_classes


def test_classes_are_numbered_as_typed_or_by_line():
    assert parse_classes("1 membrane\n\n3 mitochondria\n") == {
        0: "background",
        1: "membrane",
        3: "mitochondria",
    }
    assert parse_classes("membrane\nnuclear envelope") == {
        0: "background",
        1: "membrane",
        2: "nuclear envelope",
    }
    assert classes_text(parse_classes("2 er\n1 mito")) == "1 mito\n2 er"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mito\n2 er\n2 golgi", "'er' and 'golgi' both have the value 2"),
        ("2 er\nmito", "'er' and 'mito' both have the value 2"),  # line 2 numbered 2
        ("0 cells", "0 is the background"),
        ("300 cells", "not 300"),
        ("1 mito\n2 mito", "two classes are named 'mito'"),
        ("\n  \n", "at least one class"),
    ],
)
def test_classes_that_would_be_lost_or_mixed_up_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_classes(text)
