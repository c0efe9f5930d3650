"""The seeds of a split drawn in one slice view: a dot per seed voxel, in its colour."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from emstudio.gui.proofread_session import SEED_COLOURS

DOT_PX = 6


class SeedMarks:
    """A scatter item in a view box (scene units: nm)."""

    def __init__(self, box: pg.ViewBox, row_axis: int, col_axis: int) -> None:
        self.row_axis, self.col_axis = row_axis, col_axis
        self.item = pg.ScatterPlotItem(pxMode=True, size=DOT_PX, pen=None, symbol="s")
        self.item.setZValue(12)
        box.addItem(self.item, ignoreBounds=True)
        self._brushes = {c: pg.mkBrush(*rgb, 230) for c, rgb in SEED_COLOURS.items()}

    def show(
        self, seeds: dict[int, list[tuple[int, int]]], voxel_size: tuple[float, float, float]
    ) -> None:
        """Draw ``seeds`` (per colour, plane (row, column) voxels) at voxel centres."""
        points = [(r, c, colour) for colour, group in seeds.items() for r, c in group]
        if not points:
            self.item.clear()
            return
        rows, cols, colours = (np.array(v) for v in zip(*points, strict=True))
        self.item.setData(
            x=(cols + 0.5) * voxel_size[self.col_axis],
            y=(rows + 0.5) * voxel_size[self.row_axis],
            brush=[self._brushes[int(c)] for c in colours],
        )
