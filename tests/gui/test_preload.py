"""Preloading the project's Qt-free modules in a background thread of the GUI process."""

from __future__ import annotations

import subprocess
import sys

from emstudio.gui.preload import PRELOADED

CHECK = """
import sys
from emstudio.gui.preload import PRELOADED, preload_in_background
thread = preload_in_background()
thread.join(120)
missing = [m for m in PRELOADED if m not in sys.modules]
heavy = [m for m in ("torch", "PySide6", "vtk", "vtkmodules") if m in sys.modules]
print(missing, heavy, thread.is_alive())
"""


def test_preloading_imports_the_core_modules_and_never_torch_or_qt():
    """In a fresh process (this one has imported everything already)."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=180, check=True
    )
    assert done.stdout.split("\n")[0] == "[] [] False", done.stdout + done.stderr
    assert "emstudio.core.seg.run" in PRELOADED and "emstudio.core.mesh.meshset" in PRELOADED
