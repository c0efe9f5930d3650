"""Small helpers for a consistent look: larger fonts for headings, muted secondary text."""

from __future__ import annotations

from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QLabel, QWidget

# Text saying why something cannot go on: a red that reads on light and dark window colours
ERROR_COLOUR = "#d03030"


def scaled_font(widget: QWidget, factor: float, bold: bool = False) -> QFont:
    """The widget's font, ``factor`` times larger (or smaller)."""
    font = QFont(widget.font())
    font.setPointSizeF(font.pointSizeF() * factor)
    font.setBold(bold)
    return font


def muted(label: QLabel) -> QLabel:
    """Give secondary text the palette's placeholder colour (readable in light and dark themes)."""
    palette = label.palette()
    colour = palette.color(QPalette.ColorRole.PlaceholderText)
    palette.setColor(QPalette.ColorRole.WindowText, colour)
    label.setPalette(palette)
    return label


def error_label(label: QLabel) -> QLabel:
    """Show the label's text in ``ERROR_COLOUR`` (a problem that keeps the user from going on)."""
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    return label
