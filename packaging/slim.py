"""Cut a PyInstaller one-folder build down to what runs (sizes in PLATFORM-NOTES.md).

Removes torch's C++ test binaries, headers and all of torch/bin but torch_shm_manager, Qt
plugins and translations that a desktop app on X11/Windows/macOS does not load, and strips
debug symbols from shared libraries outside ``*.libs`` folders (stripping those breaks numpy's
bundled OpenBLAS).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

DROP = (
    "torch/test",
    "torch/include",
    "PySide6/Qt/translations",
    "PySide6/Qt/qml",
    "PySide6/Qt/plugins/wayland-decoration-client",
    "PySide6/Qt/plugins/wayland-graphics-integration-client",
    "PySide6/Qt/plugins/wayland-shell-integration",
    "PySide6/Qt/plugins/virtualkeyboard",
    "PySide6/Qt/plugins/tls",
    "PySide6/Qt/plugins/sqldrivers",
    "PySide6/Qt/plugins/multimedia",
    "PySide6/Qt/plugins/position",
    "PySide6/Qt/plugins/sensors",
)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def slim(bundle: Path) -> None:
    internal = bundle / "_internal"
    before = folder_size(bundle)
    for relative in DROP:
        shutil.rmtree(internal / relative, ignore_errors=True)
    for tool in (internal / "torch" / "bin").glob("*"):
        if tool.name != "torch_shm_manager":  # the one tool torch runs (shared memory)
            tool.unlink()
    strip = shutil.which("strip")
    if strip and sys.platform.startswith("linux"):
        for library in internal.rglob("*.so*"):
            if library.is_file() and not any(p.name.endswith(".libs") for p in library.parents):
                subprocess.run([strip, "--strip-unneeded", str(library)], check=False,
                               stderr=subprocess.DEVNULL)
    after = folder_size(bundle)
    print(f"slimmed {bundle}: {before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="dist/emstudio")
    slim(parser.parse_args().bundle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
