"""File dialogs that ask where a project is or should go (tests replace these functions)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from emstudio.core.project import PROJECT_SUFFIX
from emstudio.core.project.catalog import CATALOG_FILE

LAST_DIR_KEY = "paths/last_project_dir"


def project_dir_from(path: str | Path) -> Path:
    """The project folder for a path the user gave: the folder itself or its project.sqlite."""
    path = Path(path).expanduser().absolute()
    if path.name == CATALOG_FILE and path.is_file():
        return path.parent
    return path


def with_project_suffix(path: str | Path) -> Path:
    """``/a/MyCells`` -> ``/a/MyCells.emproj`` (unchanged if it already ends so)."""
    path = Path(path)
    if path.name.endswith(PROJECT_SUFFIX):
        return path
    return path.with_name(path.name + PROJECT_SUFFIX)


def ask_new_project_path(parent: QWidget | None) -> Path | None:
    """Ask for the location and name of a new project; None if the user cancelled."""
    chosen, _ = QFileDialog.getSaveFileName(
        parent,
        "New project: choose a folder and a name",
        str(_start_dir() / "Untitled.emproj"),
        f"emstudio project (*{PROJECT_SUFFIX})",
    )
    if not chosen:
        return None
    path = with_project_suffix(chosen)
    remember_dir(path.parent)
    return path


def ask_open_project_path(parent: QWidget | None) -> Path | None:
    """Ask for an existing project folder; None if the user cancelled."""
    chosen = QFileDialog.getExistingDirectory(
        parent, "Open project: choose a .emproj folder", str(_start_dir())
    )
    if not chosen:
        return None
    path = project_dir_from(chosen)
    remember_dir(path.parent)
    return path


def remember_dir(folder: Path) -> None:
    QSettings().setValue(LAST_DIR_KEY, str(folder))


def _start_dir() -> Path:
    saved = QSettings().value(LAST_DIR_KEY, "")
    if isinstance(saved, str) and saved and Path(saved).is_dir():
        return Path(saved)
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()
