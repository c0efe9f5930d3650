"""Print emstudio's runtime requirements without the GUI toolkits (for the no-Qt test tier).

The layering promise is that core/, jobs/ and cli/ work in a process where PySide6, pyqtgraph
and VTK are not even installed (a headless cluster node, a Dask worker); `make test-noqt`
checks it in a virtual environment built from this list.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

GUI_PACKAGES = {"pyside6", "pyqtgraph", "vtk", "pytest-qt"}


def main() -> int:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    project = pyproject["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    for requirement in wanted:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()
        if name not in GUI_PACKAGES:
            print(requirement)
    return 0


if __name__ == "__main__":
    sys.exit(main())
