"""The image shown and its overlays: each overlay toggled, chosen, with opacity (and more).

The panel edits the ViewState for display settings; choosing another volume for the image or
an overlay slot is a request (``imageChosen``, ``overlayChosen``) that the workspace carries
out (it may first ask about unsaved label edits).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from emstudio.gui.layers import SLOT_TITLES, LayerSet
from emstudio.gui.viewstate import LAYERS, OVERLAYS, VOLUME, ViewState

NONE_TEXT = "(none)"


class _SlotControls(QGroupBox):
    """Visibility (the group's check box), volume, opacity, and the slot's own settings."""

    def __init__(self, slot: str, state: ViewState, panel: LayerPanel) -> None:
        super().__init__(SLOT_TITLES[slot])
        self.slot = slot
        self.state = state
        self.setCheckable(True)
        self.toggled.connect(lambda on: state.set_overlay(slot, visible=on))
        self.volume = QComboBox()
        self.volume.setToolTip("The volume drawn over the image in this layer")
        self.volume.activated.connect(
            lambda _: panel.overlayChosen.emit(slot, self.volume.currentData() or "")
        )
        self.opacity = _percent_slider()
        self.opacity.valueChanged.connect(lambda v: state.set_overlay(slot, opacity=v / 100))
        form = QFormLayout(self)
        form.addRow("Volume", self.volume)
        form.addRow("Opacity", self.opacity)
        self.outlines: QCheckBox | None = None
        self.threshold: QSlider | None = None
        if slot == "instances":
            self.outlines = QCheckBox("Outlines only")
            self.outlines.setToolTip("Draw the border of each object, leaving the image visible")
            self.outlines.toggled.connect(lambda on: state.set_overlay(slot, outlines=on))
            form.addRow("", self.outlines)
        if slot == "probability":
            self.threshold = QSlider(Qt.Orientation.Horizontal)
            self.threshold.setRange(0, 255)
            self.threshold.setToolTip("Probabilities below this are not drawn")
            self.threshold.valueChanged.connect(lambda v: state.set_overlay(slot, threshold=v))
            self.threshold_label = QLabel()
            row = QHBoxLayout()
            row.addWidget(self.threshold, 1)
            row.addWidget(self.threshold_label)
            form.addRow("Threshold", row)

    def show_state(self, names: list[str]) -> None:
        overlay = self.state.overlays[self.slot]
        widgets = [self, self.volume, self.opacity, self.outlines, self.threshold]
        for widget in widgets:
            if widget is not None:
                widget.blockSignals(True)
        self.volume.clear()
        self.volume.addItem(NONE_TEXT, "")
        for name in names:
            self.volume.addItem(name, name)
        self.volume.setCurrentIndex(max(0, self.volume.findData(overlay.volume or "")))
        self.setChecked(overlay.visible and overlay.volume is not None)
        self.opacity.setValue(round(overlay.opacity * 100))
        if self.outlines is not None:
            self.outlines.setChecked(overlay.outlines)
        if self.threshold is not None:
            self.threshold.setValue(overlay.threshold)
            self.threshold_label.setText(f"{overlay.threshold / 255:.0%}")
        for widget in widgets:
            if widget is not None:
                widget.blockSignals(False)


class LayerPanel(QWidget):
    """Image chooser and one group of controls per overlay slot."""

    imageChosen = Signal(str)
    overlayChosen = Signal(str, str)  # slot, volume name ("" for none)

    def __init__(self, state: ViewState, layers: LayerSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.layers = layers
        self.image = QComboBox()
        self.image.setToolTip("The image shown in the views (the overlays must match it)")
        self.image.activated.connect(lambda _: self.imageChosen.emit(self.image.currentText()))
        self.slots = {slot: _SlotControls(slot, state, self) for slot in OVERLAYS}
        self._names: dict[str, list[str]] = {slot: [] for slot in OVERLAYS}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QFormLayout()
        top.addRow("Image", self.image)
        layout.addLayout(top)
        for controls in self.slots.values():
            layout.addWidget(controls)
        layout.addStretch(1)
        state.subscribe(self._on_state)
        self._show_slots()

    def reload(self) -> None:
        """Re-list the volumes (after an import, rename or delete)."""
        project = self.layers.project
        names = [r.name for r in project.catalog.volumes("image")] if project else []
        self.image.blockSignals(True)
        self.image.clear()
        self.image.addItems(names)
        if self.layers.image is not None:
            self.image.setCurrentText(self.layers.image.name)
        self.image.blockSignals(False)
        self._names = {slot: [r.name for r in self.layers.candidates(slot)] for slot in OVERLAYS}
        self._show_slots()

    def _show_slots(self) -> None:
        for slot, controls in self.slots.items():
            controls.show_state(self._names[slot])

    def _on_state(self, topic: str) -> None:
        if topic == VOLUME:
            self.reload()
        elif topic == LAYERS:
            self._show_slots()


def _percent_slider() -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setToolTip("Opacity of the overlay, 0 to 100 %")
    return slider
