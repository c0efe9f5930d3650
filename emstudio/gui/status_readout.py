"""The status bar's readout: voxel under the mouse (voxels and nm), image value, label, instance."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from emstudio.gui.layers import LayerSet
from emstudio.gui.viewstate import CURSOR, HOVER, VOLUME, ViewState


def describe(state: ViewState, layers: LayerSet) -> str:
    """One line for a person: where the mouse is and what is there (or the cursor, if none)."""
    if layers.image is None:
        return ""
    hover = state.hover
    voxel = hover.voxel if hover is not None else state.cursor
    nm = ", ".join(f"{i * v:,.0f}" for i, v in zip(voxel, state.voxel_size, strict=True))
    where = "mouse" if hover is not None else "cursor"
    parts = [f"{where} z {voxel[0]}, y {voxel[1]}, x {voxel[2]}", f"({nm} nm)"]
    if hover is None:
        return "  ".join(parts)
    values = hover.values
    if "image" in values:
        parts.append(f"value {values['image']}")
    labels = layers.overlays.get("labels")
    if "labels" in values and labels is not None:
        value = int(values["labels"])
        parts.append(f"class {value} {labels.classes.get(value, '')}".rstrip())
    if "instances" in values:
        instance = int(values["instances"])
        parts.append(f"instance {instance}" if instance else "no instance")
    if "probability" in values:
        parts.append(f"probability {int(values['probability']) / 255:.2f}")
    return "   ".join(parts)


class StatusReadout(QLabel):
    """Follows the ViewState's hover (and cursor) and shows ``describe``."""

    def __init__(self, state: ViewState, layers: LayerSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.layers = layers
        self.setMinimumWidth(420)
        state.subscribe(self._on_state)

    def _on_state(self, topic: str) -> None:
        if topic in (HOVER, CURSOR, VOLUME):
            self.setText(describe(self.state, self.layers))
