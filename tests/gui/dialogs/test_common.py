"""What every job dialog shares: the reason it cannot start is written so it can be read."""

from __future__ import annotations

from PySide6.QtGui import QColor

from emstudio.core.project import Project
from emstudio.gui.dialogs.predict_dialog import PredictDialog


def luminance(colour: QColor) -> float:
    """Relative luminance (WCAG 2)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour.getRgbF()[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: QColor, b: QColor) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_reason_a_dialog_cannot_start_stands_out_from_its_background(
    qtbot, project_with_volumes
):
    with Project.open(project_with_volumes, mode="read") as opened:  # no model to predict with
        dialog = PredictDialog(opened)
        qtbot.addWidget(dialog)
        dialog.show()
        assert "train or import" in dialog.message.text()
        image = dialog.message.grab().toImage()
        background = dialog.palette().color(dialog.backgroundRole())
        drawn = {
            image.pixelColor(x, y).rgb()
            for x in range(image.width())
            for y in range(image.height())
        }
        best = max(contrast(QColor.fromRgb(rgb), background) for rgb in drawn)
        assert best >= 3.0, f"the message's text has a contrast of {best:.2f} at most"
