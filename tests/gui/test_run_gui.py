"""``run_gui`` in a fresh process, as the ``emstudio`` executable runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from emstudio.core.project import Project
from emstudio.gui.app import when_done

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_gui_process(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    code = "import sys; from emstudio.gui.app import run_gui; sys.exit(run_gui(*sys.argv[1:]))"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("EMSTUDIO_LOG_DIR", None)  # use the default log folder
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[name] = str(tmp_path / "user" / name.lower())
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_screenshot_of_the_start_page(tmp_path):
    target = tmp_path / "shots" / "start.png"
    done = run_gui_process(tmp_path, "", str(target))
    assert done.returncode == 0, done.stderr
    data = target.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    logs = tmp_path / "user" / "xdg_state_home" / "emstudio" / "logs"  # as the CLI's
    assert (logs / "gui-crash.log").is_file()  # faulthandler's file
    assert "GUI starting" in (logs / "gui.log").read_text()


def test_screenshot_with_a_project_releases_it_on_exit(tmp_path):
    project = tmp_path / "Cells.emproj"
    Project.create(project).close()
    target = tmp_path / "project.png"
    done = run_gui_process(tmp_path, str(project), str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_bytes().startswith(PNG_SIGNATURE)
    Project.open(project).close()


def test_a_project_that_cannot_open_exits_2_without_traceback(tmp_path):
    done = run_gui_process(tmp_path, str(tmp_path / "missing.emproj"), str(tmp_path / "x.png"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_a_project_given_at_launch_opens_once_the_preloading_ends(qtbot):
    """The window keeps painting while the libraries a project needs are imported."""
    release = threading.Event()
    preloading = threading.Thread(target=release.wait, daemon=True)
    preloading.start()
    opened: list[float] = []
    when_done(preloading, lambda: opened.append(time.monotonic()))
    qtbot.wait(200)
    assert opened == []  # the event loop went on meanwhile (qtbot.wait runs it)
    released = time.monotonic()
    release.set()
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=2000)
    assert opened[0] >= released
