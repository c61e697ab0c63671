"""Two people edited the same record: both versions side by side, and a conscious choice.

Shown when a save lost the race to another workstation's save (``Conflict`` with the
stored record). Nothing is overwritten without the user choosing to: "Overwrite with
mine" saves the user's values over the other version (the audit trail keeps both),
"Use theirs" discards the user's edits and shows the stored version, and Esc goes back
to the form with the input kept.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

OVERWRITE = "overwrite"
RELOAD = "reload"
KEEP_EDITING = "keep"


@dataclass(frozen=True)
class ConflictRow:
    label: str
    opened: Any  # the value when the form was opened
    yours: Any
    theirs: Any  # the value saved meanwhile on the other workstation


def shown(value: Any, choices: dict | None = None) -> str:
    if choices and value in choices:
        return str(choices[value])
    if value in (None, ""):
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    if len(text) >= 16 and text[4:5] == "-" and text[10:11] in ("T", " "):  # an ISO date and time
        return text[:16].replace("T", " ")
    return text if len(text) <= 60 else text[:57] + "…"


def conflict_table(rows: list[ConflictRow]) -> str:
    cells = "".join(
        f"<tr><td><b>{html.escape(r.label)}</b></td><td>{html.escape(str(r.yours))}</td>"
        f"<td>{html.escape(str(r.theirs))}</td></tr>"
        for r in rows
    )
    header = "<tr><th align='left'>Field</th><th align='left'>Yours</th><th align='left'>Saved meanwhile</th></tr>"
    return f"<table cellspacing='6'>{header}{cells}</table>"


def ask_conflict(parent: QWidget | None, noun: str, changed_by: str, rows: list[ConflictRow]) -> str:
    """OVERWRITE, RELOAD or KEEP_EDITING (Esc)."""
    box = conflict_box(parent, noun, changed_by, rows)
    box.exec()
    clicked = box.clickedButton()
    if clicked is None:
        return KEEP_EDITING
    return {"conflict_overwrite": OVERWRITE, "conflict_reload": RELOAD}.get(clicked.objectName(), KEEP_EDITING)


def conflict_box(parent: QWidget | None, noun: str, changed_by: str, rows: list[ConflictRow]) -> QMessageBox:
    box = QMessageBox(parent)
    box.setObjectName("conflict_box")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(f"This {noun} was changed meanwhile")
    box.setText(
        f"{changed_by} saved a change to this {noun} while you were editing it. "
        "Nothing has been overwritten. Choose which version to keep:"
    )
    box.setInformativeText(conflict_table(rows))
    box.setStyleSheet("QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 520px; }")
    overwrite = box.addButton("Overwrite with mine", QMessageBox.ButtonRole.DestructiveRole)
    overwrite.setObjectName("conflict_overwrite")
    reload = box.addButton("Use theirs (discard mine)", QMessageBox.ButtonRole.ResetRole)
    reload.setObjectName("conflict_reload")
    keep = box.addButton("Keep editing", QMessageBox.ButtonRole.RejectRole)
    keep.setObjectName("cancel")
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    return box


def rebased(existing: Any, current: dict, convert: Callable[[Any, Any], Any] | None = None) -> Any:
    """``existing`` (a frozen result) with the stored values of ``current`` (the audit
    copy of the row: ISO text for dates) and its version."""
    import dataclasses

    changes = {}
    for f in dataclasses.fields(existing):
        if f.name not in current:
            continue
        old, new = getattr(existing, f.name), current[f.name]
        if isinstance(new, str) and isinstance(old, dt.datetime):
            new = dt.datetime.fromisoformat(new)
        elif isinstance(new, str) and isinstance(old, dt.date):
            new = dt.date.fromisoformat(new)
        changes[f.name] = convert(old, new) if convert else new
    return dataclasses.replace(existing, **changes)
