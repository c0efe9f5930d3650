"""Install the PyTorch build that fits this machine (CUDA when an NVIDIA driver is present).

Usage: python packaging/install_torch.py [--variant auto|cpu|cuda] [--version 2.13.0]

Order of preference:
1. a wheel of the pinned version already reachable offline (pip's find-links/local mirrors,
   as on facility mirrors and CI machines);
2. otherwise the official PyTorch index for the chosen variant (CPU wheels are ~200 MB,
   CUDA wheels ~3 GB: a CPU-only workstation should never pull the CUDA build).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

CUDA_INDEX = "https://download.pytorch.org/whl/cu128"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def has_nvidia_driver() -> bool:
    """True when nvidia-smi exists and reports at least one GPU."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def pip(*args: str) -> int:
    return subprocess.call([sys.executable, "-m", "pip", "install", "-q", *args])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--version", default="2.13.0")
    args = parser.parse_args()
    variant = args.variant
    if variant == "auto":
        variant = "cuda" if has_nvidia_driver() else "cpu"
    spec = f"torch=={args.version}"
    print(f"emstudio: installing {spec} ({variant} build)")
    if variant == "cpu" and pip("--no-index", "--no-deps", spec) == 0:
        return pip(spec)  # the wheel is in place; this adds its small pure-Python needs
    index = CUDA_INDEX if variant == "cuda" else CPU_INDEX
    return pip(spec, "--extra-index-url", index)


if __name__ == "__main__":
    sys.exit(main())
