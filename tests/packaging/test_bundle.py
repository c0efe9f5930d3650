"""The packaged app (slow: `make package-test`, never `make test`).

Builds the PyInstaller bundle, packs and unpacks the tarball into a clean folder, and runs
`emstudio --self-test` from there with no virtual environment on PATH. Prints the build time,
the bundle and tarball sizes, and the time the packaged app takes to show its start page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def clean_environment(home: Path) -> dict[str, str]:
    """No venv, no PYTHONPATH: only system folders on PATH, a fresh HOME."""
    path = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if Path(p).is_dir())
    env = {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen"}
    for keep in ("DISPLAY", "XAUTHORITY", "TMPDIR"):
        if keep in os.environ:
            env[keep] = os.environ[keep]
    return env


def folder_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def test_bundle_builds_unpacks_and_passes_its_self_test(tmp_path):
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("pyinstaller is not installed (pip install -e '.[package]')")
    start = time.monotonic()
    subprocess.run(
        [str(Path(sys.executable).parent / "pyinstaller"), str(ROOT / "packaging/emstudio.spec"),
         "--noconfirm", "--log-level", "WARN", "--distpath", str(tmp_path / "dist"),
         "--workpath", str(tmp_path / "build")],
        check=True, cwd=ROOT,
    )
    bundle = tmp_path / "dist" / "emstudio"
    subprocess.run([sys.executable, str(ROOT / "packaging/slim.py"), str(bundle)], check=True)
    build_seconds = time.monotonic() - start
    tarball = tmp_path / "emstudio.tar.gz"
    shutil.copy(ROOT / "packaging/linux/install.sh", bundle / "install.sh")
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(bundle, arcname="emstudio")
    unpacked = tmp_path / "clean"
    with tarfile.open(tarball) as tar:
        tar.extractall(unpacked, filter="tar")
    app = unpacked / "emstudio" / "emstudio"
    env = clean_environment(tmp_path / "home")
    (tmp_path / "home").mkdir()

    done = subprocess.run([str(app), "--self-test"], env=env, capture_output=True, text=True,
                          timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "self-test passed" in done.stdout

    shot = tmp_path / "start.png"
    begin = time.monotonic()
    started = subprocess.run([str(app), "gui", "--screenshot", str(shot)], env=env,
                             capture_output=True, text=True, timeout=120)
    startup = time.monotonic() - begin
    assert started.returncode == 0, started.stderr[-2000:]
    assert shot.stat().st_size > 1000
    print(f"\nbuild (pyinstaller + slim): {build_seconds:.0f} s; bundle {folder_mib(bundle):.0f} "
          f"MiB; tarball {tarball.stat().st_size / 2**20:.0f} MiB; start page shown and "
          f"captured in {startup:.1f} s; self-test: {done.stdout.strip()}")
