"""A read-only table model of a project's volumes, with the formatting people read."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from emstudio.core.io.base import VoxelSize
from emstudio.core.project import VolumeRecord

COLUMNS = (
    "Name",
    "Kind",
    "Shape (z × y × x)",
    "Data type",
    "Voxel size (nm)",
    "Levels",
    "Created",
)
HEADER_TIPS = {
    2: "Number of voxels along z, y and x",
    4: "Physical size of one voxel along z, y and x, in nanometres",
    5: "Resolution levels stored (full resolution plus downsampled copies for fast viewing)",
}
_Index = QModelIndex | QPersistentModelIndex


def format_shape(shape: tuple[int, ...]) -> str:
    return " × ".join(str(n) for n in shape)


def format_voxel_size(size: VoxelSize) -> str:
    if not size.known:
        return "unknown"
    return " × ".join(f"{v:g}" for v in size.zyx)


def format_created(stamp: str) -> str:
    """An ISO timestamp (UTC) as local date and time, to the minute."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def row_texts(record: VolumeRecord) -> tuple[str, ...]:
    """The cells of one row, in COLUMNS order."""
    return (
        record.name,
        record.kind,
        format_shape(record.shape),
        record.dtype,
        format_voxel_size(record.voxel_size),
        str(record.levels),
        format_created(record.created_at),
    )


class VolumeTableModel(QAbstractTableModel):
    """Rows are VolumeRecords (a snapshot of the catalog; call ``set_volumes`` to refresh)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, ...]] = []
        self._records: list[VolumeRecord] = []

    def set_volumes(self, records: list[VolumeRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._rows = [row_texts(r) for r in self._records]
        self.endResetModel()

    def record(self, row: int) -> VolumeRecord:
        return self._records[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            record = self._records[index.row()]
            size = record.voxel_size.describe()
            return f"{record.name}\nVoxel size: {size}\nSource: {record.source}"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(section)
        return None
