"""The Proofreading panel: merge, split by seeds, delete, relabel, undo/redo, save a version."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emstudio.gui.label_session import unique_name
from emstudio.gui.proofread_session import SEED_COLOURS, ProofreadSession
from emstudio.gui.viewstate import SELECTION, ViewState

FLOOD_CHOICES = (
    ("distance", "Shape", "Flood the object's distance map: cuts at necks, where it is thin"),
    ("gradient", "Image edges", "Flood the image gradient: cuts along edges of the EM image"),
)
HELP_TEXT = (
    "Click an object to select it, Ctrl+click to add more. "
    "To split: select it, paint seeds of both colours on its parts, then Split."
)


def _colour_icon(colour: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*colour))
    return QIcon(pixmap)


class ProofreadPanel(QWidget):
    """Buttons over a ProofreadSession; enabled as the selection and the session allow."""

    def __init__(
        self, state: ViewState, session: ProofreadSession, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.session = session
        self.merge_button = self._button("Merge", "Join the selected objects into the first one")
        self.delete_button = self._button("Delete", "Make the selected objects background")
        self.relabel_button = self._button("Relabel…", "Give the selected object another id")
        self.split_button = self._button(
            "Split", "Split the selected object from the seeds painted on it (two colours)"
        )
        self.seed_buttons = {}
        for colour, rgb in SEED_COLOURS.items():
            button = self._button(
                f"Seeds {colour}", f"Paint seeds of colour {colour} on one part (drag in a view)"
            )
            button.setIcon(_colour_icon(rgb))
            button.setCheckable(True)
            button.toggled.connect(lambda on, c=colour: self._seed_toggled(c, on))
            self.seed_buttons[colour] = button
        self.clear_seeds_button = self._button("Clear seeds", "Remove every painted seed")
        self.flood = QComboBox()
        for key, text, tip in FLOOD_CHOICES:
            self.flood.addItem(text, key)
            self.flood.setItemData(self.flood.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.flood.setToolTip("What the split follows between the seeds")
        self.flood.activated.connect(lambda _: setattr(session, "flood", self.flood.currentData()))
        self.undo_button = self._button("Undo", "Undo the last proofreading edit (Ctrl+Z)")
        self.redo_button = self._button("Redo", "Redo the edit undone last (Ctrl+Shift+Z)")
        self.save_button = self._button(
            "Save as new version…",
            "Write the edited segmentation as a new volume; the original stays unchanged",
        )
        self.status = QLabel()
        self.status.setWordWrap(True)
        hint = QLabel(HELP_TEXT)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(placeholder-text);")
        self.merge_button.clicked.connect(session.merge)
        self.delete_button.clicked.connect(session.delete)
        self.relabel_button.clicked.connect(self.ask_relabel)
        self.split_button.clicked.connect(session.split)
        self.clear_seeds_button.clicked.connect(session.clear_seeds)
        self.undo_button.clicked.connect(session.undo)
        self.redo_button.clicked.connect(session.redo)
        self.save_button.clicked.connect(self.ask_save)
        self._build(hint)
        session.stateChanged.connect(self.update_status)
        session.seedsChanged.connect(self.update_status)
        state.subscribe(self._on_state)
        self.update_status()

    def update_status(self) -> None:
        session = self.session
        reader = session.reader
        has_layer = session.layer() is not None
        idle = has_layer and session.busy is None
        selected = len(self.state.selection)
        seeded = all(session.seeds.values())
        self.merge_button.setEnabled(idle and selected >= 2)
        self.delete_button.setEnabled(idle and selected >= 1)
        self.relabel_button.setEnabled(idle and selected == 1)
        self.split_button.setEnabled(idle and selected == 1 and seeded)
        for colour, button in self.seed_buttons.items():
            button.setEnabled(has_layer)
            button.blockSignals(True)
            button.setChecked(session.seed_colour == colour)
            button.blockSignals(False)
        self.clear_seeds_button.setEnabled(any(session.seeds.values()))
        self.undo_button.setEnabled(idle and reader is not None and reader.can_undo)
        self.redo_button.setEnabled(idle and reader is not None and reader.can_redo)
        self.save_button.setEnabled(idle and session.modified())
        seeds = ", ".join(f"{len(g)} of colour {c}" for c, g in session.seeds.items())
        chosen = ", ".join(map(str, self.state.selection)) or "none"
        self.status.setText(f"{session.describe()}<br>selected: {chosen}<br>seeds: {seeds}")

    def ask_relabel(self) -> None:
        ids = self.state.selection
        if len(ids) != 1:
            return
        text, ok = QInputDialog.getText(self, "Relabel", f"New id for object {ids[0]}:")
        if not ok:
            return
        try:
            new_id = int(text.strip())
        except ValueError:
            QMessageBox.warning(self, "Relabel", f"{text!r} is not a whole number.")
            return
        reader = self.session.reader
        merge = False
        if reader is not None and new_id in reader.table and new_id != ids[0]:
            answer = QMessageBox.question(
                self,
                "Relabel",
                f"The id {new_id} is in use by another object. Merge object {ids[0]} into it?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            merge = True
        self.session.relabel(new_id, merge)

    def ask_save(self) -> None:
        layer, project = self.session.layer(), self.session.layers.project
        if layer is None or project is None:
            return
        taken = {v.name for v in project.catalog.volumes()}
        name, ok = QInputDialog.getText(
            self,
            "Save as new version",
            f"Name of the proofread version of {layer.name!r}:",
            text=unique_name(f"{layer.name}-proofread", taken),
        )
        if ok:
            self.session.save_version(name)

    def _seed_toggled(self, colour: int, on: bool) -> None:
        if on:
            self.session.set_seed_colour(colour)
        elif self.session.seed_colour == colour:
            self.session.set_seed_colour(None)

    def _on_state(self, topic: str) -> None:
        if topic == SELECTION:
            self.update_status()

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        return button

    def _build(self, hint: QLabel) -> None:
        edits = QGridLayout()
        edits.addWidget(self.merge_button, 0, 0)
        edits.addWidget(self.delete_button, 0, 1)
        edits.addWidget(self.relabel_button, 1, 0)
        edits.addWidget(self.split_button, 1, 1)
        seeds = QGridLayout()
        seeds.addWidget(self.seed_buttons[1], 0, 0)
        seeds.addWidget(self.seed_buttons[2], 0, 1)
        seeds.addWidget(self.clear_seeds_button, 1, 0, 1, 2)
        form = QFormLayout()
        form.addRow("Split along", self.flood)
        history = QGridLayout()
        history.addWidget(self.undo_button, 0, 0)
        history.addWidget(self.redo_button, 0, 1)
        history.addWidget(self.save_button, 1, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(hint)
        layout.addLayout(edits)
        layout.addLayout(seeds)
        layout.addLayout(form)
        layout.addLayout(history)
        layout.addWidget(self.status)
        layout.addStretch(1)
