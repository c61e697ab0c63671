"""Everything a projector would show: every visible widget's text, tooltip, accessible
name and window title, the rows of visible lists and tables, the text of browsers, the
items of combo boxes, and the hover texts of the timelines' points and ticks."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from teamdash.services import patients
from teamdash.services.patients import PatientQuery
from ui.timeline import MeasurePlot, measurement_tip, session_tip

ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole)


def patient_identifiers(actor) -> list[str]:
    """Every patient's family name, full name and date of birth as the UI writes dates."""
    rows = patients.list_patients(actor, PatientQuery(limit=1000)).rows
    out: set[str] = set()
    for row in rows:
        out.add(row.family_name)
        out.add(row.full_name)
        dob: dt.date = row.date_of_birth
        out.update({dob.isoformat(), f"{dob.day} {dob:%b %Y}", f"{dob:%d %b %Y}", f"{dob:%d/%m/%Y}"})
    return sorted(out, key=len, reverse=True)


def _model_texts(view: QAbstractItemView) -> list[str]:
    model = view.model()
    if model is None:
        return []
    out = []
    try:
        columns = model.columnCount(QModelIndex())
    except TypeError:  # a list widget's model keeps it private: one column
        columns = 1
    for row in range(min(model.rowCount(QModelIndex()), 200)):
        for column in range(columns):
            index = model.index(row, column)
            for role in ROLES:
                value = model.data(index, role)
                if isinstance(value, str):
                    out.append(value)
    return out


def visible_texts(root: QWidget) -> list[str]:
    """Every string ``root``'s visible widgets would show or read out."""
    out = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        out += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription(), widget.windowTitle()]
        if isinstance(widget, (QLabel, QAbstractButton, QLineEdit)):
            out.append(widget.text())
        if isinstance(widget, QLineEdit):
            out.append(widget.placeholderText())
        if isinstance(widget, (QTextEdit, QPlainTextEdit)):
            out.append(widget.toPlainText())
        if isinstance(widget, QComboBox):
            out += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QAbstractItemView):
            out += _model_texts(widget)
        if hasattr(widget, "full_text"):
            out.append(widget.full_text)
        if hasattr(widget, "plain_text"):
            out.append(widget.plain_text())
    for plot in root.findChildren(QWidget, "timeline"):
        out += _timeline_tips(plot)
    return [t for t in out if t]


def _timeline_tips(timeline) -> list[str]:
    tips = []
    for plot in getattr(timeline, "plots", {}).values():
        if not isinstance(plot, MeasurePlot) or plot.series is None or not plot.plot.isVisible():
            continue
        tips += [measurement_tip(plot.series, p) for p in plot.series.points]
        tips += [session_tip(t) for t in plot.markers.sessions.ticks]
        tips += [f.text for f in plot.markers.flares.payloads]
    return tips


def texts_naming_patients(root: QWidget, identifiers: list[str]) -> list[str]:
    """The visible texts under ``root`` that contain a patient's name or date of birth."""
    found = []
    for text in visible_texts(root):
        hit = next((name for name in identifiers if name in text), None)
        if hit:
            found.append(f"{hit!r} in {text[:80]!r}")
    return found
