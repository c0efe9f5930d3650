"""The image's planes drawn in the 3D view."""

from __future__ import annotations

import numpy as np
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkRenderingCore import vtkRenderer

from emstudio.gui.orthoslices import Orthoslices
from emstudio.gui.viewstate import Contrast


def test_planes_of_a_16_bit_image_follow_the_contrast():
    """Planes are drawn as the slice views show them, not cut to their low byte."""

    def planes(axis, index):
        return np.full([(60, 60), (20, 60), (20, 60)][axis], 40_000, np.uint16)

    slices = Orthoslices(vtkRenderer())
    slices.set_cursor((10, 30, 30))  # no image yet: nothing drawn
    assert not any(actor.GetVisibility() for actor in slices.actors)
    slices.set_image(planes, (20, 60, 60), (40.0, 10.0, 10.0), Contrast(30_000.0, 50_000.0))
    slices.set_cursor((10, 30, 30))
    for actor in slices.actors:
        shown = vtk_to_numpy(actor.GetInput().GetPointData().GetScalars())
        assert shown.dtype == np.uint8 and set(shown.tolist()) == {127}  # was 64: 40,000 mod 256
    slices.show(False)
    assert not any(actor.GetVisibility() for actor in slices.actors)
