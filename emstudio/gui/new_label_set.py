"""The "New label set" dialog: a name and the classes, one per line ("1 membrane")."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from emstudio.core.errors import EmstudioError
from emstudio.core.project import Project, VolumeRecord
from emstudio.core.project.labels import DEFAULT_CLASSES, create_label_set
from emstudio.gui.label_session import NEW_SET_NAME, unique_name
from emstudio.gui.layers import Layer


def parse_classes(text: str) -> dict[int, str]:
    """Lines "VALUE NAME" (or just "NAME", numbered from 1) -> {value: name}; 0 is background.

    Raises ValueError with a message for a person.
    """
    classes = {0: "background"}
    for number, line in enumerate((t.strip() for t in text.splitlines() if t.strip()), start=1):
        head, _, rest = line.partition(" ")
        if head.isdigit():
            value, name = int(head), rest.strip() or f"class {head}"
        else:
            value, name = number, line
        if not 1 <= value <= 255:
            raise ValueError(
                f"class values go from 1 to 255 (0 is the background), not {value} ({line!r})"
            )
        if value in classes:
            raise ValueError(f"{classes[value]!r} and {name!r} both have the value {value}")
        if name in classes.values():
            raise ValueError(f"two classes are named {name!r}")
        classes[value] = name
    if len(classes) < 2:
        raise ValueError("give at least one class besides background")
    return classes


def classes_text(classes: dict[str, str] | dict[int, str]) -> str:
    return "\n".join(f"{k} {v}" for k, v in sorted((int(k), v) for k, v in classes.items()) if k)


def ask_new_label_set(
    parent: QWidget, project: Project, image: VolumeRecord, template: Layer | None
) -> str | None:
    """Ask, then create the label set; returns its name (None if cancelled)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("New label set")
    name = QLineEdit(unique_name(NEW_SET_NAME, {v.name for v in project.catalog.volumes()}))
    classes = QPlainTextEdit(
        classes_text(template.record.attrs.get("classes", {}) if template else DEFAULT_CLASSES)
    )
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form = QFormLayout(dialog)
    form.addRow(QLabel(f"An empty label set for the image <b>{image.name}</b>."))
    form.addRow("Name", name)
    form.addRow("Classes", classes)
    form.addRow("", QLabel("One per line: value and name, e.g. “3 mitochondria”."))
    form.addRow(buttons)
    try:
        while dialog.exec() == QDialog.DialogCode.Accepted:
            try:
                record = create_label_set(
                    project, image, name.text(), parse_classes(classes.toPlainText())
                )
            except (EmstudioError, ValueError) as exc:
                QMessageBox.critical(dialog, "Cannot create the label set", str(exc))
                continue
            return record.name
        return None
    finally:
        dialog.deleteLater()
