"""Every control a user can press, pick or drag explains itself (tooltip or What's This?)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QLineEdit,
    QScrollBar,
    QSlider,
    QTabBar,
    QWidget,
)

from emstudio.core.project import Project
from emstudio.gui.crowd.import_dialog import CrowdImportDialog
from emstudio.gui.tour import show_tour
from emstudio.gui.tour_steps import STEPS, find_action

CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QSlider, QLineEdit)


def unexplained(root: QWidget) -> list[str]:
    """Visible controls with neither a tooltip nor a What's This text."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisible():
            continue
        if isinstance(
            widget.parent(), QDockWidget | QTabBar | QScrollBar | QComboBox | QDialogButtonBox
        ):
            continue  # Qt's own parts (dock title buttons...), OK / Cancel
        if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QAbstractSpinBox):
            continue
        if not (widget.toolTip() or widget.whatsThis()):
            text = widget.text() if hasattr(widget, "text") else ""
            found.append(f"{type(widget).__name__} {text!r} in {type(widget.parent()).__name__}")
    return found


def test_start_page_controls_explain_themselves(make_window) -> None:
    assert unexplained(make_window()) == []


def test_workspace_and_tour_controls_explain_themselves(make_window, qtbot, demo_project) -> None:
    window = make_window()
    assert window.open_project(demo_project)
    tour = show_tour(window)
    qtbot.waitUntil(lambda: window.project_page.settled)
    assert tour.isVisible()
    assert unexplained(window) == []


def test_main_path_dialogs_explain_their_controls(make_window, demo_project, monkeypatch) -> None:
    window = make_window()
    assert window.open_project(demo_project)
    found: dict[str, list[str]] = {}

    def exec_(dialog: QDialog) -> int:
        dialog.show()
        found[dialog.windowTitle()] = unexplained(dialog)
        dialog.reject()
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(QDialog, "exec", exec_)
    for step in STEPS:
        action = find_action(window, step)
        if step.menu == "Run" and action is not None:  # the dialogs of the tour's steps
            action.trigger()
    assert len(found) >= 2  # train and predict at least
    assert found == {title: [] for title in found}


def test_crowd_import_dialog_explains_its_controls(qtbot, demo_project) -> None:
    with Project.open(demo_project, mode="read") as project:
        images = project.catalog.volumes("image")
    dialog = CrowdImportDialog(demo_project, images, ["truth-classes"])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert unexplained(dialog) == []
