"""Painting tools: navigate / brush / eraser / fill, size, class, background-only, undo, save."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.project.labels import AXIS_NAMES, DEFAULT_CLASSES
from emstudio.gui.colors import class_colour
from emstudio.gui.label_session import LabelSession
from emstudio.gui.layers import LayerSet
from emstudio.gui.viewstate import AXIS_TITLES, LAYERS, MAX_BRUSH, TOOL, VOLUME, ViewState

TOOL_TEXTS = {
    "navigate": ("Navigate", "N", "Click to move the crosshair, drag to pan"),
    "brush": ("Brush", "B", "Paint the chosen class (Shift+click still moves the crosshair)"),
    "eraser": ("Eraser", "E", "Paint background (class 0)"),
    "fill": ("Fill", "F", "Fill the clicked region of this slice (4-connected) with the class"),
}


def swatch(value: int) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*class_colour(value)) if value else QColor(0, 0, 0, 0))
    return QIcon(pixmap)


class PaintPanel(QWidget):
    """Edits ``ViewState.paint`` and drives the LabelSession (undo, redo, save)."""

    newLabelSetRequested = Signal()

    def __init__(
        self,
        state: ViewState,
        layers: LayerSet,
        session: LabelSession,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.layers = layers
        self.session = session
        self.tools = QButtonGroup(self)
        self.tool_buttons: dict[str, QPushButton] = {}
        for tool, (text, key, tip) in TOOL_TEXTS.items():
            button = QPushButton(text)
            button.setCheckable(True)
            button.setToolTip(f"{tip} ({key})")
            button.clicked.connect(lambda _=False, t=tool: state.set_paint(tool=t))
            self.tools.addButton(button)
            self.tool_buttons[tool] = button
        self.size = QSpinBox()
        self.size.setRange(1, MAX_BRUSH)
        self.size.setSuffix(" vx")
        self.size.setToolTip("Brush diameter in voxels (keys [ and ] change it)")
        self.size.valueChanged.connect(lambda v: state.set_paint(size=v))
        self.value = QComboBox()
        self.value.setToolTip("The class the brush and fill paint (mitochondria, nucleus...)")
        self.value.setIconSize(QSize(14, 14))
        self.value.activated.connect(lambda _: state.set_paint(value=int(self.value.currentData())))
        self.background_only = QCheckBox("Paint only on background")
        self.background_only.setToolTip("The brush and fill leave voxels of other classes alone")
        self.background_only.toggled.connect(lambda on: state.set_paint(background_only=on))
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.save_button = QPushButton("Save labels")
        self.new_button = QPushButton("New label set…")
        self.undo_button.setToolTip("Undo the last stroke (Ctrl+Z)")
        self.redo_button.setToolTip("Redo the stroke just undone (Ctrl+Shift+Z)")
        self.save_button.setToolTip("Write the painted slices into the project (Ctrl+S)")
        self.new_button.setToolTip("Start an empty label set for the image shown")
        self.undo_button.clicked.connect(session.undo)
        self.redo_button.clicked.connect(session.redo)
        self.save_button.clicked.connect(session.save)
        self.new_button.clicked.connect(self.newLabelSetRequested)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self._build()
        state.subscribe(self._on_state)
        self._on_state(TOOL)  # show the state as it is now
        session.stateChanged.connect(self.update_status)
        session.edited.connect(self.update_status)

    def update_status(self) -> None:
        editor = self.session.current_editor()
        layer = self.layers.layer("labels")
        idle = not self.session.busy
        self.undo_button.setEnabled(editor is not None and editor.can_undo and idle)
        self.redo_button.setEnabled(editor is not None and editor.can_redo and idle)
        self.save_button.setEnabled(self.session.modified() and not self.session.saving)
        if layer is None:
            self.status.setText("No label set yet: painting creates one.")
            return
        if editor is not None:
            painted = editor.painted
        else:
            stored = layer.record.attrs.get("labelled_slices") or {}
            painted = {a: set(stored.get(a, [])) for a in AXIS_NAMES}
        titles = dict(zip(AXIS_NAMES, AXIS_TITLES, strict=True))
        counts = ", ".join(f"{len(painted[a])} {titles[a]}" for a in AXIS_NAMES)
        if self.session.saving:
            change = "saving…"
        elif self.session.filling:
            change = "filling…"
        elif self.session.modified():
            change = "unsaved changes"
        else:
            change = "saved"
        if any(painted.values()):
            labelled = f"labelled slices: {counts}"
        else:  # imported, or made by a job: no slice was marked as painted here
            labelled = "no slice painted here: training uses every XY slice that has labels"
        self.status.setText(f"<b>{layer.name}</b>: {change}<br>{labelled}")

    def _on_state(self, topic: str) -> None:
        if topic == TOOL:
            paint = self.state.paint
            self.tool_buttons[paint.tool].setChecked(True)
            for widget in (self.size, self.background_only, self.value):
                widget.blockSignals(True)
            self.size.setValue(paint.size)
            self.background_only.setChecked(paint.background_only)
            self.value.setCurrentIndex(max(0, self.value.findData(paint.value)))
            for widget in (self.size, self.background_only, self.value):
                widget.blockSignals(False)
        elif topic in (VOLUME, LAYERS):
            self._fill_classes()
            self.update_status()

    def _fill_classes(self) -> None:
        layer = self.layers.layer("labels")
        classes = layer.classes if layer else {int(k): v for k, v in DEFAULT_CLASSES.items()}
        self.value.blockSignals(True)
        self.value.clear()
        for value, name in sorted(classes.items()):
            if value:
                self.value.addItem(swatch(value), f"{value}  {name}", value)
        self.value.setCurrentIndex(max(0, self.value.findData(self.state.paint.value)))
        self.value.blockSignals(False)
        if self.value.count() and self.value.findData(self.state.paint.value) < 0:
            self.state.set_paint(value=int(self.value.itemData(0)))

    def _build(self) -> None:
        tools = QGridLayout()
        for i, button in enumerate(self.tool_buttons.values()):
            tools.addWidget(button, i // 2, i % 2)
        form = QFormLayout()
        form.addRow("Brush diameter", self.size)
        form.addRow("Class", self.value)
        history = QHBoxLayout()
        history.addWidget(self.undo_button)
        history.addWidget(self.redo_button)
        files = QHBoxLayout()
        files.addWidget(self.save_button)
        files.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addLayout(form)
        layout.addWidget(self.background_only)
        layout.addLayout(history)
        layout.addLayout(files)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)
