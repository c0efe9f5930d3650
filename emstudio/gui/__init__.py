"""The PySide6 desktop shell. Entry point: :func:`emstudio.gui.app.run_gui`.

Nothing below ``emstudio.gui`` may import it (see the layering in DESIGN.md).
"""

import os

# pyqtgraph picks its Qt binding at import time; make sure it is the one this app uses.
os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"
