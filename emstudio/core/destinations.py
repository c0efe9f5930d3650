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


def check_new_file(out: str | Path, project_root: Path | None = None) -> Path:
    """The absolute ``out``, or a DestinationError saying why nothing may be written there."""
    path = Path(out).absolute()
    if project_root is not None and is_inside(path, project_root):
        raise DestinationError(
            f"{path}: is inside the project folder, which emstudio manages; choose a place "
            "outside the project."
        )
    if path.exists():
        raise DestinationError(f"{path}: already exists; choose another name or remove it first.")
    if not path.parent.is_dir():
        raise DestinationError(f"{path.parent}: folder does not exist.")
    if not os.access(path.parent, os.W_OK):
        raise DestinationError(f"{path.parent}: folder is not writable.")
    return path
