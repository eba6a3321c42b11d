"""The building blocks every settings page uses: a labelled field with its hint and error line.

The pages register each field (dotted settings key → editor, message label, tab) in one
``FieldRegistry`` the dialog owns, so validation marks the right field and tab whichever page
holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from afas_tray.config import Settings
from afas_tray.ui.picker import hint_label

ERROR_COLOUR = "#c62828"
OK_COLOUR = "#2e7d32"
WARN_COLOUR = "#b26a00"


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class SecretEdit(QWidget):
    """A masked line edit with a Show/Hide toggle."""

    def __init__(self, value: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._layout = layout
        self.edit = QLineEdit(value)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._set_shown)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.toggle)
        self._set_shown(False)
        self.setFocusProxy(self.edit)

    def add_button(self, button: QWidget) -> None:
        self._layout.addWidget(button)

    def _set_shown(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.toggle.setText(self.tr("Hide") if shown else self.tr("Show"))
        self.toggle.setToolTip(
            self.tr("Hide the secret again") if shown else self.tr("Show the secret while typing")
        )


@dataclass
class FieldRegistry:
    """Every field of the dialog by dotted key; ``changed(key)`` runs on each edit."""

    changed: Callable[[str], None]
    errors: dict[str, QLabel] = field(default_factory=dict)  # key -> message under the field
    tabs: dict[str, int] = field(default_factory=dict)
    editors: dict[str, QWidget] = field(default_factory=dict)


class SettingsPage(QWidget):
    """One tab: builds its fields from ``settings``; each page's ``collect(settings)`` writes
    them back into the dialog's copy."""

    def __init__(self, settings: Settings, fields: FieldRegistry, tab: int) -> None:
        super().__init__()
        self._settings = settings
        self._fields = fields
        self._tab = tab

    # --- building blocks -------------------------------------------------------------------------

    def form(self, parent: QWidget | None = None) -> QFormLayout:
        form = QFormLayout(parent if parent is not None else self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        return form

    def add_row(self, form: QFormLayout, key: str, label: str | None, editor: QWidget,
                hint: str = "") -> None:
        """One field: label, editor, grey hint and a red message that appears when invalid."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 2)
        column.setSpacing(2)
        if isinstance(editor, QSpinBox | QComboBox):
            column.addWidget(editor, 0, Qt.AlignmentFlag.AlignLeft)  # short values: no full width
        else:
            column.addWidget(editor)
        if hint:
            column.addWidget(hint_label(hint))
        error = QLabel()
        error.setObjectName("error")
        error.setWordWrap(True)
        error.setStyleSheet(f"color: {ERROR_COLOUR};")
        error.hide()
        column.addWidget(error)
        self._fields.errors[key] = error
        self._fields.tabs[key] = self._tab
        self._fields.editors[key] = editor
        if label is None:
            form.addRow(QLabel(), box)
        else:
            caption = QLabel(label)
            caption.setBuddy(editor)
            form.addRow(caption, box)

    def add_grid(self, form: QFormLayout, key: str, label: str | None, grid: QGridLayout,
                 hint: str) -> None:
        """A row whose editor is a grid of line edits (one key, one message for the grid)."""
        holder = QWidget()
        holder.setLayout(grid)
        grid.setContentsMargins(0, 0, 0, 0)
        self.add_row(form, key, label, holder, hint)

    def line(self, value: str, placeholder: str = "", key: str = "") -> QLineEdit:
        edit = QLineEdit(value)
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(False)
        edit.textChanged.connect(lambda *_: self._fields.changed(key))
        return edit

    def secret(self, value: str, key: str, placeholder: str = "") -> SecretEdit:
        secret = SecretEdit(value)
        secret.edit.setPlaceholderText(placeholder)
        secret.edit.textChanged.connect(lambda *_: self._fields.changed(key))
        return secret

    def check(self, text: str, value: bool, key: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setChecked(value)
        box.toggled.connect(lambda *_: self._fields.changed(key))
        return box

    def spin(self, value: int, low: int, high: int, suffix: str, key: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value if isinstance(value, int) else low)
        spin.setSuffix(suffix)
        spin.setMinimumWidth(140)
        spin.valueChanged.connect(lambda *_: self._fields.changed(key))
        return spin

    def choice(self, items: Sequence[tuple[str, str]], value: str, key: str,
               width: int = 260) -> QComboBox:
        """A drop-down of (stored value, shown text); an unknown stored value shows the first."""
        combo = QComboBox()
        for data, text in items:
            combo.addItem(text, data)
        combo.setMinimumWidth(width)
        combo.setCurrentIndex(max(0, combo.findData(value)))
        combo.currentIndexChanged.connect(lambda *_: self._fields.changed(key))
        return combo
