"""Small pieces shared by the training and prediction dialogs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QComboBox, QLabel

DEVICES = ("auto", "cpu", "cuda")


def device_combo() -> QComboBox:
    combo = QComboBox()
    combo.addItems(list(DEVICES))
    combo.setToolTip("auto: the GPU when there is one, else the CPU")
    return combo


def free_name(taken: Callable[[str], bool], base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is not taken yet."""
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}-{n}"
    return name


def set_error(label: QLabel, text: str | None) -> None:
    """Show a problem (in the palette's error-ish colour) or clear it."""
    label.setText(text or "")
    palette = label.palette()
    role = QPalette.ColorRole.BrightText if text else QPalette.ColorRole.WindowText
    palette.setColor(QPalette.ColorRole.WindowText, label.palette().color(role))
    label.setPalette(palette)
