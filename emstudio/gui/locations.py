"""Where the GUI keeps its files: logs, the demo project, bundled resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QIcon

DEMO_FOLDER = "demo.emproj"


def user_data_dir() -> Path:
    """The per-user data folder (AppLocalDataLocation); created if missing."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    path = Path(location)
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """The folder holding the GUI's logs and crash traces; created if missing.

    ``$EMSTUDIO_LOG_DIR`` overrides it (tests, and the same override the CLI honours).
    """
    override = os.environ.get("EMSTUDIO_LOG_DIR")
    path = Path(override) if override else user_data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
