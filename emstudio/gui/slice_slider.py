"""The slice slider under each slice view: it marks the labelled slices with ticks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget


class SliceSlider(QSlider):
    """A slice slider that marks the painted (labelled) slices with ticks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.marks: set[int] = set()

    def set_marks(self, marks: set[int]) -> None:
        if marks != self.marks:
            self.marks = set(marks)
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.marks or self.maximum() <= self.minimum():
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()
        painter = QPainter(self)
        painter.setPen(QPen(QColor(255, 200, 0), 2))
        for mark in self.marks:
            offset = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), mark, span)
            x = groove.left() + handle.width() // 2 + offset
            painter.drawLine(x, self.height() - 5, x, self.height() - 1)
        painter.end()
