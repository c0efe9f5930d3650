"""Where emstudio writes logs and crash reports (per user; overridable for tests)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def log_dir() -> Path:
    """``$EMSTUDIO_LOG_DIR``, else the platform's per-user log location; created on demand."""
    override = os.environ.get("EMSTUDIO_LOG_DIR")
    if override:
        path = Path(override)
    elif sys.platform == "win32":
        path = Path(os.environ.get("LOCALAPPDATA", Path.home())) / "emstudio" / "logs"
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Logs" / "emstudio"
    else:
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        path = Path(state) / "emstudio" / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
