"""The fourth cell of the 3-view layout: what is shown, at which position, in which colours."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QWidget

from emstudio.gui.colors import class_colour
from emstudio.gui.layers import SLOT_TITLES, LayerSet
from emstudio.gui.slice_canvas import AXIS_COLOURS
from emstudio.gui.viewstate import AXIS_TITLES, CURSOR, LAYERS, VOLUME, ViewState

SWATCH = "&#9632;"  # a filled square, drawn in the class colour


class Legend(QScrollArea):
    """Image name, size, voxel size, cursor position and the colours of the overlays."""

    def __init__(self, state: ViewState, layers: LayerSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.layers = layers
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setWordWrap(True)
        self.label.setMargin(10)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        state.subscribe(self._on_state)

    def _on_state(self, topic: str) -> None:
        if topic in (VOLUME, CURSOR, LAYERS):
            self.label.setText(self.text())

    def text(self) -> str:
        image = self.layers.image
        if image is None:
            return "<p>No image to show.</p>"
        state = self.state
        voxel = image.volume.voxel_size
        size = " × ".join(f"{v:g}" for v in voxel.zyx) + " nm" if voxel.known else "unknown"
        parts = [
            f"<p><b>{html.escape(image.name)}</b><br>"
            f"{' × '.join(map(str, state.shape))} voxels (z × y × x)<br>voxel size {size}</p>",
            "<p>" + "<br>".join(self._planes()) + "</p>",
        ]
        for slot, layer in self.layers.overlays.items():
            overlay = state.overlays[slot]
            if layer is None or not overlay.visible:
                continue
            parts.append(f"<p><b>{SLOT_TITLES[slot]}</b>: {html.escape(layer.name)}")
            if slot == "labels":
                for value, name in sorted(layer.classes.items()):
                    if value:
                        colour = _hex(class_colour(value))
                        parts.append(
                            f"<br><span style='color:{colour}'>{SWATCH}</span> "
                            f"{value} {html.escape(name)}"
                        )
            elif slot == "probability":
                parts.append(f"<br>shown from {overlay.threshold / 255:.0%}")
            parts.append("</p>")
        return "".join(parts)

    def _planes(self) -> list[str]:
        lines = []
        for axis, title in enumerate(AXIS_TITLES):
            colour = _hex(AXIS_COLOURS[axis])
            name = "zyx"[axis]
            lines.append(
                f"<span style='color:{colour}'><b>{title}</b></span> at {name} = "
                f"{self.state.cursor[axis]}"
            )
        return lines


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)
