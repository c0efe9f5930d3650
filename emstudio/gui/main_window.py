"""The main window: menus, status bar, and a stack of pages (start page, project workspace).

Other widgets join the workspace with ``add_dock`` and the menus with ``menu``; they observe
the viewers through ``view_state`` (the Qt-free ViewState: cursor, hover, layers...).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from emstudio import __version__
from emstudio.core.errors import EmstudioError
from emstudio.core.project import PROJECT_SUFFIX, Project
from emstudio.core.project.catalog import CATALOG_FILE
from emstudio.gui import project_dialogs
from emstudio.gui.demo import DemoBuilder
from emstudio.gui.locations import app_icon, demo_project_path, log_dir
from emstudio.gui.recent import RecentProjects
from emstudio.gui.start_page import DESCRIPTION, StartPage
from emstudio.gui.tour import add_tour_action
from emstudio.gui.workspace_menus import add_dock_toggles, build_workspace_menus

if TYPE_CHECKING:  # imported when first needed: the start page shows without it
    from emstudio.gui.project_page import ProjectPage
    from emstudio.gui.viewstate import ViewState
    from emstudio.gui.workbench import Workbench

log = logging.getLogger(__name__)
GEOMETRY_KEY = "window/geometry"
APP_TITLE = "emstudio"


class MainWindow(QMainWindow):
    """Holds at most one project, open for writing (it keeps the project lock while shown)."""

    def __init__(self, parent: QWidget | None = None, remember_geometry: bool = True) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.remember_geometry = remember_geometry
        self.recent = RecentProjects()
        self.demo_builder: DemoBuilder | None = None
        self.workbench: Workbench | None = None
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.start_page = StartPage()
        self._project_page: ProjectPage | None = None
        self.pages = QStackedWidget()
        self.pages.addWidget(self.start_page)
        self.setCentralWidget(self.pages)
        self._connect_pages()
        self._build_menus()
        self.statusBar().showMessage("Ready")
        self.resize(1120, 720)
        geometry = QSettings().value(GEOMETRY_KEY) if remember_geometry else None
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.refresh_recent()
        self._update_actions()

    # -- projects -------------------------------------------------------------------------------
    def load_project(self, path: str | Path) -> None:
        """Open a project for writing and show it; raises EmstudioError (or OSError)."""
        folder = project_dialogs.project_dir_from(path)
        if self.project is not None and self.project.path.resolve() == folder.resolve():
            self._show_project()
            return
        with _busy_cursor():  # showing it (its panels, the first planes) takes a moment too
            self._set_project(Project.open(folder))

    def open_project(self, path: str | Path) -> bool:
        """Open a project; problems are shown to the user. Returns whether it is now open."""
        try:
            self.load_project(path)
        except (EmstudioError, OSError) as exc:
            self.show_error("Cannot open project", _message(exc))
            return False
        return True

    def new_project(self) -> None:
        path = project_dialogs.ask_new_project_path(self)
        if path is None:
            return
        try:
            with _busy_cursor():
                project = Project.create(path, name=path.name.removesuffix(PROJECT_SUFFIX))
        except (EmstudioError, OSError) as exc:
            self.show_error("Cannot create project", _message(exc))
            return
        self._set_project(project)
        self.statusBar().showMessage(f"Created {project.path}", 8000)

    def open_project_dialog(self) -> None:
        path = project_dialogs.ask_open_project_path(self)
        if path is not None:
            self.open_project(path)

    def close_project(self) -> bool:
        """Release the project (and its lock) and go back to the start page.

        Returns False when the user chose to keep it open (unsaved labels, Cancel)."""
        if self.project is not None and not self.project_page.confirm_close():
            return False
        if self.workbench is not None:
            if not self.workbench.close(self):  # running jobs: cancel, keep running, or stay
                return False
            self.workbench = None
        if self.project is not None:
            path = self.project.path
            self.project.close()
            self.project = None
            self.project_page.clear()
            self.statusBar().showMessage(f"Closed {path}", 5000)
        self.setWindowTitle(APP_TITLE)
        self.refresh_recent()
        self.pages.setCurrentWidget(self.start_page)
        self._update_actions()
        return True

    # -- extension points -----------------------------------------------------------------------
    @property
    def project_page(self) -> ProjectPage:
        """The project workspace (viewers and docks), made on first use."""
        if self._project_page is None:
            from emstudio.gui.project_page import ProjectPage
            from emstudio.gui.status_readout import StatusReadout

            page = ProjectPage(remember=self.remember_geometry)
            self.pages.addWidget(page)
            page.closeRequested.connect(self.close_project)
            page.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
            self.readout = StatusReadout(page.state, page.layers)
            self.statusBar().addPermanentWidget(self.readout)
            add_dock_toggles(self, page)
            self._project_page = page
        return self._project_page

    @property
    def view_state(self) -> ViewState:
        """The viewers' Qt-free state (cursor, hover, layers): observe it with ``subscribe``."""
        return self.project_page.state

    def add_dock(
        self,
        widget: QWidget,
        title: str,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    ) -> QDockWidget:
        """Dock a widget beside the slice views; its show/hide toggle goes to the View menu."""
        dock = self.project_page.add_dock(widget, title, area)
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def menu(self, title: str) -> QMenu:
        """The top-level menu called ``title`` (created before Help if there is none)."""
        for action in self.menuBar().actions():
            if action.menu() is not None and action.text().replace("&", "") == title.replace(
                "&", ""
            ):
                return action.menu()
        menu = QMenu(title, self)
        self.menuBar().insertMenu(self.help_menu.menuAction(), menu)
        return menu

    def open_recent(self, path: str) -> None:
        entry = next((e for e in self.recent.entries() if e.path == path), None)
        if entry is not None and not entry.exists:
            answer = QMessageBox.question(
                self,
                "Project not found",
                f"{path}\n\nThis project folder was moved or deleted. "
                "Remove it from the recent projects?",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.remove_recent(path)
            return
        self.open_project(path)

    def remove_recent(self, path: str) -> None:
        self.recent.remove(path)
        self.refresh_recent()

    def clear_recent(self) -> None:
        self.recent.clear()
        self.refresh_recent()

    def refresh_recent(self) -> None:
        self.start_page.set_recent(self.recent.entries())

    # -- demo -----------------------------------------------------------------------------------
    def open_demo(self) -> None:
        """Open the demo project, creating it first (in a child process) if needed."""
        if self.demo_builder is not None:
            return
        path = demo_project_path()
        if (path / CATALOG_FILE).is_file():
            self.open_project(path)
            return
        builder = DemoBuilder(path, self)
        builder.succeeded.connect(self._demo_ready)
        builder.failed.connect(self._demo_failed)
        builder.cancelled.connect(self._demo_cancelled)
        self.demo_builder = builder
        self._update_actions()
        self.statusBar().showMessage("Creating the demo project…")
        log.info("creating demo project: %s", builder.command)
        builder.start()

    def _demo_ready(self, path: str) -> None:
        self._drop_builder()
        if self.open_project(path):
            self.statusBar().showMessage("Demo project ready", 8000)

    def _demo_failed(self, message: str) -> None:
        self._drop_builder()
        self.statusBar().showMessage("Demo project not created", 8000)
        self.show_error("Demo project", message)

    def _demo_cancelled(self) -> None:
        self._drop_builder()
        self.statusBar().showMessage("Demo project creation cancelled", 8000)

    def _drop_builder(self) -> None:
        if self.demo_builder is not None:
            self.demo_builder.deleteLater()
            self.demo_builder = None
        self._update_actions()

    # -- messages -------------------------------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        log.warning("%s: %s", title, message)
        QMessageBox.critical(self, title, message)

    def show_about(self) -> None:
        from PySide6 import __version__ as qt_version

        python = ".".join(str(n) for n in sys.version_info[:3])
        QMessageBox.about(
            self,
            "About emstudio",
            f"<h3>emstudio {__version__}</h3><p>{DESCRIPTION}</p>"
            f"<p>Python {python}, PySide6 {qt_version}</p>"
            f"<p>Logs: {log_dir()}</p>",
        )

    def open_log_folder(self) -> None:
        folder = log_dir()
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            QMessageBox.information(self, "Log folder", f"The log files are in\n{folder}")

    # -- Qt events ------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_project():
            event.ignore()
            return
        if self.demo_builder is not None:
            self.demo_builder.cancel()
        if self.remember_geometry:
            QSettings().setValue(GEOMETRY_KEY, self.saveGeometry())
            if self._project_page is not None:
                self._project_page.save_settings()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if len(urls) == 1 and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.open_project(event.mimeData().urls()[0].toLocalFile())

    # -- building -------------------------------------------------------------------------------
    def _set_project(self, project: Project) -> None:
        old, self.project = self.project, project
        if self.workbench is not None:
            self.workbench.detach()
            self.workbench = None
        if old is not None:
            old.close()
        self.recent.add(project.path, project.name)
        self._show_project()
        self.statusBar().showMessage(f"Opened {project.path}", 8000)

    def _show_project(self) -> None:
        assert self.project is not None
        self.project_page.show_project(self.project)
        if self.workbench is None or self.workbench.project is not self.project:
            from emstudio.gui.workbench import Workbench

            self.workbench = Workbench(self, self.project)
        self.pages.setCurrentWidget(self.project_page)
        self.setWindowTitle(f"{self.project.name} — {APP_TITLE}")
        self._update_actions()

    def _connect_pages(self) -> None:
        self.start_page.newRequested.connect(self.new_project)
        self.start_page.openRequested.connect(self.open_project_dialog)
        self.start_page.demoRequested.connect(self.open_demo)
        self.start_page.recentRequested.connect(self.open_recent)
        self.start_page.recentRemoveRequested.connect(self.remove_recent)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action(
            file_menu, "&New project…", self.new_project, QKeySequence.StandardKey.New
        )
        self.open_action = self._action(
            file_menu, "&Open project…", self.open_project_dialog, QKeySequence.StandardKey.Open
        )
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.demo_action = self._action(file_menu, "Open &demo project", self.open_demo)
        file_menu.addSeparator()
        self.close_action = self._action(
            file_menu, "&Close project", self.close_project, QKeySequence.StandardKey.Close
        )
        file_menu.addSeparator()
        self.quit_action = self._action(
            file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit
        )
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.help_menu = self.menuBar().addMenu("&Help")
        self.tour_action = add_tour_action(self, self.help_menu)
        self.about_action = self._action(self.help_menu, "&About emstudio", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.log_action = self._action(self.help_menu, "Open &log folder", self.open_log_folder)
        self.project_actions = build_workspace_menus(self)
        self.view_menu = self.menu("&View")

    def _action(
        self, menu: QMenu, text: str, slot: object, shortcut: QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        return action

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = self.recent.entries()
        for entry in entries:
            action = self.recent_menu.addAction(f"{entry.name}  —  {entry.path}")
            action.setEnabled(entry.exists)
            action.triggered.connect(lambda _=False, p=entry.path: self.open_project(p))
        if not entries:
            self.recent_menu.addAction("No recent projects").setEnabled(False)
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear list", self.clear_recent)
        clear.setEnabled(bool(entries))

    def _update_actions(self) -> None:
        self.close_action.setEnabled(self.project is not None)
        for action in self.project_actions:
            action.setEnabled(self.project is not None)
        self.demo_action.setEnabled(self.demo_builder is None)
        self.start_page.demo_button.setEnabled(self.demo_builder is None)


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}."
    return str(exc)


@contextlib.contextmanager
def _busy_cursor() -> Iterator[None]:
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()
