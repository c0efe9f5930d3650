"""`emstudio gui PROJECT --screenshot OUT.png --slice Z,Y,X` through the real command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from emstudio.jobs.launch import emstudio_command


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", EMSTUDIO_LOG_DIR=str(tmp_path / "logs"))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[name] = str(tmp_path / "user" / name.lower())
    return subprocess.run(
        emstudio_command("gui", *args), env=env, capture_output=True, text=True, timeout=120
    )


def test_screenshot_of_the_demo_at_a_chosen_voxel(demo_path, tmp_path):
    target = tmp_path / "shot.png"
    done = _run(tmp_path, str(demo_path), "--screenshot", str(target), "--slice", "3,50,70")
    assert done.returncode == 0, done.stderr
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1440, 900)
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)  # kept alive while read
    pixels = np.frombuffer(rgb.constBits(), np.uint8, count=rgb.sizeInBytes()).copy()
    assert len(np.unique(pixels.reshape(-1, 3)[::97], axis=0)) > 200  # images, not empty views
    log = (tmp_path / "logs" / "gui.log").read_text()
    assert "at voxel (3, 50, 70) (views drawn: True; torch imported: False)" in log


def test_a_bad_slice_is_refused_with_a_message(demo_path, tmp_path):
    done = _run(tmp_path, str(demo_path), "--screenshot", str(tmp_path / "x.png"), "--slice", "3,5")
    assert done.returncode == 2
    assert "--slice must be three voxel indices" in done.stderr
    assert "Traceback" not in done.stderr
