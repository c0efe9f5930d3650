"""Where an output file the user names may go: a new file, in a writable folder, outside the
project (whose clean-up would take a stranger in its folders for a leftover)."""

from __future__ import annotations

import os
from pathlib import Path

from emstudio.core.errors import DestinationError


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or lies under it (links resolved)."""
    resolved, root = Path(path).resolve(), Path(root).resolve()
    return resolved == root or root in resolved.parents


def _check_outside(path: Path, project_root: Path | None) -> None:
    if project_root is not None and is_inside(path, project_root):
        raise DestinationError(
            f"{path}: is inside the project folder, which emstudio manages; choose a place "
            "outside the project."
        )


def check_new_folder(out: str | Path, project_root: Path | None = None) -> Path:
    """The absolute ``out``, a new or empty folder in an existing one outside the project, or a
    DestinationError saying why it may not be."""
    path = Path(out).absolute()
    _check_outside(path, project_root)
    if path.exists() and not path.is_dir():
        raise DestinationError(f"{path}: is a file; choose a new or empty folder.")
    if path.exists() and any(path.iterdir()):
        raise DestinationError(f"{path}: exists and is not an empty folder; choose a new folder.")
    if not path.parent.is_dir():
        raise DestinationError(f"{path.parent}: folder does not exist.")
    return path


def check_new_file(out: str | Path, project_root: Path | None = None) -> Path:
    """The absolute ``out``, or a DestinationError saying why nothing may be written there."""
    path = Path(out).absolute()
    _check_outside(path, project_root)
    if path.exists():
        raise DestinationError(f"{path}: already exists; choose another name or remove it first.")
    if not path.parent.is_dir():
        raise DestinationError(f"{path.parent}: folder does not exist.")
    if not os.access(path.parent, os.W_OK):
        raise DestinationError(f"{path.parent}: folder is not writable.")
    return path
