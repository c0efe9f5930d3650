"""Cut a PyInstaller one-folder build down to what runs (sizes in PLATFORM-NOTES.md).

Removes torch's C++ test binaries, headers and all of torch/bin but torch_shm_manager, Qt
plugins and translations that a desktop app on X11/Windows/macOS does not load, and strips
debug symbols from shared libraries outside ``*.libs`` folders (stripping those breaks numpy's
bundled OpenBLAS). With ``--variant cpu`` it fails when any CUDA library got into the bundle
(the CPU build must not carry torch's ~3 GB of CUDA libraries).
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


# shared libraries that only a CUDA build of torch brings (its own and NVIDIA's wheels)
CUDA_LIBRARIES = (
    "libtorch_cuda",
    "libc10_cuda",
    "libcudart",
    "libcublas",
    "libcudnn",
    "libcufft",
    "libcurand",
    "libcusolver",
    "libcusparse",
    "libnccl",
    "libnvrtc",
    "libnvJitLink",
    "cudart64",
    "cublas64",
    "cudnn64",
)


def cuda_libraries(bundle: Path) -> list[Path]:
    """The CUDA shared libraries inside a bundle (none in a CPU build); links to them, which
    PyInstaller adds at the top of ``_internal``, are not counted twice."""
    return sorted(
        p
        for p in bundle.rglob("*")
        if p.is_file() and not p.is_symlink() and p.name.startswith(CUDA_LIBRARIES)
    )


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def files_mib(files: list[Path]) -> float:
    return sum(p.stat().st_size for p in files) / 2**20


def slim(bundle: Path) -> None:
    internal = bundle / "_internal"
    before = folder_size(bundle)
    for relative in DROP:
        shutil.rmtree(internal / relative, ignore_errors=True)
    for tool in (internal / "torch" / "bin").glob("*"):  # C++ tests and their fixtures
        if tool.is_dir():
            shutil.rmtree(tool)
        elif tool.name != "torch_shm_manager":  # the one tool torch runs (shared memory)
            tool.unlink()
    strip = shutil.which("strip")
    if strip and sys.platform.startswith("linux"):
        for library in internal.rglob("*.so*"):  # links: their target is visited itself
            if library.is_symlink() or not library.is_file():
                continue
            if not any(p.name.endswith(".libs") for p in library.parents):
                subprocess.run(
                    [strip, "--strip-unneeded", str(library)],
                    check=False,
                    stderr=subprocess.DEVNULL,
                )
    after = folder_size(bundle)
    print(f"slimmed {bundle}: {before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="dist/emstudio")
    parser.add_argument("--variant", choices=["cpu", "cuda"], help="check the torch build")
    args = parser.parse_args()
    slim(args.bundle)
    cuda = cuda_libraries(args.bundle)
    print(f"CUDA libraries in the bundle: {len(cuda)} ({files_mib(cuda):.0f} MiB)")
    if args.variant == "cpu" and cuda:
        print(f"error: the CPU build holds CUDA libraries, e.g. {cuda[0]}", file=sys.stderr)
        return 1
    if args.variant == "cuda" and not cuda:
        print("error: the CUDA build holds no CUDA libraries", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
