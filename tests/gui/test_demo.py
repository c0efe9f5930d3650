"""Open demo: built once by a child process behind a progress dialog, then opened."""

from __future__ import annotations

import sys
import textwrap

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from emstudio.core.project import Project
from emstudio.gui.locations import demo_project_path
from emstudio.jobs import launch

# Stands in for `emstudio demo PATH` (written elsewhere): prints progress, builds atomically.
FAKE_DEMO = textwrap.dedent(
    """
    import sys, time
    from emstudio.core.project import Project
    path = sys.argv[-1]
    print("Generating the synthetic volume... 10%")
    print("Generating the synthetic volume... 60%")
    time.sleep(float(sys.argv[1]))
    if sys.argv[2] == "fail":
        print("Not enough free disk space in", path)
        raise SystemExit(2)
    Project.create(path, name="Demo").close()
    print("Demo project ready")
    """
)


def fake_command(monkeypatch: pytest.MonkeyPatch, delay: float = 0.0, outcome: str = "ok"):
    calls: list[tuple[str, ...]] = []

    def command(*args: str) -> list[str]:
        calls.append(args)
        return [sys.executable, "-c", FAKE_DEMO, str(delay), outcome, *args]

    monkeypatch.setattr(launch, "emstudio_command", command)
    return calls


def test_open_demo_builds_it_in_a_child_process_then_opens_it(make_window, monkeypatch, qtbot):
    calls = fake_command(monkeypatch, delay=0.3)
    window = make_window()
    qtbot.mouseClick(window.start_page.demo_button, Qt.MouseButton.LeftButton)
    builder = window.demo_builder
    assert builder is not None and builder.dialog.isVisible()
    assert not window.start_page.demo_button.isEnabled()  # one build at a time
    qtbot.waitUntil(lambda: builder.last_line.endswith("60%"), timeout=20_000)
    assert builder.dialog.labelText() == "Generating the synthetic volume... 60%"
    assert builder.dialog.value() == 60
    qtbot.waitUntil(lambda: window.project is not None, timeout=20_000)
    demo = demo_project_path()
    assert calls == [("demo", str(demo))]
    assert window.project.path == demo
    assert window.project_page.name_label.text() == "Demo"
    assert window.demo_builder is None
    assert window.start_page.demo_button.isEnabled()


def test_existing_demo_opens_without_a_child(make_window, monkeypatch):
    Project.create(demo_project_path(), name="Demo").close()
    calls = fake_command(monkeypatch)
    window = make_window()
    window.open_demo()
    assert calls == []
    assert window.project is not None and window.project.path == demo_project_path()


def test_cancel_kills_the_child_and_opens_nothing(make_window, monkeypatch, qtbot):
    fake_command(monkeypatch, delay=60)
    window = make_window()
    window.open_demo()
    builder = window.demo_builder
    qtbot.waitUntil(lambda: builder.last_line.endswith("60%"), timeout=20_000)
    pid = builder.process.processId()
    cancel = builder.dialog.findChild(QPushButton)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert window.demo_builder is None
    assert window.project is None
    assert window.pages.currentWidget() is window.start_page
    assert not (demo_project_path() / "project.sqlite").exists()
    assert "cancelled" in window.statusBar().currentMessage()
    assert pid > 0  # and the autouse fixture checks that no child process is left


def test_failed_child_shows_its_last_output(make_window, monkeypatch, qtbot, errors):
    fake_command(monkeypatch, outcome="fail")
    window = make_window()
    window.open_demo()
    qtbot.waitUntil(lambda: bool(errors), timeout=20_000)
    title, text = errors[0]
    assert title == "Demo project"
    assert "exit code 2" in text
    assert "Not enough free disk space" in text
    assert window.project is None
    assert window.demo_builder is None


def test_child_that_cannot_start_is_reported(make_window, monkeypatch, qtbot, errors, tmp_path):
    missing = str(tmp_path / "no-such-emstudio")
    monkeypatch.setattr(launch, "emstudio_command", lambda *args: [missing, *args])
    window = make_window()
    window.open_demo()
    qtbot.waitUntil(lambda: bool(errors), timeout=20_000)
    assert "could not start" in errors[0][1]
    assert window.demo_builder is None


def test_closing_the_window_during_the_build_stops_the_child(make_window, monkeypatch, qtbot):
    fake_command(monkeypatch, delay=60)
    window = make_window()
    window.open_demo()
    builder = window.demo_builder
    qtbot.waitUntil(lambda: builder.last_line != "", timeout=20_000)
    window.close()
    assert window.demo_builder is None


def test_the_real_demo_command(make_window, qtbot, errors):
    """End to end with `emstudio demo PATH` itself (skipped until the CLI provides it)."""
    pytest.importorskip("emstudio.cli.commands.demo")
    window = make_window()
    window.open_demo()
    qtbot.waitUntil(lambda: window.demo_builder is None, timeout=120_000)
    assert errors == []
    assert window.project is not None and window.project.path == demo_project_path()
    assert window.project_page.panel.volume_item("em") is not None
