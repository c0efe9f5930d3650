"""What made an artefact: recorded with every volume, model and mesh."""

from __future__ import annotations

import getpass
import os
import platform
from pathlib import Path
from typing import Any

from emstudio import __version__
from emstudio.core.project.catalog import utc_now


def describe_input(path: str | Path) -> dict[str, Any]:
    """A file or folder given as input: absolute path, size and modification time."""
    p = Path(path)
    if not p.exists() and ":/" in str(path):  # HDF5 "file.h5:/dataset"
        p = Path(str(path).rsplit(":/", 1)[0])
    entry: dict[str, Any] = {"path": str(Path(path).absolute())}
    try:
        stat = p.stat()
        entry["bytes"] = stat.st_size if p.is_file() else None
        entry["modified"] = stat.st_mtime
    except OSError:
        pass
    return entry


def record(
    operation: str,
    *,
    job_id: str | None,
    params: dict[str, Any],
    inputs: list[dict[str, Any]],
) -> dict[str, Any]:
    """The provenance dictionary stored with an artefact."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USERNAME", "unknown")
    return {
        "operation": operation,
        "job_id": job_id,
        "params": params,
        "inputs": inputs,
        "emstudio_version": __version__,
        "created_at": utc_now(),
        "host": platform.node(),
        "user": user,
    }
