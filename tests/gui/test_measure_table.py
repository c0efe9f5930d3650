"""The measurement table: numeric sorting, histogram of a column, selection linked both ways."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from emstudio.gui.measure_table import MeasureTable, as_value

ROWS = [
    {"id": "1", "class": "mito", "volume_um3": "10", "sphericity": "0.5", "touches_border": "true"},
    {"id": "2", "class": "mito", "volume_um3": "9", "sphericity": "", "touches_border": "false"},
    {
        "id": "3",
        "class": "mito",
        "volume_um3": "100",
        "sphericity": "0.9",
        "touches_border": "false",
    },
]


@pytest.fixture
def table(qtbot):
    widget = MeasureTable()
    widget.set_rows(ROWS)  # as read back from CSV (text)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.close()
    widget.deleteLater()


def ids_in_view(table: MeasureTable) -> list[str]:
    return [table.proxy.index(r, 0).data() for r in range(table.proxy.rowCount())]


def test_values_from_csv_text():
    assert as_value("3") == 3 and as_value("2.5") == 2.5 and as_value("true") is True
    assert np.isnan(as_value("")) and as_value("mito") == "mito"


def test_sorts_numerically(table):
    column = table.model.columns.index("volume_um3")
    table.view.sortByColumn(column, Qt.SortOrder.AscendingOrder)
    assert ids_in_view(table) == ["2", "1", "3"]  # 9 < 10 < 100, not "10" < "100" < "9"
    table.view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    assert ids_in_view(table) == ["3", "1", "2"]


def test_histogram_of_any_column(table):
    assert table.column_box.currentText() == "volume_um3"
    assert "class" not in [table.column_box.itemText(i) for i in range(table.column_box.count())]
    counts, edges = table.show_histogram("volume_um3")
    assert counts.sum() == 3 and edges[0] == 9 and edges[-1] == 100
    counts, _ = table.show_histogram("sphericity")  # the missing value is left out
    assert table.bottom_axis.autoSIPrefixScale == 1.0  # ticks in the column's own unit
    assert counts.sum() == 2


def test_selection_linked_both_ways(table):
    emitted = []
    table.object_selected.connect(emitted.append)
    table.select_object(3)
    assert table.selected_object() == 3 and emitted == []  # from outside: no echo
    table.view.selectRow(ids_in_view(table).index("2"))
    assert emitted == [2]
    table.select_object(None)
    assert table.selected_object() is None


def test_structures_measured_with_different_options_share_one_table(table):
    with_distance = {"structure": "mito", "id": "1", "volume_um3": "1", "distance_to_er_nm": "40"}
    plain = {"structure": "nuclei", "id": "1", "volume_um3": "5"}
    for rows in ([with_distance, plain], [plain, with_distance]):
        table.set_rows(rows)
        assert table.model.columns[-1] == "distance_to_er_nm"
        shown = [
            [table.model.index(r, c).data() for c in range(table.model.columnCount())]
            for r in range(table.model.rowCount())
        ]
        assert ["mito", "1", "1", "40"] in shown and ["nuclei", "1", "5", ""] in shown
        assert "distance_to_er_nm" in table.model.numeric_columns()
        counts, _ = table.show_histogram("distance_to_er_nm")
        assert counts.sum() == 1


def test_each_structure_has_its_own_histogram_on_shared_bins(table):
    mito = [{"structure": "mito", "id": str(i), "volume_um3": str(v)} for i, v in enumerate([1, 2])]
    nuclei = [{"structure": "nuclei", "id": "1", "volume_um3": "100"}]
    table.set_rows(mito + nuclei)
    counts, edges = table.show_histogram("volume_um3")
    assert counts.sum() == 3 and list(table.curves) == ["mito", "nuclei"]
    for name, expected in (("mito", 2), ("nuclei", 1)):
        x, y = table.curves[name].getData()
        assert np.array_equal(x, edges) and y.sum() == expected
    assert len(table.legend.items) == 2  # names the colours
    table.set_rows(mito)
    assert list(table.curves) == ["mito"] and not table.legend.items
