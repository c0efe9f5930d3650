"""The "recent projects" list, kept in QSettings (most recent first)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from emstudio.core.project.catalog import CATALOG_FILE

SETTINGS_KEY = "recent/projects"
MAX_ENTRIES = 10


@dataclass(frozen=True)
class RecentEntry:
    """One remembered project: its folder and the name it had when last opened."""

    path: str
    name: str

    @property
    def exists(self) -> bool:
        """Whether the folder still holds a project (it may have been moved or deleted)."""
        return (Path(self.path) / CATALOG_FILE).is_file()


class RecentProjects:
    """Read and update the list; every call re-reads QSettings, so windows stay in step."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings

    def entries(self) -> list[RecentEntry]:
        raw = self._qsettings().value(SETTINGS_KEY, "[]")
        try:
            items = json.loads(raw) if isinstance(raw, str) else []
        except ValueError:
            items = []
        entries = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                path = item["path"]
                entries.append(RecentEntry(path, str(item.get("name") or Path(path).stem)))
        return entries[:MAX_ENTRIES]

    def add(self, path: str | Path, name: str) -> None:
        """Put a project at the top of the list (moving it if it was there already)."""
        key = str(Path(path).absolute())
        rest = [e for e in self.entries() if e.path != key]
        self._save([RecentEntry(key, name), *rest][:MAX_ENTRIES])

    def remove(self, path: str | Path) -> None:
        key = str(Path(path).absolute())
        self._save([e for e in self.entries() if e.path != key])

    def clear(self) -> None:
        self._save([])

    def _save(self, entries: list[RecentEntry]) -> None:
        settings = self._qsettings()
        data = [{"path": e.path, "name": e.name} for e in entries]
        settings.setValue(SETTINGS_KEY, json.dumps(data))
        settings.sync()

    def _qsettings(self) -> QSettings:
        return self._settings if self._settings is not None else QSettings()
