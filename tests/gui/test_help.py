"""Help menu and the safety net for unexpected errors."""

from __future__ import annotations

import sys

from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from emstudio.gui.locations import log_dir
from emstudio.gui.logs import install_excepthook


def test_open_log_folder_opens_the_logs(make_window, monkeypatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    make_window().log_action.trigger()
    assert [u.toLocalFile() for u in opened] == [str(log_dir())]
    assert log_dir().is_dir()


def test_about_names_the_version(make_window, monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    make_window().about_action.trigger()
    assert "emstudio 0." in shown[0]


def test_uncaught_errors_are_logged_and_told_in_a_sentence(monkeypatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    told: list[str] = []
    previous = install_excepthook(told.append)
    assert previous is not sys.excepthook
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert "bad value" in told[0]
    assert str(log_dir()) in told[0]
    assert "Traceback" not in told[0]
