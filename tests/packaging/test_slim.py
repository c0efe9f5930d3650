"""packaging/slim.py on a small fake bundle (fast; the real build is test_bundle.py, slow)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SLIM = Path(__file__).resolve().parents[2] / "packaging" / "slim.py"


@pytest.fixture
def slim(monkeypatch: pytest.MonkeyPatch):
    """The slim module, with `strip` recorded instead of run."""
    spec = importlib.util.spec_from_file_location("slim", SLIM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.stripped = []
    monkeypatch.setattr(module.shutil, "which", lambda name: "/usr/bin/strip")
    monkeypatch.setattr(
        module.subprocess, "run", lambda args, **kw: module.stripped.append(args[-1])
    )
    monkeypatch.setattr(module.sys, "platform", "linux")
    return module


def touch(path: Path, size: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    internal = tmp_path / "emstudio" / "_internal"
    for name in (
        "torch/bin/torch_shm_manager",
        "torch/bin/test_api",
        "torch/bin/upgrader_models/test_v2.ptl",
        "torch/test/test_x",
        "PySide6/Qt/translations/qt_de.qm",
        "torch/lib/libtorch_cpu.so",
        "numpy.libs/libscipy_openblas64_.so",
    ):
        touch(internal / name)  # fmt: skip
    (internal / "libscipy_openblas64_.so").symlink_to("numpy.libs/libscipy_openblas64_.so")
    return tmp_path / "emstudio"


def test_slim_drops_tests_and_strips_all_but_the_libs_folders(slim, bundle) -> None:
    slim.slim(bundle)
    internal = bundle / "_internal"
    assert [p.name for p in (internal / "torch/bin").iterdir()] == ["torch_shm_manager"]
    assert not (internal / "torch/test").exists()
    assert not (internal / "PySide6/Qt/translations").exists()
    # numpy's OpenBLAS breaks when stripped, also when reached through a link to it
    assert slim.stripped == [str(internal / "torch/lib/libtorch_cpu.so")]


def test_cpu_variant_fails_on_cuda_libraries(slim, bundle, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["slim.py", str(bundle), "--variant", "cpu"])
    assert slim.main() == 0
    touch(bundle / "_internal/nvidia/cublas/lib/libcublas.so.12")
    assert slim.main() == 1
    assert "CPU build holds CUDA libraries" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["slim.py", str(bundle), "--variant", "cuda"])
    assert slim.main() == 0
