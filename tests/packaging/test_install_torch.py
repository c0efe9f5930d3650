"""packaging/install_torch.py's CUDA path: an exact version, checked after install."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "install_torch.py"


@pytest.fixture
def installer(monkeypatch: pytest.MonkeyPatch):
    """The module with pip recorded (and succeeding) instead of run."""
    spec = importlib.util.spec_from_file_location("install_torch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.calls = []
    monkeypatch.setattr(module, "pip", lambda *args: module.calls.append(args) or 0)
    return module


def test_cuda_asks_for_the_exact_version_so_a_local_cpu_wheel_never_matches(installer) -> None:
    installer.installed_cuda = lambda: "13.0"
    assert installer.install_cuda("2.13.0") == 0
    assert installer.calls == [("torch===2.13.0",)]


def test_a_cpu_torch_after_a_cuda_install_tries_the_cuda_index_then_fails(
    installer, capsys
) -> None:
    installer.installed_cuda = lambda: None
    assert installer.install_cuda("2.13.0") == 1
    assert installer.calls == [
        ("torch===2.13.0",),
        ("torch===2.13.0", "--index-url", installer.CUDA_INDEX),
    ]
    assert "could not install a CUDA build of torch 2.13.0" in capsys.readouterr().err


def test_the_installed_torch_here_is_probed(installer) -> None:
    import torch

    assert installer.installed_cuda() == (torch.version.cuda or None)
