"""Run the real `emstudio` entry point, in-process (fast) or as a child process (exact)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import em_stack, write_imagej_stack

from emstudio.cli.main import main
from emstudio.jobs.launch import emstudio_command


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """cli(*args) -> Result, calling emstudio's main() in this process."""

    def run(*args: object) -> Result:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli_process():
    """cli_process(*args) -> Result, running the installed `emstudio` executable."""

    def run(*args: object, timeout: float = 120) -> Result:
        proc = subprocess.run(
            emstudio_command(*map(str, args)), capture_output=True, text=True, timeout=timeout
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def imagej_tiff(tmp_path) -> tuple[Path, np.ndarray]:
    """A small ImageJ TIFF stack with voxel size 40 x 8 x 8 nm."""
    data = em_stack()
    path = tmp_path / "inputs" / "stack.tif"
    path.parent.mkdir()
    return write_imagej_stack(path, data), data


@pytest.fixture
def project(tmp_path, cli) -> Path:
    path = tmp_path / "p.emproj"
    assert cli("project", "create", path).code == 0
    return path
