"""How to start emstudio itself as a child process (venv script, or the frozen app)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def emstudio_command(*args: str) -> list[str]:
    """Command line that runs ``emstudio ARGS...`` with this same installation.

    In the packaged app ``sys.executable`` is emstudio itself; in a virtual environment the
    ``emstudio`` script sits next to the interpreter. ``python -m emstudio`` is the last resort.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    exe_dir = Path(sys.executable).parent
    for candidate in (exe_dir / "emstudio", exe_dir / "emstudio.exe"):
        if candidate.is_file():
            return [str(candidate), *args]
    found = shutil.which("emstudio")
    if found:
        return [found, *args]
    return [sys.executable, "-m", "emstudio", *args]
