"""The image's XY, XZ and YZ planes at the cursor, drawn in the 3D view (in nm, x y z), in the
slice views' contrast."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import vtkmodules.qt

vtkmodules.qt.PyQtImpl = "PySide6"

from vtkmodules.util.numpy_support import numpy_to_vtk  # noqa: E402
from vtkmodules.vtkCommonDataModel import vtkImageData  # noqa: E402
from vtkmodules.vtkRenderingCore import vtkImageActor, vtkRenderer  # noqa: E402

from emstudio.gui.colors import grey_bytes  # noqa: E402
from emstudio.gui.viewstate import Contrast  # noqa: E402

FULL_RANGE = Contrast()  # 0..255 to black..white, as an 8-bit image is stored
PlaneSource = Callable[[int, int], np.ndarray]  # (axis, index) -> plane, as Volume.plane


class Orthoslices:
    """Three image actors in ``renderer``, hidden until an image and a cursor are given."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self.actors = [vtkImageActor() for _ in range(3)]
        for actor in self.actors:
            actor.VisibilityOff()
            renderer.AddViewProp(actor)
        self._planes: PlaneSource | None = None
        self._contrast = FULL_RANGE
        self._shape: tuple[int, int, int] = (0, 0, 0)
        self._voxel: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def set_image(
        self,
        planes: PlaneSource,
        shape: Sequence[int],
        voxel_size: Sequence[float],
        contrast: Contrast = FULL_RANGE,
    ) -> None:
        """The image whose planes are drawn at the cursor (``Volume.plane``)."""
        self._planes = planes
        self._shape = tuple(int(s) for s in shape)
        self._voxel = tuple(float(v) for v in voxel_size)
        self._contrast = contrast

    def set_cursor(self, zyx: Sequence[int]) -> None:
        if self._planes is None:
            return
        z, y, x = self._shape
        for axis, (actor, index) in enumerate(zip(self.actors, zyx, strict=True)):
            index = int(np.clip(index, 0, self._shape[axis] - 1))
            plane = np.ascontiguousarray(grey_bytes(self._planes(axis, index), self._contrast))
            image = vtkImageData()
            dims = [(x, y, 1), (x, 1, z), (1, y, z)][axis]
            image.SetDimensions(*dims)
            vz, vy, vx = self._voxel
            image.SetSpacing(vx, vy, vz)
            origin = [0.0, 0.0, 0.0]
            origin[2 - axis] = index * self._voxel[axis]
            image.SetOrigin(*origin)
            image.GetPointData().SetScalars(numpy_to_vtk(plane.ravel(), deep=True))
            actor.SetInputData(image)
            actor.GetMapper().SetOrientation(2 - axis)  # the image's single-slice axis (x y z)
            actor.SetDisplayExtent(0, dims[0] - 1, 0, dims[1] - 1, 0, dims[2] - 1)
            actor.VisibilityOn()

    def show(self, visible: bool) -> None:
        for actor in self.actors:
            actor.SetVisibility(visible and self._planes is not None)
