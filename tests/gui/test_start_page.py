"""The first screen: three ways in, recent projects, and the window around them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from emstudio.core.project import Project
from emstudio.gui.recent import MAX_ENTRIES, RecentProjects
from emstudio.gui.recent_list import MISSING_ROLE


def test_start_page_shows_the_three_ways_in(make_window) -> None:
    window = make_window()
    page = window.start_page
    assert window.pages.currentWidget() is page
    buttons = (page.new_button, page.open_button, page.demo_button)
    assert [b.text() for b in buttons] == ["New project…", "Open project…", "Open demo project"]
    assert all(b.isVisible() and b.isEnabled() for b in buttons)
    assert not window.close_action.isEnabled()
    assert window.windowTitle() == "emstudio"


def test_menus_hold_the_file_and_help_commands(make_window) -> None:
    window = make_window()
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    file_items = [a.text() for a in menus["&File"].actions() if not a.isSeparator()]
    assert file_items == [
        "&New project…",
        "&Open project…",
        "Open &recent",
        "Open &demo project",
        "&Close project",
        "&Quit",
    ]
    help_items = [a.text() for a in menus["&Help"].actions()]
    assert help_items == ["&Guided tour", "&About emstudio", "Open &log folder"]


def _create(path: Path, name: str) -> Path:
    Project.create(path, name=name).close()
    return path


def test_recent_list_updates_and_persists_across_windows(make_window, tmp_path, qtbot) -> None:
    first = _create(tmp_path / "A.emproj", "Alpha")
    second = _create(tmp_path / "B.emproj", "Beta")
    window = make_window()
    assert window.open_project(first)
    assert window.open_project(second)
    window.close_project()
    assert window.start_page.recent_list.paths() == [str(second), str(first)]
    window.close()

    again = make_window()
    recent = again.start_page.recent_list
    assert recent.paths() == [str(second), str(first)]
    item = recent.item(1)
    assert item.text() == "Alpha"
    rect = recent.visualItemRect(item)
    # Qt 6's QTest needs the first click of a double-click sent on its own
    qtbot.mouseClick(recent.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(recent.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert again.project is not None and again.project.path == first
    assert again.pages.currentWidget() is again.project_page
    assert RecentProjects().entries()[0].path == str(first)  # now the most recent


def test_recent_menu_lists_projects(make_window, tmp_path) -> None:
    path = _create(tmp_path / "A.emproj", "Alpha")
    RecentProjects().add(path, "Alpha")
    window = make_window()
    window.recent_menu.aboutToShow.emit()
    actions = [a for a in window.recent_menu.actions() if not a.isSeparator()]
    assert actions[0].text().startswith("Alpha")
    actions[0].trigger()
    assert window.project is not None and window.project.path == path
    window.clear_recent()
    assert RecentProjects().entries() == []


def test_missing_recent_project_is_greyed_and_can_be_removed(
    make_window, tmp_path, monkeypatch
) -> None:
    gone = tmp_path / "Gone.emproj"
    RecentProjects().add(gone, "Gone")
    window = make_window()
    item = window.start_page.recent_list.item(0)
    assert item.data(MISSING_ROLE) is True
    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    window.open_recent(str(gone))
    assert asked and "moved or deleted" in asked[0]
    assert window.start_page.recent_list.count() == 0
    assert window.pages.currentWidget() is window.start_page


def test_recent_list_keeps_the_newest_entries(tmp_path) -> None:
    recent = RecentProjects()
    for i in range(MAX_ENTRIES + 3):
        recent.add(tmp_path / f"p{i}.emproj", f"p{i}")
    names = [e.name for e in recent.entries()]
    assert len(names) == MAX_ENTRIES
    assert names[0] == f"p{MAX_ENTRIES + 2}"


def test_window_geometry_is_remembered(make_window) -> None:
    window = make_window()
    window.resize(700, 500)  # within the offscreen platform's 800 x 600 screen
    window.close()
    assert make_window().size() == window.size()
