"""Small pieces shared by the dialogs that build job specs: a base dialog, a device choice."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLayout,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.errors import NameConflictError
from emstudio.core.ml import presets
from emstudio.core.project import Project
from emstudio.core.project.catalog import checked_name
from emstudio.gui.look import error_label, muted

DEVICES = ("auto", "cpu", "cuda")


def name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot name a new ``what`` (a character names cannot hold), else None."""
    try:
        checked_name(name, what, "name", lambda _name: False, "")
    except NameConflictError as exc:
        return str(exc)
    return None


def device_combo() -> QComboBox:
    combo = QComboBox()
    combo.addItems(list(DEVICES))
    combo.setToolTip("auto: the GPU when there is one, else the CPU")
    return combo


def choose(combo: QComboBox, text: str | None) -> None:
    """Make ``text`` the combo's choice where it is one of its items (else leave it)."""
    if text is not None and combo.findText(text) >= 0:
        combo.setCurrentText(text)


def cpu_gpu_text(cpu_seconds: float, gpu_seconds: float) -> str:
    """'<time> on CPU; GPU: <time>.' for a time estimate."""
    cpu, gpu = presets.describe_seconds(cpu_seconds), presets.describe_seconds(gpu_seconds)
    return f"{cpu} on CPU; GPU: {gpu}."


MIN_WIDTH = 480  # px: paths and hints in the fields stay readable


class JobDialog(QDialog):
    """A dialog that builds a job spec: its form, then a time estimate, the problem that keeps
    it from starting (if any) and OK/Cancel. Subclasses define ``problem()``."""

    def __init__(self, project: Project, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(MIN_WIDTH)
        self.project = project
        self._images = {r.name: r for r in project.catalog.volumes("image")}

    def _add_footer(self, ok_text: str, *parts: QLayout | QWidget) -> None:
        """Lay out ``parts`` (the form) above the estimate, the message and the buttons."""
        self.estimate = muted(QLabel())
        self.estimate.setWordWrap(True)
        self.message = error_label(QLabel())
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for part in parts:
            if isinstance(part, QLayout):
                layout.addLayout(part)
            else:
                layout.addWidget(part)
        layout.addWidget(self.estimate)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def problem(self) -> str | None:
        """Why the job cannot start now (None when it can)."""
        raise NotImplementedError

    def _show_problem(self) -> None:
        problem = self.problem()
        self.message.setText(problem or "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)
