"""The one Qt-free view state every viewer observes (DESIGN: viewers never talk to each other).

Slice views, the status bar, the layer and paint panels (and later the 3D view, measurement
tables...) read this state and change it through its methods; each change notifies the
subscribers with a topic string, so a view redraws only what concerns it.

Axis conventions: voxel positions are (z, y, x) integers; ``axis`` 0, 1, 2 names the view
across that axis: 0 = XY (plane at z), 1 = XZ (at y), 2 = YZ (at x).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

Voxel = tuple[int, int, int]
Listener = Callable[[str], None]

AXIS_TITLES = ("XY", "XZ", "YZ")
# (row axis, column axis) of each view as displayed: XY (y, x), XZ (z, x), YZ (y, z); YZ is
# shown with z across so that its rows line up with the XY view's rows (orthoviews)
PLANE_AXES = ((1, 2), (0, 2), (1, 0))
OVERLAYS = ("labels", "instances", "probability")  # overlay slots, drawn in this order
TOOLS = ("navigate", "brush", "eraser", "fill")
MAX_BRUSH = 255  # largest brush diameter (voxels)

# topics sent to listeners
VOLUME = "volume"  # the displayed image (shape, voxel size) changed
CURSOR = "cursor"
HOVER = "hover"
LAYERS = "layers"  # which volume fills an overlay slot, visibility, opacity, threshold
CONTRAST = "contrast"
LAYOUT = "layout"
CAMERA = "camera"  # the shared centre (nm) and zoom (nm per screen pixel) of the views
TOOL = "tool"  # painting tool, brush size, class, background-only
SELECTION = "selection"  # the selected objects (instance ids) changed


@dataclass(frozen=True)
class Contrast:
    """Display range of the image: ``low``..``high`` mapped to black..white, then gamma."""

    low: float = 0.0
    high: float = 255.0
    gamma: float = 1.0
    invert: bool = False


@dataclass(frozen=True)
class Overlay:
    """One overlay slot: the volume shown in it (catalog name) and how it is drawn."""

    volume: str | None = None
    visible: bool = True
    opacity: float = 0.5
    threshold: int = 128  # probability maps: values below are transparent (0..255)
    outlines: bool = True  # instances: outlines only (fills hide the image)


@dataclass(frozen=True)
class Paint:
    """The painting tool and its settings."""

    tool: str = "navigate"
    size: int = 9  # brush diameter in in-plane voxels (the finer in-plane axis)
    value: int = 1  # class painted
    background_only: bool = False  # brush changes only voxels that are still background


@dataclass
class Hover:
    """What is under the mouse: the voxel, and the value of each displayed layer there."""

    voxel: Voxel
    values: dict[str, Any] = field(default_factory=dict)


class ViewState:
    """Cursor, hover, layers, contrast, layout and tool of the open project's viewers."""

    def __init__(self) -> None:
        self.image: str | None = None  # catalog name of the displayed image
        self.shape: Voxel = (1, 1, 1)
        self.voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
        self.cursor: Voxel = (0, 0, 0)
        self.centre: tuple[float, float, float] = (0.0, 0.0, 0.0)  # nm, what the views centre on
        self.zoom = 1.0  # nm per screen pixel, the same in every view (so they line up)
        self.fitted = True  # the camera shows whole planes (window resizes keep it so)
        self.hover: Hover | None = None
        self.overlays: dict[str, Overlay] = {
            "labels": Overlay(opacity=0.45),
            "instances": Overlay(opacity=0.9),
            "probability": Overlay(opacity=0.6),
        }
        self.contrast = Contrast()
        self.views = 3  # 1 or 3 views shown
        self.single_axis = 0  # the view shown in the 1-view layout
        self.paint = Paint()
        self.selection: tuple[int, ...] = ()  # selected instance ids, first selected first
        self._listeners: list[Listener] = []

    # -- observing ------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self, topic: str) -> None:
        for listener in list(self._listeners):
            listener(topic)

    # -- changes --------------------------------------------------------------------------------
    def set_image(
        self, name: str | None, shape: Voxel, voxel_size: tuple[float, float, float]
    ) -> None:
        """Show another image; the cursor moves to its centre."""
        self.image = name
        self.shape = tuple(max(1, int(s)) for s in shape)  # type: ignore[assignment]
        self.voxel_size = tuple(float(v) for v in voxel_size)  # type: ignore[assignment]
        self.cursor = tuple(s // 2 for s in self.shape)  # type: ignore[assignment]
        self.centre = tuple(s * v / 2 for s, v in zip(self.shape, self.voxel_size, strict=True))  # type: ignore[assignment]
        self.fitted = True
        self.hover = None
        self.notify(VOLUME)
        self.notify(CURSOR)

    def clamp(self, voxel: tuple[int, int, int]) -> Voxel:
        return tuple(min(max(int(v), 0), s - 1) for v, s in zip(voxel, self.shape, strict=True))  # type: ignore[return-value]

    def set_cursor(self, voxel: tuple[int, int, int]) -> None:
        voxel = self.clamp(voxel)
        if voxel != self.cursor:
            self.cursor = voxel
            self.notify(CURSOR)

    def set_slice(self, axis: int, index: int) -> None:
        """Move the cursor across one axis (what a slice slider or the mouse wheel does)."""
        cursor = list(self.cursor)
        cursor[axis] = index
        self.set_cursor(tuple(cursor))  # type: ignore[arg-type]

    def step_slice(self, axis: int, step: int) -> None:
        self.set_slice(axis, self.cursor[axis] + step)

    def set_camera(
        self,
        centre: tuple[float, float, float] | None = None,
        zoom: float | None = None,
        fitted: bool = False,
    ) -> None:
        """Pan (``centre``, nm) and zoom (nm per screen pixel) all views at once."""
        if centre is not None:
            self.centre = tuple(float(c) for c in centre)  # type: ignore[assignment]
        if zoom is not None and zoom > 0:
            self.zoom = float(zoom)
        self.fitted = fitted
        self.notify(CAMERA)

    def set_hover(self, hover: Hover | None) -> None:
        self.hover = hover
        self.notify(HOVER)

    def set_overlay(self, slot: str, **changes: Any) -> None:
        self.overlays[slot] = replace(self.overlays[slot], **changes)
        self.notify(LAYERS)

    def set_contrast(self, **changes: Any) -> None:
        contrast = replace(self.contrast, **changes)
        if contrast != self.contrast:
            self.contrast = contrast
            self.notify(CONTRAST)

    def set_layout(self, views: int, single_axis: int | None = None) -> None:
        self.views = 1 if views == 1 else 3
        if single_axis is not None:
            self.single_axis = single_axis
        self.notify(LAYOUT)

    def set_selection(self, ids: tuple[int, ...] | list[int]) -> None:
        """Select objects (instance ids; 0 and repeats are dropped, order kept)."""
        selection = tuple(dict.fromkeys(int(i) for i in ids if int(i)))
        if selection != self.selection:
            self.selection = selection
            self.notify(SELECTION)

    def set_paint(self, **changes: Any) -> None:
        if "tool" in changes and changes["tool"] not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}")
        self.paint = replace(self.paint, **changes)
        self.notify(TOOL)
