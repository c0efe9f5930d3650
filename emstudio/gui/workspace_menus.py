"""The Edit, View and Project menus of the workspace (with their keyboard shortcuts).

The actions reach the workspace through ``window.project_page`` when triggered, so building
the menus does not build (or import) the workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence

if TYPE_CHECKING:
    from emstudio.gui.main_window import MainWindow
    from emstudio.gui.project_page import ProjectPage

from emstudio.gui.viewstate import MAX_BRUSH

TOOL_KEYS = (("navigate", "N"), ("brush", "B"), ("eraser", "E"), ("fill", "F"))


def build_workspace_menus(window: MainWindow) -> list[QAction]:
    """Add the menus; returns the actions that need an open project."""
    actions: list[QAction] = []

    def add(menu_title: str, text: str, slot: Callable[[ProjectPage], object], *keys: str) -> None:
        action = window.menu(menu_title).addAction(text)
        action.triggered.connect(lambda _=False: slot(window.project_page))
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        actions.append(action)

    def brush(page: ProjectPage, step: int) -> None:
        size = page.state.paint.size + step
        page.state.set_paint(size=min(MAX_BRUSH, max(1, size)))

    add("&Edit", "&Undo (painting or proofreading)", lambda p: p.undo(), "Ctrl+Z")
    add("&Edit", "&Redo", lambda p: p.redo(), "Ctrl+Shift+Z", "Ctrl+Y")
    window.menu("&Edit").addSeparator()
    for tool, key in TOOL_KEYS:
        add("&Edit", f"Tool: {tool}", lambda p, t=tool: p.state.set_paint(tool=t), key)
    add("&Edit", "Smaller brush", lambda p: brush(p, -2), "[")
    add("&Edit", "Larger brush", lambda p: brush(p, 2), "]")

    add("&View", "&1 view", lambda p: p.state.set_layout(1), "Ctrl+1")
    add("&View", "&3 views", lambda p: p.state.set_layout(3), "Ctrl+3")
    add("&View", "&Fit to window", lambda p: p.viewer.fit(), "Ctrl+0")
    add("&View", "&Actual size (1 voxel per pixel)", lambda p: p.viewer.actual_size())
    window.menu("&View").addSeparator()

    add("&Project", "&Import volume…", lambda p: p.open_import_dialog(), "Ctrl+I")
    add("&Project", "Import &model…", lambda p: p.actions.import_model())
    add("&Project", "&New label set…", lambda p: p.new_label_set())
    add("&Project", "&Save labels", lambda p: p.labels.save(), "Ctrl+S")
    window.menu("&Project").addSeparator()
    add("&Project", "&Refresh", lambda p: p.refresh(), "F5")
    return actions


def add_dock_toggles(window: MainWindow, page: ProjectPage) -> None:
    """Show/hide entries of the workspace's own docks, in the View menu."""
    view = window.menu("&View")
    for dock in page.docks.values():
        view.addAction(dock.toggleViewAction())
