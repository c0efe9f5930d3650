"""``run_gui``: start the desktop application (what ``emstudio`` with no command does).

Importing ``emstudio.gui`` has already set ``PYQTGRAPH_QT_LIB=PySide6`` (see ``__init__``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from emstudio import __version__
from emstudio.core.errors import EmstudioError
from emstudio.gui.locations import app_icon
from emstudio.gui.logs import install_excepthook, install_logging
from emstudio.gui.main_window import MainWindow
from emstudio.gui.preload import preload_in_background
from emstudio.gui.tour import show_tour_on_first_run

APP_NAME = "emstudio"
SCREENSHOT_DELAY_MS = 400  # at least this long after showing (lets the layout settle)
SCREENSHOT_TIMEOUT_MS = 15_000  # at most this long waiting for the views' planes
SCREENSHOT_SIZE = (1440, 900)

log = logging.getLogger(__name__)


def configure_application(app: QCoreApplication) -> None:
    """Names used by QSettings and QStandardPaths, version and window icon."""
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    if isinstance(app, QApplication):
        app.setDesktopFileName(APP_NAME)
        app.setWindowIcon(app_icon())


def run_gui(
    project: str | None = None,
    screenshot: str | None = None,
    slice_zyx: tuple[int, int, int] | None = None,
) -> int:
    """Show the main window, optionally on ``project``; returns the process exit code.

    ``slice_zyx`` puts the views' crosshair at that voxel. With ``screenshot`` (a .png path)
    the window is saved there once its views are drawn, and the app exits: 0 when written,
    1 when the file cannot be written, 2 when ``project`` cannot be opened.
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
        QTimer.singleShot(0, _log_startup_time)  # first event-loop turn: the window is shown
        if screenshot is not None:
            return _run_for_screenshot(app, window, project, Path(screenshot), slice_zyx)
        window.show()
        preloading = preload_in_background()
        if project:  # once the libraries it needs are imported, the window painting meanwhile
            window.statusBar().showMessage(f"Opening {project} ...")
            when_done(preloading, lambda: _open(window, project, slice_zyx))
        show_tour_on_first_run(window)
        code = app.exec()
        preloading.join()  # no import left running while the interpreter shuts down
        return code
    finally:
        sys.excepthook = previous_hook
        window.close_project()
        window.deleteLater()
        log.info("emstudio GUI stopped")


def _log_startup_time() -> None:
    """Log the seconds from process start (bootloader included) to the shown main window."""
    log.info("main window shown %.2f s after the process started", seconds_since_start())


def seconds_since_start() -> float:
    """Age of this process: from /proc on Linux (10 ms steps), else psutil (1 s steps)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time
    except (OSError, ValueError, IndexError):
        return time.time() - psutil.Process().create_time()


def when_done(thread: threading.Thread, callback: Callable[[], None], poll_ms: int = 50) -> None:
    """Call ``callback`` from the event loop once ``thread`` has ended (the window keeps
    painting meanwhile), at once if it has."""
    if thread.is_alive():
        QTimer.singleShot(poll_ms, lambda: when_done(thread, callback, poll_ms))
    else:
        callback()


def _open(window: MainWindow, project: str, slice_zyx: tuple[int, int, int] | None) -> None:
    if window.open_project(project) and slice_zyx is not None:
        window.view_state.set_cursor(slice_zyx)


def _run_for_screenshot(
    app: QApplication,
    window: MainWindow,
    project: str | None,
    target: Path,
    slice_zyx: tuple[int, int, int] | None,
) -> int:
    if project:
        try:
            window.load_project(project)
        except (EmstudioError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if slice_zyx is not None:
            window.view_state.set_cursor(slice_zyx)
        window.resize(*SCREENSHOT_SIZE)  # room for the three views and the docks
    window.show()
    result = {"code": 1}
    started = time.monotonic()

    def grab_when_drawn() -> None:
        waited_ms = (time.monotonic() - started) * 1000
        drawn = window.project is None or window.project_page.settled
        if not drawn and waited_ms < SCREENSHOT_TIMEOUT_MS:
            QTimer.singleShot(50, grab_when_drawn)
            return
        if window.project is not None:
            log.info(
                "screenshot of %s at voxel %s (views drawn: %s; torch imported: %s)",
                window.project.path,
                window.view_state.cursor,
                drawn,
                "torch" in sys.modules,
            )
        grab()

    def grab() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if window.grab().save(str(target), "PNG"):
            result["code"] = 0
        else:
            print(f"error: cannot write {target}", file=sys.stderr)
        window.close()
        app.quit()

    QTimer.singleShot(SCREENSHOT_DELAY_MS, grab_when_drawn)
    app.exec()
    return result["code"]
