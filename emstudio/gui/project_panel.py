"""The project browser: images, label sets, predictions, segmentations, models and meshes.

Double-click shows a volume (an image in the viewers, anything else as its overlay) or a
model's card; the context menu renames, deletes, exports or shows where an item came from.
The panel only emits requests; the workspace carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.project import Project, VolumeRecord
from emstudio.core.text import counted
from emstudio.gui.look import muted, scaled_font
from emstudio.gui.volume_table import format_created, format_shape, format_voxel_size

GROUPS = (
    ("image", "Images"),
    ("labels", "Label sets"),
    ("prediction", "Predictions"),
    ("segmentation", "Segmentations"),
    ("model", "Models"),
    ("mesh", "Meshes"),
)
COLUMNS = ("Name", "Shape (z × y × x)", "Type", "Voxel size (nm)", "Levels", "Created")
ITEM_ROLE = Qt.ItemDataRole.UserRole  # an _Entry on item rows, the kind on group rows


@dataclass(frozen=True)
class _Entry:
    what: str  # "volume" (data: VolumeRecord), "model" or "mesh" (data: dict)
    data: Any


class ProjectPanel(QWidget):
    """Header (name, folder, counts) over a tree of the project's items."""

    showRequested = Signal(object)  # VolumeRecord
    renameRequested = Signal(object)
    deleteRequested = Signal(object)
    deleteItemRequested = Signal(str, str)  # "mesh" or "model", its name
    exportRequested = Signal(object)
    provenanceRequested = Signal(str, object)  # title, dict
    cardRequested = Signal(object)  # a model's catalog record as JSON (card, provenance)
    exportModelRequested = Signal(str)  # a model's name
    importRequested = Signal()
    closeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_label = QLabel()
        self.name_label.setFont(scaled_font(self, 1.5, bold=True))
        self.path_label = muted(QLabel())
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.name_label, self.path_label):  # long names must not widen the dock
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary_label = QLabel()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        import_button = QPushButton("Import…")
        import_button.setToolTip("Import a stack (TIFF, MRC, HDF5, Zarr, folder of slices)")
        import_button.clicked.connect(self.importRequested)
        close_button = QPushButton("Close project")
        close_button.setToolTip("Close this project and go back to the start page")
        close_button.clicked.connect(self.closeRequested)
        buttons = QHBoxLayout()
        buttons.addWidget(import_button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.name_label)
        layout.addWidget(self.path_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)

    def show_project(self, project: Project, shown: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Fill from the catalog; ``shown`` names the volumes in the viewers (drawn bold)."""
        self.name_label.setText(project.name)
        self.path_label.setText(str(project.path))
        self.path_label.setToolTip(str(project.path))
        volumes = project.catalog.volumes()
        count = len(volumes)
        self.summary_label.setText(counted(count, "volume"))
        self.summary_label.setVisible(count > 0)
        collapsed = {
            self.tree.topLevelItem(i).data(0, ITEM_ROLE)
            for i in range(self.tree.topLevelItemCount())
            if not self.tree.topLevelItem(i).isExpanded()
        }
        self.tree.clear()
        items: dict[str, list[tuple[str, Any, tuple[str, ...]]]] = {k: [] for k, _ in GROUPS}
        for record in volumes:
            items.setdefault(record.kind, []).append(("volume", record, _volume_texts(record)))
        for model in project.catalog.models():
            items["model"].append(("model", model.to_json(), (model.name, "", "", "", "", "")))
        for mesh in project.catalog.mesh_set_records():
            texts = (mesh.name, counted(mesh.count, "object"), mesh.format, "", "", "")
            items["mesh"].append(("mesh", mesh.to_json(), texts))
        for kind, title in GROUPS:
            group = QTreeWidgetItem([f"{title} ({len(items[kind])})"])
            group.setData(0, ITEM_ROLE, kind)
            font = QFont(group.font(0))
            font.setBold(True)
            group.setFont(0, font)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(group)
            for what, data, texts in items[kind]:
                child = QTreeWidgetItem(list(texts))
                child.setData(0, ITEM_ROLE, _Entry(what, data))
                if what == "volume":
                    child.setToolTip(0, f"{data.name}\nfrom {data.source}")
                    if data.name in shown:
                        bold = QFont(child.font(0))
                        bold.setBold(True)
                        child.setFont(0, bold)
                        child.setToolTip(0, child.toolTip(0) + "\n(shown in the viewers)")
                group.addChild(child)
            group.setExpanded(kind not in collapsed)
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)

    def clear(self) -> None:
        self.name_label.clear()
        self.path_label.clear()
        self.summary_label.clear()
        self.tree.clear()

    def volume_item(self, name: str) -> QTreeWidgetItem | None:
        """The tree item of a volume (tests, selection)."""
        return self._item("volume", name)

    def model_item(self, name: str) -> QTreeWidgetItem | None:
        """The tree item of a model (tests, selection)."""
        return self._item("model", name)

    def _item(self, what: str, name: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                entry = group.child(j).data(0, ITEM_ROLE)
                if entry.what != what:
                    continue
                found = entry.data.name if what == "volume" else entry.data["name"]
                if found == name:
                    return group.child(j)
        return None

    def menu_for(self, item: QTreeWidgetItem) -> QMenu | None:
        """The context menu of an item (None for group rows)."""
        entry = item.data(0, ITEM_ROLE)
        if not isinstance(entry, _Entry):
            return None
        what, data = entry.what, entry.data
        menu = QMenu(self)
        if what == "volume":
            record: VolumeRecord = data
            show = "Show" if record.kind == "image" else "Show as overlay"
            menu.addAction(show, lambda: self.showRequested.emit(record))
            menu.addSeparator()
            menu.addAction("Rename…", lambda: self.renameRequested.emit(record))
            menu.addAction("Export…", lambda: self.exportRequested.emit(record))
            menu.addAction("Delete…", lambda: self.deleteRequested.emit(record))
            menu.addSeparator()
            title = f"{record.name} ({record.kind})"
            details = {"source": record.source, **record.provenance, "attrs": record.attrs}
            menu.addAction("Provenance…", lambda: self.provenanceRequested.emit(title, details))
        else:
            title = f"{data['name']} ({what})"
            name = data["name"]
            if what == "model":
                menu.addAction("Model card…", lambda: self.cardRequested.emit(data))
                menu.addAction("Export…", lambda: self.exportModelRequested.emit(name))
            menu.addAction("Delete…", lambda: self.deleteItemRequested.emit(what, name))
            menu.addSeparator()
            menu.addAction("Provenance…", lambda: self.provenanceRequested.emit(title, data))
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        menu = self.menu_for(item) if item is not None else None
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def _double_clicked(self, item: QTreeWidgetItem) -> None:
        entry = item.data(0, ITEM_ROLE)
        if isinstance(entry, _Entry) and entry.what == "volume":
            self.showRequested.emit(entry.data)
        elif isinstance(entry, _Entry) and entry.what == "model":
            self.cardRequested.emit(entry.data)


def _volume_texts(record: VolumeRecord) -> tuple[str, ...]:
    return (
        record.name,
        format_shape(record.shape),
        record.dtype,
        format_voxel_size(record.voxel_size),
        str(record.levels),
        format_created(record.created_at),
    )
