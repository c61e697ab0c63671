"""A data-entry dialog built from ``Field``s: one row per field in form order (which is
also the Tab order), the service's complaint shown under the field it concerns, Enter
saves, Esc cancels, and nothing is written until the service accepts the whole form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from teamdash.errors import TeamDashError
from ui.dialogs.fields import Editor, Field, NoteEdit, make_editor
from ui.errors import report_connection_lost, show_error
from ui.widgets import palette

ERROR_STYLE = f"color: {palette.WORSE};"
LABEL_WIDTH = 340


def error_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(f"error_{name}")
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


def field_message(exc: TeamDashError, field: str | None) -> str:
    """The message without the 'field: ' prefix that the error adds for logs and CLI
    (under the field itself the prefix only repeats the label)."""
    text = exc.message if hasattr(exc, "message") else str(exc)
    if field and text.startswith(f"{field}: "):
        text = text[len(field) + 2 :]
    return text[:1].upper() + text[1:]


_OPEN: set[QDialog] = set()


DialogT = TypeVar("DialogT", bound=QDialog)


def show_dialog(dialog: DialogT) -> DialogT:
    """Open ``dialog`` (window-modal, not blocking) and keep it alive until it closes:
    a dialog opened without a parent would otherwise be collected at once."""
    _OPEN.add(dialog)
    dialog.finished.connect(lambda _result: _OPEN.discard(dialog))
    dialog.open()
    return dialog


class FormDialog(QDialog):
    """Subclasses supply the fields and ``write(values)``; this class lays out, collects,
    shows errors and keeps the dialog open until the write succeeds."""

    def __init__(self, title: str, fields: Sequence[Field], parent: QWidget | None = None, *, intro: str | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.editors: dict[str, Editor[QWidget]] = {}
        self.errors: dict[str, QLabel] = {}
        self._aliases: dict[str, str] = {}
        self._labels: list[QLabel] = []
        self.busy = False
        outer = QVBoxLayout(self)
        if intro:
            heading = QLabel(intro)
            heading.setWordWrap(True)
            heading.setObjectName("intro")
            outer.addWidget(heading)
        self.banner = error_label("form")
        outer.addWidget(self.banner)
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.top = QVBoxLayout()  # subclasses put choosers above the form here
        outer.addLayout(self.top)
        for field in fields:
            self._add_row(field)
        self.extra = QVBoxLayout()  # subclasses put live summaries here
        # Long questionnaires (RMDQ's 24 items) scroll; Tab keeps the focused item in view.
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(self.form_host)
        outer.addWidget(self.scroll_area, 1)
        outer.addLayout(self.extra)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setDefault(True)
        self.save_button.setObjectName("save")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancel")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        for button in self.buttons.buttons():
            button.setAccessibleName(button.text().replace("&", ""))
        outer.addWidget(self.buttons)
        self._chain_tab_order()
        self._fit()

    def _fit(self) -> None:
        self._size_labels()
        hint = self.form_host.sizeHint()
        self.scroll_area.setMinimumHeight(min(hint.height() + 4, 560))
        self.scroll_area.setMinimumWidth(max(460, min(hint.width() + 24, 820)))

    # --- layout ---------------------------------------------------------------------------

    def _add_row(self, field: Field) -> None:
        editor = make_editor(field)
        self.editors[field.name] = editor
        self.errors[field.name] = error_label(field.name)
        for alias in field.aliases:
            self._aliases[alias] = field.name
        box = QVBoxLayout()
        box.setSpacing(2)
        box.addWidget(editor.widget)
        if field.hint:
            hint = QLabel(field.hint)
            hint.setWordWrap(True)
            hint.setStyleSheet(f"color: {palette.MUTED}; font-size: small;")
            box.addWidget(hint)
        box.addWidget(self.errors[field.name])
        label = QLabel(field.label)
        label.setBuddy(editor.widget)
        editor.widget.setAccessibleName(field.label)
        # Questionnaire items can be long sentences: wrap them in the label column.
        label.setWordWrap(True)
        self._labels.append(label)
        self.form.addRow(label, box)
        if isinstance(editor.widget, NoteEdit):
            editor.widget.submitted.connect(self.save)

    def rebuild(self, fields: Sequence[Field]) -> None:
        """Replace every row (another instrument chosen): the old widgets are deleted."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors.clear()
        self.errors.clear()
        self._aliases.clear()
        self._labels.clear()
        for field in fields:
            self._add_row(field)
        self._chain_tab_order()
        self._fit()

    def _size_labels(self) -> None:
        """One label column width for the form; long labels (questionnaire items) wrap
        inside it, left-aligned so they read as sentences."""
        if not self._labels:
            return
        widest = max(label.fontMetrics().horizontalAdvance(label.text()) for label in self._labels) + 4
        width = min(widest, LABEL_WIDTH)
        wraps = widest > LABEL_WIDTH
        for label in self._labels:
            label.setFixedWidth(width)
            if wraps:
                label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def leading_widgets(self) -> list[QWidget]:
        """Widgets above the form that come first in the Tab order."""
        return []

    def _chain_tab_order(self) -> None:
        widgets = [
            *self.leading_widgets(),
            *(e.widget for e in self.editors.values()),
            self.save_button,
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel),
        ]
        for first, second in zip(widgets, widgets[1:]):
            QWidget.setTabOrder(first, second)
        if widgets:
            widgets[0].setFocus()

    # --- values ---------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        return {name: editor.get() for name, editor in self.editors.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name in self.editors:
                self.editors[name].set(value)

    # --- errors ---------------------------------------------------------------------------

    def clear_errors(self) -> None:
        for label in [*self.errors.values(), self.banner]:
            label.clear()
            label.hide()

    def field_for(self, service_field: str | None) -> str | None:
        if service_field in self.editors:
            return service_field
        return self._aliases.get(service_field or "")

    def show_failure(self, exc: BaseException) -> None:
        """A complaint about one field goes under it (and focus goes there); any other
        user error goes in the banner at the top; a bug gets the one polite apology."""
        self.set_busy(False)
        if not isinstance(exc, TeamDashError):
            show_error(self, exc)
            return
        report_connection_lost(exc)  # the status bar says so too; the message stays here, with the input
        # Bad input, or a value that must be unique and is taken (a clinic ID), names its field.
        name = self.field_for(getattr(exc, "field", None))
        if name is None:
            self.banner.setText(str(exc))
            self.banner.show()
            return
        self.errors[name].setText(field_message(exc, getattr(exc, "field", None)))
        self.errors[name].show()
        self.editors[name].widget.setFocus()

    # --- saving ---------------------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.save_button.setEnabled(not busy)

    def save(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        self.set_busy(True)
        try:
            started = self.write(self.values())
        except TeamDashError as exc:  # a check made before the write (nothing written)
            self.show_failure(exc)
            return
        if started is False:  # the user declined a confirmation
            self.set_busy(False)

    def write(self, values: dict[str, Any]) -> bool | None:
        """Start the write; return False when nothing was started (the subclass calls
        ``succeeded`` or ``show_failure`` when the write ends)."""
        raise NotImplementedError

    def succeeded(self, _result: Any = None) -> None:
        self.set_busy(False)
        self.accept()
