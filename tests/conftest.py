"""Shared fixtures: the real-data folder, and isolation of per-user folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the repository; tests using it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real EM data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _user_folders(tmp_path_factory, monkeypatch):
    """Logs and crash reports of the code under test go to a temporary folder."""
    monkeypatch.setenv("EMSTUDIO_LOG_DIR", str(tmp_path_factory.mktemp("logs")))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_collect_file(file_path, parent):
    """Test modules are imported by basename (rootdir import mode): names must be unique."""
    if file_path.name.startswith("test_") and file_path.suffix == ".py":
        twins = [p for p in REPO_ROOT.joinpath("tests").rglob(file_path.name) if p != file_path]
        if twins:
            raise pytest.UsageError(f"{file_path}: another test module has the same name: {twins}")
