"""The guided tour: a small window beside the main window that walks through the main path
(demo -> import -> paint -> train -> predict -> segment -> mesh -> measure), one step at a
time, each with a button that triggers the real menu action. Shown once on the first start,
and from Help -> Guided tour."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMenu,
    QPushButton,
    QStyle,
    QVBoxLayout,
)

from emstudio.gui.look import muted, scaled_font
from emstudio.gui.tour_steps import STEPS, TourStep, find_action

SEEN_KEY = "tour/seen"
MARGIN = 24  # px between the tour and the main window's edge


class GuidedTour(QDialog):
    """Non-modal: the user works in the main window while the tour stays beside it."""

    stepRun = Signal(str)  # the key of the step whose action was just triggered

    def __init__(self, main: QMainWindow) -> None:
        super().__init__(main, Qt.WindowType.Tool)
        self.main = main
        self.index = 0
        self._placed = False
        self.setObjectName("guidedTour")
        self.setWindowTitle("Guided tour")
        self.setWhatsThis(
            "The guided tour shows the main steps of emstudio on the demo project. Each step's "
            "button opens the real tool; reopen the tour any time from Help → Guided tour."
        )
        self.step_list = QListWidget()
        self.step_list.addItems([f"{n}. {step.title}" for n, step in enumerate(STEPS, 1)])
        self.step_list.setFixedWidth(190)
        self.step_list.setToolTip("The steps of the tour; click one to go to it")
        self.step_list.currentRowChanged.connect(self.show_step)
        self.counter = muted(QLabel())
        self.title = QLabel()
        self.title.setFont(scaled_font(self, 1.3, bold=True))
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.where = muted(QLabel())
        self.where.setWordWrap(True)
        self.run_button = QPushButton()
        self.run_button.setMinimumHeight(36)
        self.run_button.setDefault(True)
        self.run_button.setWhatsThis("Does this step for real, with the same tool as the menus.")
        self.run_button.clicked.connect(self.run_step)
        self.back_button = QPushButton("Back")
        self.back_button.setToolTip("The previous step")
        self.back_button.clicked.connect(lambda: self.show_step(self.index - 1))
        self.next_button = QPushButton("Next")
        self.next_button.setToolTip("The next step")
        self.next_button.clicked.connect(lambda: self.show_step(self.index + 1))
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close the tour (Help → Guided tour opens it again)")
        self.close_button.clicked.connect(self.close)
        self._build()
        main.windowTitleChanged.connect(self._refresh_soon)  # a project was opened or closed
        self.show_step(0)

    # -- steps ----------------------------------------------------------------------------------
    @property
    def step(self) -> TourStep:
        return STEPS[self.index]

    def show_step(self, index: int) -> None:
        """Go to step ``index`` (0-based; clamped to the steps there are)."""
        self.index = max(0, min(len(STEPS) - 1, index))
        self.step_list.setCurrentRow(self.index)
        step = self.step
        self.counter.setText(f"Step {self.index + 1} of {len(STEPS)}")
        self.title.setText(step.title)
        self.text.setText(step.text)
        self.run_button.setText(step.button)
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < len(STEPS) - 1)
        self._refresh()

    def run_step(self) -> None:
        """Trigger the current step's menu action (and show its dock)."""
        step = self.step
        action = find_action(self.main, step)
        if action is None or not action.isEnabled():
            self._refresh()
            return
        if step.dock:
            dock = self.main.findChild(QDockWidget, step.dock)
            if dock is not None:
                dock.show()
                dock.raise_()
        item = self.step_list.item(self.index)
        item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton))
        action.trigger()
        self.stepRun.emit(step.key)

    # -- state ----------------------------------------------------------------------------------
    def _refresh_soon(self) -> None:
        QTimer.singleShot(0, self, self._project_changed)  # after the window enables its actions

    def _project_changed(self) -> None:
        """A project was opened or closed: on a step that opens one, go on to the next."""
        opened = getattr(self.main, "project", None) is not None
        if opened and not self.step.needs_project and self.index < len(STEPS) - 1:
            self.show_step(self.index + 1)
        else:
            self._refresh()

    def _refresh(self) -> None:
        """Enable the step's button when its action is there, else say what is missing."""
        step = self.step
        action = find_action(self.main, step)
        ready = action is not None and action.isEnabled()
        self.run_button.setEnabled(ready)
        if ready:
            path = f"{step.menu} → {action.text().replace('&', '')}"
            self.where.setText(f"Later you find this in the menu {path}")
            self.run_button.setToolTip(f"Does what {path} does")
        elif step.needs_project and getattr(self.main, "project", None) is None:
            self.where.setText("This step needs an open project: step 1 opens the demo project.")
            self.run_button.setToolTip("Open a project first (step 1)")
        else:
            self.where.setText("This step is not available in this version of emstudio.")
            self.run_button.setToolTip("Not available in this version")

    # -- layout ---------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh()
        if not self._placed:  # top right, inside the main window, the first time only
            self._placed = True
            frame = self.main.frameGeometry()
            self.move(frame.right() - self.width() - MARGIN, frame.top() + 3 * MARGIN)

    def _build(self) -> None:
        page = QVBoxLayout()
        page.addWidget(self.counter)
        page.addWidget(self.title)
        page.addWidget(self.text, 1)
        page.addWidget(self.run_button)
        page.addWidget(self.where)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        page.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addWidget(self.step_list)
        layout.addLayout(page, 1)
        self.resize(600, 320)


def show_tour(main: QMainWindow) -> GuidedTour:
    """Show the window's tour (made on first use; it remembers the step it was at)."""
    tour = main.findChild(GuidedTour)
    if tour is None:
        tour = GuidedTour(main)
    tour.show()
    tour.raise_()
    tour.activateWindow()
    QSettings().setValue(SEEN_KEY, True)
    return tour


def show_tour_on_first_run(main: QMainWindow) -> GuidedTour | None:
    """Show the tour if this user has never seen it."""
    if QSettings().value(SEEN_KEY, False, type=bool):
        return None
    return show_tour(main)


def add_tour_action(main: QMainWindow, help_menu: QMenu) -> QAction:
    """Put "Guided tour" first in the Help menu; returns the action."""
    action = QAction("&Guided tour", main)
    action.setStatusTip("A step-by-step tour of emstudio on the demo project")
    action.triggered.connect(lambda _=False: show_tour(main))
    first = help_menu.actions()[0] if help_menu.actions() else None
    help_menu.insertAction(first, action)
    return action
