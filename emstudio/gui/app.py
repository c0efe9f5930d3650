"""``run_gui``: start the desktop application (what ``emstudio`` with no command does).

Importing ``emstudio.gui`` has already set ``PYQTGRAPH_QT_LIB=PySide6`` (see ``__init__``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from emstudio import __version__
from emstudio.core.errors import EmstudioError
from emstudio.gui.locations import app_icon
from emstudio.gui.logs import install_excepthook, install_logging
from emstudio.gui.main_window import MainWindow

APP_NAME = "emstudio"
SCREENSHOT_DELAY_MS = 400

log = logging.getLogger(__name__)


def configure_application(app: QCoreApplication) -> None:
    """Names used by QSettings and QStandardPaths, version and window icon."""
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    if isinstance(app, QApplication):
        app.setDesktopFileName(APP_NAME)
        app.setWindowIcon(app_icon())


def run_gui(project: str | None = None, screenshot: str | None = None) -> int:
    """Show the main window, optionally on ``project``; returns the process exit code.

    With ``screenshot`` (a .png path) the window is saved there once shown and the app exits:
    0 when written, 1 when the file cannot be written, 2 when ``project`` cannot be opened.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    configure_application(app)
    folder = install_logging()
    log.info("emstudio %s GUI starting (logs in %s)", __version__, folder)
    window = MainWindow(remember_geometry=screenshot is None)  # screenshots: default size
    previous_hook = install_excepthook(
        lambda text: QMessageBox.critical(window, "Unexpected error", text)
    )
    try:
        if screenshot is not None:
            return _run_for_screenshot(app, window, project, Path(screenshot))
        window.show()
        if project:
            QTimer.singleShot(0, lambda: window.open_project(project))
        return app.exec()
    finally:
        sys.excepthook = previous_hook
        window.close_project()
        window.deleteLater()
        log.info("emstudio GUI stopped")


def _run_for_screenshot(
    app: QApplication, window: MainWindow, project: str | None, target: Path
) -> int:
    if project:
        try:
            window.load_project(project)
        except (EmstudioError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    window.show()
    result = {"code": 1}

    def grab() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if window.grab().save(str(target), "PNG"):
            result["code"] = 0
        else:
            print(f"error: cannot write {target}", file=sys.stderr)
        window.close()
        app.quit()

    QTimer.singleShot(SCREENSHOT_DELAY_MS, grab)
    app.exec()
    return result["code"]
