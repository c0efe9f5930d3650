"""The welcome page: what emstudio is, the three ways in, and the recent projects."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from emstudio.gui.locations import app_icon
from emstudio.gui.look import muted, scaled_font
from emstudio.gui.recent import RecentEntry
from emstudio.gui.recent_list import RecentList

DESCRIPTION = "Turn volume electron microscopy stacks into segmentations, meshes and measurements."
MAX_CONTENT_WIDTH = 960


class _ActionButton(QPushButton):
    """A large button with an icon, a title and a one-line explanation."""

    def __init__(self, icon: QIcon, title: str, detail: str, parent: QWidget | None = None):
        super().__init__(icon, title, parent)
        self.setObjectName("startAction")
        self.setToolTip(detail)
        self.setIconSize(QSize(28, 28))
        self.setMinimumHeight(60)
        self.setFont(scaled_font(self, 1.25))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet("text-align: left; padding: 8px 18px;")
        self.detail = muted(QLabel(detail))
        self.detail.setWordWrap(True)


class StartPage(QWidget):
    """Emits what the user asked for; the main window does the work."""

    newRequested = Signal()
    openRequested = Signal()
    demoRequested = Signal()
    recentRequested = Signal(str)
    recentRemoveRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        self.new_button = _ActionButton(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder),
            "New project…",
            "Create an empty project folder (.emproj) to import your stacks into.",
        )
        self.open_button = _ActionButton(
            style.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton),
            "Open project…",
            "Open an existing .emproj project folder.",
        )
        self.demo_button = _ActionButton(
            app_icon(),
            "Open demo project",
            "A small synthetic EM volume with ground truth, to try every step safely.",
        )
        self.new_button.clicked.connect(self.newRequested)
        self.open_button.clicked.connect(self.openRequested)
        self.demo_button.clicked.connect(self.demoRequested)
        self.recent_list = RecentList()
        self.recent_list.openRequested.connect(self.recentRequested)
        self.recent_list.removeRequested.connect(self.recentRemoveRequested)
        self._build()

    def set_recent(self, entries: list[RecentEntry]) -> None:
        self.recent_list.set_entries(entries)
        self._recent_stack.setCurrentIndex(1 if entries else 0)

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        content = QWidget()
        content.setMaximumWidth(MAX_CONTENT_WIDTH)
        column = QVBoxLayout(content)
        column.setSpacing(24)
        column.addLayout(self._header())
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        column.addWidget(line)
        body = QHBoxLayout()
        body.setSpacing(40)
        body.addLayout(self._actions(), 2)
        body.addLayout(self._recent(), 3)
        column.addLayout(body, 1)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(40, 40, 40, 40)
        outer.addStretch(1)
        outer.addWidget(content, 100)
        outer.addStretch(1)

    def _header(self) -> QHBoxLayout:
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(72, 72))
        title = QLabel("emstudio")
        title.setFont(scaled_font(self, 2.4, bold=True))
        subtitle = QLabel(DESCRIPTION)
        subtitle.setFont(scaled_font(self, 1.2))
        subtitle.setWordWrap(True)
        texts = QVBoxLayout()
        texts.setSpacing(4)
        texts.addWidget(title)
        texts.addWidget(subtitle)
        header = QHBoxLayout()
        header.setSpacing(20)
        if not icon.pixmap().isNull():
            header.addWidget(icon, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addLayout(texts, 1)
        return header

    def _actions(self) -> QVBoxLayout:
        layout = QVBoxLayout()
        layout.setSpacing(6)
        layout.addWidget(self._section_title("Start"))
        for button in (self.new_button, self.open_button, self.demo_button):
            layout.addSpacing(8)
            layout.addWidget(button)
            layout.addWidget(button.detail)
        layout.addStretch(1)
        return layout

    def _recent(self) -> QVBoxLayout:
        empty = QLabel(
            "No recent projects yet.\n\nProjects you create or open appear here; "
            "double-click one to open it again."
        )
        empty.setWordWrap(True)
        empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        muted(empty)
        self._recent_stack = QStackedWidget()
        self._recent_stack.addWidget(empty)
        self._recent_stack.addWidget(self.recent_list)
        layout = QVBoxLayout()
        layout.setSpacing(8)
        layout.addWidget(self._section_title("Recent projects"))
        layout.addWidget(self._recent_stack, 1)
        return layout

    def _section_title(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setFont(scaled_font(self, 1.3, bold=True))
        return label
