"""Install the PyTorch build that fits this machine (CUDA when an NVIDIA driver is present).

Usage: python packaging/install_torch.py [--variant auto|cpu|cuda] [--version 2.13.0]

CPU: a wheel of the pinned version already reachable offline (pip's find-links/local mirrors,
as on facility mirrors and CI machines), otherwise the official PyTorch CPU index (~200 MB: a
CPU-only workstation should never pull the CUDA build).

CUDA: ``torch===VERSION`` (an exact match, so a local ``+cpu`` wheel never satisfies it) from
the configured indexes, where PyPI's Linux wheel is the CUDA build (2.13.0: CUDA 13.0, about
3 GB with its NVIDIA libraries); otherwise the official PyTorch CUDA index. The installed torch
is checked: a CUDA install that ends with a CPU-only torch fails loudly instead of letting
``make package`` build a "cuda" bundle without CUDA.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

CUDA_INDEX = "https://download.pytorch.org/whl/cu130"
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


def installed_cuda() -> str | None:
    """The CUDA version the installed torch was built with (None: a CPU build, or no torch)."""
    probe = "import torch; print(torch.version.cuda or '')"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def install_cuda(version: str) -> int:
    """CUDA torch ``version``, from the configured indexes, else the PyTorch CUDA index."""
    exact = f"torch==={version}"
    for extra in ((), ("--index-url", CUDA_INDEX)):
        cuda = installed_cuda() if pip(exact, *extra) == 0 else None
        if cuda:
            print(f"emstudio: torch {version} with CUDA {cuda} installed")
            return 0
    print(
        f"emstudio: could not install a CUDA build of torch {version} (the installed torch has "
        f"no CUDA). Check that PyPI or {CUDA_INDEX} is reachable, or use TORCH_VARIANT=cpu.",
        file=sys.stderr,
    )
    return 1


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
    if variant == "cuda":
        return install_cuda(args.version)
    return pip(spec, "--extra-index-url", CPU_INDEX)


if __name__ == "__main__":
    sys.exit(main())
