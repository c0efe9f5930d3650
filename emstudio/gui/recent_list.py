"""The list of recent projects on the start page: name over path, missing ones greyed."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from emstudio.gui.recent import RecentEntry

PATH_ROLE = Qt.ItemDataRole.UserRole
MISSING_ROLE = Qt.ItemDataRole.UserRole + 1
MARGIN = 8


class _EntryDelegate(QStyledItemDelegate):
    """Paints a project's name in bold with its folder below it, in a muted colour."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(200, 2 * metrics.height() + 3 * MARGIN // 2 + MARGIN)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        missing = bool(index.data(MISSING_ROLE))
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        group = QPalette.ColorGroup.Disabled if missing else QPalette.ColorGroup.Normal
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        main_colour = palette.color(group, role)
        muted_role = QPalette.ColorRole.Text if missing else QPalette.ColorRole.PlaceholderText
        sub_colour = main_colour if selected else palette.color(group, muted_role)
        rect = option.rect.adjusted(MARGIN + 4, MARGIN - 2, -MARGIN, -MARGIN + 2)
        metrics = QFontMetrics(option.font)
        bold = QFont(option.font)
        bold.setBold(not missing)
        name = str(index.data(Qt.ItemDataRole.DisplayRole))
        path = str(index.data(PATH_ROLE))
        if missing:
            path += "  (not found)"
        painter.save()
        painter.setFont(bold)
        painter.setPen(main_colour)
        top = QRect(rect.left(), rect.top(), rect.width(), metrics.height())
        painter.drawText(
            top,
            Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(bold).elidedText(name, Qt.TextElideMode.ElideRight, rect.width()),
        )
        painter.setFont(option.font)
        painter.setPen(sub_colour)
        bottom = top.translated(0, metrics.height() + 2)
        painter.drawText(
            bottom,
            Qt.AlignmentFlag.AlignLeft,
            metrics.elidedText(path, Qt.TextElideMode.ElideMiddle, rect.width()),
        )
        painter.restore()


class RecentList(QListWidget):
    """Shows recent projects; emits ``openRequested(path)`` on double-click or Enter."""

    openRequested = Signal(str)
    removeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setItemDelegate(_EntryDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.itemActivated.connect(self._activate)

    def set_entries(self, entries: list[RecentEntry]) -> None:
        self.clear()
        for entry in entries:
            item = QListWidgetItem(entry.name)
            item.setData(PATH_ROLE, entry.path)
            missing = not entry.exists
            item.setData(MISSING_ROLE, missing)
            tip = "Folder not found: moved or deleted." if missing else "Double-click to open."
            item.setToolTip(f"{entry.path}\n{tip}")
            self.addItem(item)

    def paths(self) -> list[str]:
        return [self.item(i).data(PATH_ROLE) for i in range(self.count())]

    def _activate(self, item: QListWidgetItem) -> None:
        self.openRequested.emit(item.data(PATH_ROLE))

    def _show_menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        menu = QMenu(self)
        open_action = menu.addAction("Open")
        open_action.setEnabled(not item.data(MISSING_ROLE))
        remove_action = menu.addAction("Remove from list")
        chosen = menu.exec(self.viewport().mapToGlobal(pos))
        if chosen is open_action:
            self.openRequested.emit(item.data(PATH_ROLE))
        elif chosen is remove_action:
            self.removeRequested.emit(item.data(PATH_ROLE))
        menu.deleteLater()
