"""Where the GUI keeps its files: logs, the demo project, bundled resources."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

from emstudio.core.paths import log_dir, user_data_dir

__all__ = ["app_icon", "demo_project_path", "log_dir", "resource_path"]

DEMO_FOLDER = "demo.emproj"


def demo_project_path() -> Path:
    """Where the demo project lives (it may not exist yet)."""
    return user_data_dir() / DEMO_FOLDER


def resource_path(*parts: str) -> Path | None:
    """A file under ``resources/`` (source checkout or frozen bundle), or None if absent."""
    roots = [Path(__file__).resolve().parents[2] / "resources"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.insert(0, Path(bundle) / "resources")
    for root in roots:
        candidate = root.joinpath(*parts)
        if candidate.is_file():
            return candidate
    return None


def app_icon() -> QIcon:
    """The application icon (an empty icon when resources/ is not shipped)."""
    path = resource_path("icons", "emstudio.svg")
    return QIcon(str(path)) if path else QIcon()
