"""A model's card for a person: what it was trained on, how, and its validation figures per
epoch (read-only; the card JSON is one click away)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from emstudio.core.ml.card import output_names, summary

MAX_TABLE_WIDTH = 900  # px


class ModelCardDialog(QDialog):
    """Shows a model card (the dict stored with the model)."""

    def __init__(
        self,
        card: dict[str, Any],
        parent: QWidget | None = None,
        rows: list[tuple[str, str]] | None = None,
    ) -> None:
        """``rows``: the card described for its project (``card.project_summary``); by default
        the card alone (``card.summary``)."""
        super().__init__(parent)
        self.card = card
        self.setWindowTitle(f"Model card: {card.get('name', '?')}")
        form = QFormLayout()
        self.rows: dict[str, QLabel] = {}
        for label, text in rows or summary(card):
            value = QLabel(text)
            value.setWordWrap(True)
            self.rows[label] = value
            form.addRow(label, value)
        self.history = self._history_table(card)
        self.json_toggle = QToolButton(text="Show the card as JSON", checkable=True)
        self.json = QPlainTextEdit(json.dumps(card, indent=2))
        self.json.setReadOnly(True)
        self.json.setVisible(False)
        self.json_toggle.toggled.connect(self.json.setVisible)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Validation per epoch"))
        layout.addWidget(self.history)
        layout.addWidget(self.json_toggle)
        layout.addWidget(self.json)
        layout.addWidget(buttons)

    @staticmethod
    def _history_table(card: dict[str, Any]) -> QTableWidget:
        history = card.get("validation", {}).get("history") or []
        names = output_names(card)
        table = QTableWidget(len(history), 2 + len(names))
        table.setHorizontalHeaderLabels(["Epoch", "Loss", *(f"Dice {n}" for n in names)])
        table.verticalHeader().setVisible(False)
        for row, entry in enumerate(history):
            values = [str(entry.get("epoch", row + 1)), f"{entry.get('loss', float('nan')):.4f}"]
            values += [f"{entry.get('dice', {}).get(n, float('nan')):.3f}" for n in names]
            for col, text in enumerate(values):
                table.setItem(row, col, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        # wide enough for every column (up to a screen's worth): no scrolling to see a class
        table.setMinimumWidth(min(MAX_TABLE_WIDTH, table.horizontalHeader().length() + 24))
        return table
