"""Per-user folders of emstudio (Qt-free, so the CLI, job processes and the GUI agree)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _platform_dir(xdg_variable: str, xdg_default: str, mac: str, windows_variable: str) -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get(windows_variable) or Path.home()) / "emstudio"
    if sys.platform == "darwin":
        return Path.home() / "Library" / mac / "emstudio"
    return Path(os.environ.get(xdg_variable) or Path.home() / xdg_default) / "emstudio"


def user_data_dir() -> Path:
    """Per-user data (the demo project): ``$EMSTUDIO_DATA_DIR`` or the platform's location."""
    override = os.environ.get("EMSTUDIO_DATA_DIR")
    path = (
        Path(override)
        if override
        else _platform_dir("XDG_DATA_HOME", ".local/share", "Application Support", "LOCALAPPDATA")
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """Logs and crash reports of the GUI, the CLI and job processes: ``$EMSTUDIO_LOG_DIR`` or
    the platform's per-user log location. Created on demand."""
    override = os.environ.get("EMSTUDIO_LOG_DIR")
    if override:
        path = Path(override)
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Logs" / "emstudio"
    else:
        path = _platform_dir("XDG_STATE_HOME", ".local/state", "Logs", "LOCALAPPDATA") / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
