"""Small helpers for a consistent look: larger fonts for headings, muted secondary text."""

from __future__ import annotations

from collections.abc import Callable, Collection

from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QLabel, QMenu, QToolButton, QWidget

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


def menu_button(text: str, tip: str) -> QToolButton:
    """A button that opens its menu at once (fill it with ``fill_check_menu``)."""
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setMenu(QMenu(button))
    return button


def fill_check_menu(
    button: QToolButton,
    names: list[str],
    checked: Collection[str],
    toggled: Callable[[str, bool], object],
) -> None:
    """Give ``button``'s menu one checkable entry per name (``checked`` ones ticked), calling
    ``toggled(name, on)`` as they are ticked; the button is off while there is none."""
    menu = button.menu()
    menu.clear()
    for name in names:
        action = menu.addAction(name)
        action.setCheckable(True)
        action.setChecked(name in checked)
        action.toggled.connect(lambda on, n=name: toggled(n, on))
    button.setEnabled(bool(names))
