"""Workspace settings remembered between runs (QSettings): docks, layout, overlays, brush."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDockWidget

from emstudio.gui.viewstate import OVERLAYS

if TYPE_CHECKING:
    from emstudio.gui.project_page import ProjectPage

DOCKS_KEY = "workspace/docks"
KNOWN_DOCKS_KEY = "workspace/known_docks"  # the docks that DOCKS_KEY arranges
PREFIX = "viewer/"


def restore_settings(page: ProjectPage) -> bool:
    """Put back the dock arrangement, the layout, overlay looks and the brush; returns whether
    a dock arrangement was saved."""
    settings = QSettings()
    docks = settings.value(DOCKS_KEY)
    restored = docks is not None and page.restoreState(docks)
    known = settings.value(KNOWN_DOCKS_KEY, [])
    names = [known] if isinstance(known, str) else known if isinstance(known, list) else []
    page.known_docks = {str(n) for n in names} if restored else set()
    state = page.state
    state.set_layout(
        _int(settings, "views", 3, {1, 3}), _int(settings, "single_axis", 0, {0, 1, 2})
    )
    for slot in OVERLAYS:
        overlay = state.overlays[slot]
        state.set_overlay(
            slot,
            opacity=_float(settings, f"{slot}/opacity", overlay.opacity),
            threshold=_int(settings, f"{slot}/threshold", overlay.threshold, set(range(256))),
            outlines=_bool(settings, f"{slot}/outlines", overlay.outlines),
        )
    state.set_paint(
        size=_int(settings, "brush_size", state.paint.size, set(range(1, 256))),
        background_only=_bool(settings, "background_only", state.paint.background_only),
    )
    return bool(restored)


def save_settings(page: ProjectPage) -> None:
    settings = QSettings()
    settings.setValue(DOCKS_KEY, page.saveState())
    settings.setValue(KNOWN_DOCKS_KEY, [d.objectName() for d in page.findChildren(QDockWidget)])
    state = page.state
    settings.setValue(PREFIX + "views", state.views)
    settings.setValue(PREFIX + "single_axis", state.single_axis)
    for slot, overlay in state.overlays.items():
        settings.setValue(f"{PREFIX}{slot}/opacity", overlay.opacity)
        settings.setValue(f"{PREFIX}{slot}/threshold", overlay.threshold)
        settings.setValue(f"{PREFIX}{slot}/outlines", overlay.outlines)
    settings.setValue(PREFIX + "brush_size", state.paint.size)
    settings.setValue(PREFIX + "background_only", state.paint.background_only)
    settings.sync()


def _int(settings: QSettings, key: str, default: int, allowed: set[int]) -> int:
    try:
        value = int(settings.value(PREFIX + key, default))
    except (TypeError, ValueError):
        return default
    return value if value in allowed else default


def _float(settings: QSettings, key: str, default: float) -> float:
    try:
        value = float(settings.value(PREFIX + key, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, 0.0), 1.0)


def _bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(PREFIX + key, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
