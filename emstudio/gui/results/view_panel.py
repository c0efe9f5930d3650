"""The 3D dock's content: which segmentation's meshes to show, which others to draw around
them for context, orthoslices on or off, and the VTK view itself, made (and VTK imported) only
when there is something to show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from emstudio.gui.look import fill_check_menu, menu_button, muted

if TYPE_CHECKING:
    from emstudio.gui.view3d import View3D

EMPTY_TEXT = "No meshes yet: Run ▸ Make meshes… shows a segmentation's objects here in 3D."


class ViewPanel(QWidget):
    """``segmentation_chosen(name)`` when the user picks another segmentation;
    ``context_toggled(name, on)`` when one is ticked or unticked under "Also show"."""

    segmentation_chosen = Signal(str)
    context_toggled = Signal(str, bool)
    slices_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: View3D | None = None
        self.chooser = QComboBox()
        self.chooser.setToolTip("The segmentation whose meshes are shown")
        self.chooser.activated.connect(lambda _: self.segmentation_chosen.emit(self.current()))
        self.context = menu_button(
            "Also show", "Draw other segmentations' meshes around these, see-through"
        )
        self.slices = QCheckBox("Slices")
        self.slices.setToolTip("Show the image's three planes at the cursor")
        self.slices.toggled.connect(self.slices_toggled)
        self.note = muted(QLabel(EMPTY_TEXT))
        self.note.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Meshes of"))
        bar.addWidget(self.chooser, 1)
        bar.addWidget(self.context)
        bar.addWidget(self.slices)
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(4, 4, 4, 4)
        self.box.addLayout(bar)
        self.box.addWidget(self.note)
        self.box.addStretch(1)

    def set_choices(self, names: list[str], current: str | None) -> None:
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems(names)
        self.chooser.setCurrentText(current or "")
        self.chooser.blockSignals(False)
        self.note.setVisible(not names)

    def current(self) -> str | None:
        return self.chooser.currentText() or None

    def choices(self) -> list[str]:
        """The segmentations with meshes, as offered."""
        return [self.chooser.itemText(i) for i in range(self.chooser.count())]

    def set_context_choices(self, names: list[str], ticked: set[str]) -> None:
        """The segmentations "Also show" offers (``ticked``: those drawn)."""
        fill_check_menu(self.context, names, ticked, self.context_toggled.emit)

    def ensure_view(self) -> View3D:
        """The VTK view, made on first use."""
        if self.view is None:
            from emstudio.gui.view3d import View3D

            self.view = View3D()
            self.box.takeAt(self.box.count() - 1)  # the stretch
            self.box.addWidget(self.view, 1)
        return self.view

    def close_view(self) -> None:
        if self.view is not None:
            self.view.close_view()
