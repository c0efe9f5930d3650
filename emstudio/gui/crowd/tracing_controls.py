"""What the slice views show of a crowd label set: whose outlines, and the agreement map.

``look_changed(dict)`` carries changes for ``CrowdOverlay.set_look``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QSlider, QWidget

from emstudio.gui.crowd.overlay import TRACINGS, CrowdLook
from emstudio.gui.look import muted

TRACING_TEXTS = {"all": "All shown volunteers", "chosen": "Chosen volunteer", "none": "None"}


AGREEMENT_KEY = "Agreement map: purple, few volunteers; yellow, all of them."


class TracingControls(QGroupBox):
    """Outlines (all / chosen / none), agreement map on/off and its opacity, and the agreement
    under the mouse."""

    look_changed = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("In the slice views", parent)
        look = CrowdLook()
        self.tracings = QComboBox()
        for mode in TRACINGS:
            self.tracings.addItem(TRACING_TEXTS[mode], mode)
        self.tracings.setToolTip(
            "Volunteers' outlines on the slice shown; choose a volunteer in the table below "
            "(drawn bold red), tick the Show boxes to pick whose outlines appear"
        )
        self.agreement = QCheckBox("Agreement map")
        self.agreement.setChecked(look.agreement)
        self.agreement.setToolTip(
            "Colour each pixel by the share of the shown volunteers whose outline holds it "
            "(dark: few, yellow: all)"
        )
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(look.opacity * 100))
        self.opacity.setToolTip("Opacity of the agreement map")
        self.here = muted(QLabel(AGREEMENT_KEY))
        self.here.setWordWrap(True)
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow docks
        form.addRow("Outlines", self.tracings)
        form.addRow(self.agreement, self.opacity)
        form.addRow(self.here)
        self.tracings.currentIndexChanged.connect(
            lambda _: self.look_changed.emit({"tracings": self.tracings.currentData()})
        )
        self.agreement.toggled.connect(lambda on: self.look_changed.emit({"agreement": on}))
        self.opacity.valueChanged.connect(
            lambda value: self.look_changed.emit({"opacity": value / 100})
        )

    def set_tracings(self, mode: str) -> None:
        self.tracings.setCurrentIndex(TRACINGS.index(mode))

    def show_here(self, text: str) -> None:
        """The agreement under the mouse; the colour key when the mouse is off the tracings."""
        self.here.setText(text or AGREEMENT_KEY)
