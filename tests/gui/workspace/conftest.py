"""Fixtures of the workspace tests: a demo project (built once) and a window showing it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from workspace_helpers import settle

from emstudio.core.project import Project
from emstudio.core.synth.demo import add_demo_volumes
from emstudio.gui.main_window import MainWindow

DEMO_SHAPE = (24, 160, 192)  # small, but z, y and x all different (catches swapped axes)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed demo project (em, truth-classes, truth-mito-instances), built once."""
    path = tmp_path_factory.mktemp("demo") / "demo.emproj"
    with Project.create(path, name="demo") as project:
        add_demo_volumes(project, shape=DEMO_SHAPE, seed=3)
    return path


@pytest.fixture
def demo_path(demo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo project for one test."""
    target = tmp_path / "demo.emproj"
    shutil.copytree(demo_template, target)
    return target


@pytest.fixture
def open_window(make_window, qtbot) -> Callable[[Path], MainWindow]:
    """A shown main window (1280 x 860) with ``path`` open and its views drawn."""

    def open_(path: Path) -> MainWindow:
        window = make_window()
        window.resize(1280, 860)
        assert window.open_project(path)
        settle(qtbot, window)
        return window

    return open_


@pytest.fixture(autouse=True)
def no_blocking_questions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A question nobody answers would hang the test run: answer Discard / No by default."""

    def question(parent, title, text, buttons=None, default=None):
        if buttons is not None and buttons & QMessageBox.StandardButton.Discard:
            return QMessageBox.StandardButton.Discard
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
