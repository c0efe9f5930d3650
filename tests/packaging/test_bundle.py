"""The packaged app (slow: `make package-test`, never `make test`).

Builds the PyInstaller bundle, checks that a CPU build carries no CUDA library, packs and
unpacks the tarball into a clean folder, and runs `emstudio --self-test` from there with no
virtual environment on PATH. Prints the build time, the bundle and tarball sizes, the self-test
time and the time the packaged app takes to show its start page (from its own log).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
SHOWN = re.compile(r"main window shown ([\d.]+) s after the process started")


def clean_environment(home: Path) -> dict[str, str]:
    """No venv, no PYTHONPATH: only system folders on PATH, a fresh HOME."""
    path = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if Path(p).is_dir())
    env = {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen"}
    for keep in ("DISPLAY", "XAUTHORITY", "TMPDIR"):
        if keep in os.environ:
            env[keep] = os.environ[keep]
    return env


def folder_mib(path: Path) -> float:
    """Size of the files in ``path`` (links not counted twice)."""
    files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 2**20


def torch_variant() -> str:
    """The torch build of this environment, which the bundle copies: "cpu" or "cuda"."""
    code = "import torch; print('cuda' if torch.version.cuda else 'cpu')"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def build(dist: Path, work: Path) -> Path:
    """PyInstaller build plus slim.py (which fails on CUDA libraries in a CPU build)."""
    tools = Path(sys.executable).parent
    subprocess.run(
        [str(tools / "pyinstaller"), str(ROOT / "packaging/emstudio.spec"), "--noconfirm",
         "--log-level", "WARN", "--distpath", str(dist), "--workpath", str(work)],
        check=True, cwd=ROOT,
    )  # fmt: skip
    bundle = dist / "emstudio"
    slim = [sys.executable, str(ROOT / "packaging/slim.py"), str(bundle)]
    subprocess.run([*slim, "--variant", torch_variant()], check=True)
    return bundle


def test_bundle_builds_unpacks_and_passes_its_self_test(tmp_path):
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("pyinstaller is not installed (pip install -e '.[package]')")
    start = time.monotonic()
    bundle = build(tmp_path / "dist", tmp_path / "build")
    build_seconds = time.monotonic() - start
    tarball = tmp_path / "emstudio.tar.gz"
    shutil.copy(ROOT / "packaging/linux/install.sh", bundle / "install.sh")
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(bundle, arcname="emstudio")
    unpacked = tmp_path / "clean"
    with tarfile.open(tarball) as tar:
        tar.extractall(unpacked, filter="tar")
    app = unpacked / "emstudio" / "emstudio"
    home = tmp_path / "home"
    home.mkdir()
    env = clean_environment(home)

    begin = time.monotonic()
    done = subprocess.run(
        [str(app), "--self-test"], env=env, capture_output=True, text=True, timeout=900,
        cwd=tmp_path,
    )  # fmt: skip
    self_test_seconds = time.monotonic() - begin
    assert done.returncode == 0, done.stderr[-3000:]
    assert "self-test passed" in done.stdout

    shot = tmp_path / "start.png"
    begin = time.monotonic()
    started = subprocess.run(
        [str(app), "gui", "--screenshot", str(shot)], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    screenshot_seconds = time.monotonic() - begin
    assert started.returncode == 0, started.stderr[-2000:]
    assert shot.stat().st_size > 1000
    log = (home / ".local/state/emstudio/logs/gui.log").read_text(encoding="utf-8")
    shown = SHOWN.search(log)
    assert shown, log[-2000:]
    print(
        f"\nbuild (pyinstaller + slim): {build_seconds:.0f} s; bundle {folder_mib(bundle):.0f} "
        f"MiB; tarball {tarball.stat().st_size / 2**20:.0f} MiB; start page shown "
        f"{shown.group(1)} s after launch (screenshot run {screenshot_seconds:.1f} s); "
        f"self-test {self_test_seconds:.0f} s: {done.stdout.strip()}"
    )
