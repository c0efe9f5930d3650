"""GUI test fixtures: offscreen Qt, isolated settings and user folders, no leaks after a test."""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

if importlib.util.find_spec("PySide6") is None:  # the no-Qt test tier skips this folder
    collect_ignore_glob = ["test_*.py"]
else:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import psutil
    import pytest
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    from emstudio.core.io.base import VoxelSize
    from emstudio.core.project import Project, VolumeRecord
    from emstudio.core.synth.demo import add_demo_volumes
    from emstudio.gui.app import configure_application
    from emstudio.gui.locations import demo_project_path
    from emstudio.gui.main_window import MainWindow

    def flush_deletes() -> None:
        """Run pending deleteLater() calls so leak checks see the real state."""
        for _ in range(3):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            QCoreApplication.processEvents()

    @pytest.fixture(autouse=True)
    def gui_env(qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
        """Own QSettings and XDG folders per test; afterwards no widgets or child processes."""
        configure_application(qapp)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            monkeypatch.setenv(name, str(tmp_path / "user" / name.lower()))
        settings_dir = str(tmp_path / "user" / "settings")
        for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
            QSettings.setPath(fmt, QSettings.Scope.UserScope, settings_dir)
        children_before = {p.pid for p in psutil.Process().children(recursive=True)}
        yield
        flush_deletes()
        leaked = [f"{type(w).__name__} {w.objectName()!r}" for w in QApplication.topLevelWidgets()]
        assert not leaked, f"top-level widgets left after the test: {leaked}"
        children = [
            p for p in psutil.Process().children(recursive=True) if p.pid not in children_before
        ]
        assert not children, f"child processes left after the test: {children}"

    @pytest.fixture
    def make_window(qtbot) -> Iterator[Callable[[], MainWindow]]:
        """Create shown main windows; each is closed and deleted at the end of the test."""
        windows: list[MainWindow] = []

        def make() -> MainWindow:
            window = MainWindow()
            window.show()
            qtbot.waitExposed(window)
            windows.append(window)
            return window

        yield make
        for window in windows:
            window.close()
            window.deleteLater()
        flush_deletes()

    @pytest.fixture
    def errors(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
        """Records (title, text) of every QMessageBox.critical instead of showing it."""
        shown: list[tuple[str, str]] = []

        def critical(parent, title, text, *args, **kwargs):
            shown.append((title, text))
            return QMessageBox.StandardButton.Ok

        monkeypatch.setattr(QMessageBox, "critical", critical)
        return shown

    def volume(name: str, kind: str = "image", **changes: object) -> VolumeRecord:
        """A catalog row (no array behind it: the project page only reads the catalog)."""
        fields: dict = {
            "id": f"id-{name}",
            "name": name,
            "kind": kind,
            "path": f"data/id-{name}.zarr",
            "shape": (10, 20, 30),
            "dtype": "uint8",
            "voxel_size": VoxelSize(),
            "chunks": (10, 20, 30),
            "levels": 1,
            "source": "/tmp/stack.tif",
            "created_at": "2026-01-02T03:04:05+00:00",
        }
        fields.update(changes)
        return VolumeRecord(**fields)

    @pytest.fixture
    def demo_project() -> Path:
        """A small demo project where "Open demo project" finds it (so no child process)."""
        path = demo_project_path()
        with Project.create(path, name="demo") as project:
            add_demo_volumes(project, shape=(8, 64, 64), seed=1)
        return path

    @pytest.fixture
    def project_with_volumes(tmp_path: Path) -> Path:
        """A closed project with two volumes, one with a known voxel size."""
        path = tmp_path / "Cells.emproj"
        with Project.create(path, name="Cells") as project:
            project.catalog.add_volume(volume("raw", voxel_size=VoxelSize(30, 4, 4, known=True)))
            project.catalog.add_volume(volume("mito", kind="labels", dtype="uint16", levels=3))
        return path
