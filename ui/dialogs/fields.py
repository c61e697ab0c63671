"""Form fields as data: each ``Field`` names the service's value, how it is entered and
what it may hold; ``make_editor`` builds the matching widget with ``get``/``set``.
The services stay the judges of validity: editors only make valid input easy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, Signal, SignalInstance
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTimeEdit,
    QWidget,
)

KINDS = (
    "text",
    "note",
    "int",
    "number",
    "date",
    "optional_date",
    "typed_date",
    "datetime",
    "choice",
    "suggest",
    "bool",
    "time",
    "clock",
)


@dataclass(frozen=True)
class Field:
    name: str  # the service's keyword
    label: str
    kind: str = "text"
    choices: tuple[tuple[Any, str], ...] = ()  # (stored value, shown text); suggestions for "suggest"
    minimum: float = 0
    maximum: float = 100_000
    suffix: str = ""
    required: bool = True
    hint: str = ""  # shown under the field
    aliases: tuple[str, ...] = ()  # other names the service uses in errors ("item 3")
    placeholder: str | None = None  # grey text in an empty field (default: the allowed range)
    max_length: int | None = None  # characters a one-line text field takes (the service's limit)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")


def changed_signal(editor: Editor[QWidget]) -> SignalInstance | None:
    """The signal a live preview listens to, whatever the widget."""
    widget = editor.widget
    for name in (
        "currentIndexChanged",
        "textChanged",
        "valueChanged",
        "dateTimeChanged",
        "dateChanged",
        "timeChanged",
        "toggled",
    ):
        if hasattr(widget, name):
            return cast(SignalInstance, getattr(widget, name))
    return None


class _TabLeaves:
    """Qt's date and time edits use Tab to step between their day/month/hour sections;
    in a form Tab must move to the next field (sections: type on, or Left/Right)."""

    def focusNextPrevChild(self, forward: bool) -> bool:
        # Mixed only into QWidget subclasses (below): skip the spin box's own Tab handling.
        return QWidget.focusNextPrevChild(cast(QWidget, self), forward)


class FormDateEdit(_TabLeaves, QDateEdit):
    pass


class FormDateTimeEdit(_TabLeaves, QDateTimeEdit):
    pass


class FormTimeEdit(_TabLeaves, QTimeEdit):
    pass


class NoteEdit(QPlainTextEdit):
    """Free text in a form: Enter saves the form like every other field, Shift+Enter
    starts a new line, Tab moves on."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 12)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


W = TypeVar("W", bound=QWidget, covariant=True)  # the editor's widget (read-only once built)


class Editor(Generic[W]):
    """A field's widget with plain-Python ``get``/``set``."""

    def __init__(self, field: Field, widget: W):
        self.field = field
        self.widget = widget
        widget.setObjectName(f"field_{field.name}")

    def get(self) -> Any:  # pragma: no cover - every kind overrides
        raise NotImplementedError

    def set(self, value: Any) -> None:  # pragma: no cover
        raise NotImplementedError


class TextEditor(Editor[QLineEdit]):
    def get(self) -> str | None:
        return self.widget.text().strip() or None

    def set(self, value: object) -> None:
        self.widget.setText("" if value is None else str(value))


class NoteEditor(Editor[QPlainTextEdit]):
    def get(self) -> str | None:
        return self.widget.toPlainText().strip() or None

    def set(self, value: str | None) -> None:
        self.widget.setPlainText(value or "")


class IntEditor(Editor[QSpinBox]):
    def get(self) -> int:
        return self.widget.value()

    def set(self, value: int | str | None) -> None:
        self.widget.setValue(int(value or 0))


def _number_text(value: object) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


class NumberEditor(Editor[QLineEdit]):
    """Decimal or optional numbers as text: blank means 'not given'; the service
    parses and range-checks, and its message appears under the field."""

    def get(self) -> str | None:
        return self.widget.text().strip() or None

    def set(self, value: object) -> None:
        self.widget.setText(_number_text(value))


class DateEditor(Editor[QDateEdit]):
    def get(self) -> dt.date:
        return cast(dt.date, self.widget.date().toPython())

    def set(self, value: dt.date | None) -> None:
        self.widget.setDate(QDate(value.year, value.month, value.day) if value else QDate.currentDate())


class OptionalDateEditor(Editor[QLineEdit]):
    def get(self) -> str | None:
        return self.widget.text().strip() or None

    def set(self, value: dt.date | str | None) -> None:
        self.widget.setText(value.isoformat() if isinstance(value, dt.date) else (value or ""))


def _qdatetime(value: dt.datetime) -> QDateTime:
    return QDateTime(
        QDate(value.year, value.month, value.day),
        QTime(value.hour, value.minute, value.second, value.microsecond // 1000),
    )


class DateTimeEditor(Editor[QDateTimeEdit]):
    def get(self) -> dt.datetime:
        return cast(dt.datetime, self.widget.dateTime().toPython()).replace(second=0, microsecond=0)

    def set(self, value: dt.datetime | None) -> None:
        self.widget.setDateTime(_qdatetime(value) if value else QDateTime.currentDateTime())


class ChoiceEditor(Editor[QComboBox]):
    def get(self) -> Any:  # the stored value of the chosen item, whatever its type
        return self.widget.currentData()

    def set(self, value: Any) -> None:
        index = self.widget.findData(value)
        if index < 0 and value is not None:  # a stored value no longer offered: keep it
            self.widget.addItem(str(value), value)
            index = self.widget.count() - 1
        self.widget.setCurrentIndex(max(index, 0))


class SuggestEditor(Editor[QComboBox]):
    def get(self) -> str | None:
        return self.widget.currentText().strip() or None

    def set(self, value: str | None) -> None:
        self.widget.setCurrentText(value or "")


class BoolEditor(Editor[QCheckBox]):
    def get(self) -> bool:
        return self.widget.isChecked()

    def set(self, value: object) -> None:
        self.widget.setChecked(bool(value))


class TimeEditor(Editor[QTimeEdit]):
    def get(self) -> str:
        return self.widget.time().toString("HH:mm")

    def set(self, value: str | None) -> None:
        self.widget.setTime(QTime.fromString(value, "HH:mm") if value else QTime(0, 0))


def _combo(field: Field, editable: bool) -> QComboBox:
    combo = QComboBox()
    combo.setEditable(editable)
    for value, text in field.choices:
        combo.addItem(text, value)
    if editable:
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.setCurrentText("")
        line = combo.lineEdit()  # an editable combo box always has one
        if field.max_length and line is not None:
            line.setMaxLength(field.max_length)
    return combo


def _line(field: Field, placeholder: str) -> QLineEdit:
    line = QLineEdit()
    line.setPlaceholderText(placeholder)
    if field.max_length:
        line.setMaxLength(field.max_length)
    return line


def make_editor(field: Field) -> Editor[QWidget]:
    kind = field.kind
    if kind == "text":
        return TextEditor(field, _line(field, "" if field.required else "optional"))
    if kind == "note":
        return NoteEditor(field, NoteEdit())
    if kind == "int":
        spin = QSpinBox()
        spin.setRange(int(field.minimum), int(field.maximum))
        if field.suffix:
            spin.setSuffix(f" {field.suffix}")
        return IntEditor(field, spin)
    if kind == "number":
        unit = f" {field.suffix}" if field.suffix else ""
        shown = field.placeholder or f"{field.minimum:g}–{field.maximum:g}{unit}" + (
            "" if field.required else " (optional)"
        )
        return NumberEditor(field, _line(field, shown))
    if kind == "date":
        date_edit = FormDateEdit()
        date_edit.setCalendarPopup(True)
        date_edit.setDisplayFormat("yyyy-MM-dd")
        return DateEditor(field, date_edit)
    if kind == "optional_date":
        return OptionalDateEditor(field, _line(field, "YYYY-MM-DD (optional)"))
    if kind == "typed_date":  # any date, typed (a birth date is decades from today's); the service checks it
        return OptionalDateEditor(field, _line(field, field.placeholder or "YYYY-MM-DD"))
    if kind == "datetime":
        datetime_edit = FormDateTimeEdit()
        datetime_edit.setCalendarPopup(True)
        datetime_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        return DateTimeEditor(field, datetime_edit)
    if kind == "choice":
        return ChoiceEditor(field, _combo(field, editable=False))
    if kind == "suggest":
        return SuggestEditor(field, _combo(field, editable=True))
    if kind == "bool":
        return BoolEditor(field, QCheckBox())
    if kind == "clock":  # a time of day that may be left blank (questionnaire items)
        return TextEditor(field, _line(field, "HH:MM" + ("" if field.required else " (optional)")))
    edit = FormTimeEdit()  # "time"
    edit.setDisplayFormat("HH:mm")
    return TimeEditor(field, edit)
