"""Add, edit and delete any kind of record described in ``kinds``: one dialog for all,
with confirmation before an edit or a deletion and an Undo entry for each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

from teamdash.errors import Conflict
from teamdash.services.changes import ChangedRecord
from teamdash.services.chart import PatientRecord
from teamdash.services.patients import PatientDetail
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs import conflict
from ui.dialogs.confirm import confirm
from ui.dialogs.form import FormDialog, show_dialog
from ui.dialogs.kinds import FormContext, KindUi
from ui.dialogs.writes import run_write
from ui.errors import show_error
from ui.undo import UndoEntry


def patient_label(patient: PatientDetail, context: AppContext) -> str:
    """How a dialog names the patient: ID and initials in presentation (privacy) mode."""
    return context.presentation.label(patient)


def title_with_patient(dialog: QWidget, context: AppContext, patient: PatientDetail, title: str) -> None:
    """``title — patient``, switched between name and initials with privacy mode while
    the dialog is open."""
    context.presentation.follow(dialog, lambda: dialog.setWindowTitle(f"{title} — {patient_label(patient, context)}"))


def intro_with_patient(dialog: QWidget, context: AppContext, text: Callable[[], str]) -> None:
    """A form's intro that names the patient (``text()``), switched with privacy mode
    while the dialog is open, like its title."""
    intro = dialog.findChild(QLabel, "intro")
    if intro is not None:
        context.presentation.follow(dialog, lambda: intro.setText(text()))


def same_value(new: Any, old: Any) -> bool:
    """Whether a form value (text for numbers and optional dates) equals the stored one."""
    if new in (None, "") or old in (None, ""):
        return new in (None, "") and old in (None, "")
    if isinstance(old, bool) or isinstance(new, bool):
        return bool(new) == bool(old)
    if isinstance(old, (int, float)):
        try:
            return float(str(new).replace(",", ".")) == float(old)
        except ValueError:
            return False
    if isinstance(old, dt.date) and isinstance(new, str):
        return new.strip() == old.isoformat()
    return new == old


class RecordDialog(FormDialog):
    def __init__(
        self,
        context: AppContext,
        kind: KindUi,
        form_ctx: FormContext,
        *,
        patient_id: int,
        owner_id: int,
        patient_text: str,
        existing: Any = None,
        parent: QWidget | None = None,
        patient: PatientDetail | None = None,
    ):
        verb = "Edit" if existing is not None else "Add"
        super().__init__(f"{verb} {kind.noun} — {patient_text}", kind.fields(form_ctx), parent)
        if patient is not None:
            title_with_patient(self, context, patient, f"{verb} {kind.noun}")
        self.setObjectName(f"dialog_{kind.key}")
        self.context, self.kind, self.existing = context, kind, existing
        self.patient_id, self.owner_id = patient_id, owner_id
        self.set_values(kind.values_of(existing) if existing is not None else kind.defaults(form_ctx))
        if kind.wire:
            kind.wire(self, form_ctx)
        self.result_row = None  # the saved row, for callers and tests
        # Another workstation's change of this record, once seen.
        self.changed_underneath: ChangedRecord | None = None
        context.changes.changed.connect(self._on_changes)

    # --- another workstation -------------------------------------------------------------

    def _on_changes(self, changes: Changes) -> None:
        """Another workstation saved or deleted this very record while the form is open:
        say so now, not only when saving."""
        if self.existing is None or self.kind.entity is None or "remote" not in changes.kinds:
            return
        change = changes.record(self.kind.entity, self.existing.id)
        if change is None:
            return
        self.changed_underneath = change
        deleted = change.action.endswith(".delete")
        what = "deleted" if deleted else "changed"
        then = "saving cannot bring it back; Cancel to close" if deleted else "saving will show both versions first"
        self.banner.setText(
            f"{change.actor_name} {what} this {self.kind.noun} on another workstation at {change.at:%H:%M}. "
            f"Your input is kept; {then}."
        )
        self.banner.show()

    def show_failure(self, exc: BaseException) -> None:
        if isinstance(exc, Conflict) and exc.current is not None and self.existing is not None:
            self.set_busy(False)
            self._resolve(exc.current)
            return
        super().show_failure(exc)

    def _resolve(self, current: dict) -> None:
        """The save lost the race: show both versions, and do what the user chooses."""
        changes = self.changes()
        opened = self.kind.values_of(self.existing)
        theirs = self.kind.values_of(conflict.rebased(self.existing, current))
        rows = [
            conflict.ConflictRow(
                self._label(name),
                conflict.shown(opened.get(name), self._choices(name)),
                conflict.shown(value, self._choices(name)),
                conflict.shown(theirs.get(name), self._choices(name)),
            )
            for name, value in changes.items()
        ]
        seen = self.changed_underneath
        who = f"{seen.actor_name} (on another workstation)" if seen is not None else "Someone on another workstation"
        choice = conflict.ask_conflict(self, self.kind.noun, who, rows)
        self.existing = conflict.rebased(self.existing, current)
        if choice == conflict.OVERWRITE:
            self._save_changes(changes, self.kind.values_of(self.existing))
        elif choice == conflict.RELOAD:
            self.set_values(theirs)
            self.banner.setText(
                f"Showing the {self.kind.noun} as saved on the other workstation; your edits were discarded."
            )
            self.banner.show()
        else:
            self.banner.setText(
                f"This {self.kind.noun} was changed on another workstation. Your input is kept; "
                "saving again will overwrite their change."
            )
            self.banner.show()

    def _choices(self, name: str) -> dict:
        editor = self.editors.get(name)
        return dict(editor.field.choices) if editor is not None and editor.field.kind == "choice" else {}

    def changes(self) -> dict[str, Any]:
        old = self.kind.values_of(self.existing)
        return {name: value for name, value in self.values().items() if not same_value(value, old.get(name))}

    def write(self, values: dict[str, Any]) -> bool | None:
        if self.existing is None:
            self._add(values)
            return None
        return self._edit()

    def _add(self, values: dict[str, Any]) -> None:
        kind, owner = self.kind, self.owner_id
        run_write(
            self.context,
            lambda actor: kind.add(actor, owner, values),
            patient_id=self.patient_id,
            kinds=(kind.change_kind,),
            undo=lambda row: UndoEntry(
                f"Add {kind.noun}",
                self.patient_id,
                (kind.change_kind,),
                lambda actor: kind.delete(actor, row.id, row.version),
            ),
            on_done=self._saved,
            on_error=self.show_failure,
        )

    def _edit(self) -> bool | None:
        changes = self.changes()
        if not changes:  # nothing to save: closing is the honest outcome
            self.set_busy(False)
            self.accept()
            return None
        old = self.kind.values_of(self.existing)
        detail = "\n".join(
            f"{self._label(name)}: {conflict.shown(old.get(name))} → {conflict.shown(value)}"
            for name, value in changes.items()
        )
        if not confirm(
            self,
            f"Save changes to {self.kind.noun}",
            f"Save these changes to the {self.kind.describe(self.existing)}?",
            action="Save changes",
            detail=detail,
        ):
            return False
        self._save_changes(changes, old)
        return None

    def _save_changes(self, changes: dict[str, Any], old: dict[str, Any]) -> None:
        self.set_busy(True)
        kind, row = self.kind, self.existing
        previous = {name: old.get(name) for name in changes}
        run_write(
            self.context,
            lambda actor: kind.update(actor, row.id, row.version, changes),
            patient_id=self.patient_id,
            kinds=(kind.change_kind,),
            undo=lambda saved: UndoEntry(
                f"Edit {kind.noun}",
                self.patient_id,
                (kind.change_kind,),
                lambda actor: kind.update(actor, saved.id, saved.version, previous),
            ),
            on_done=self._saved,
            on_error=self.show_failure,
        )

    def _label(self, name: str) -> str:
        return next((e.field.label for n, e in self.editors.items() if n == name), name)

    def _saved(self, row: Any) -> None:
        self.result_row = row
        self.succeeded(row)


def open_record_dialog(
    parent: QWidget | None,
    context: AppContext,
    kind: KindUi,
    *,
    patient: PatientDetail,
    owner_id: int | None = None,
    discipline: str | None = None,
    record: PatientRecord | None = None,
    existing: Any = None,
    on_open: Callable[[RecordDialog], None] | None = None,
) -> None:
    """Open the add (or, with ``existing``, edit) dialog. Options the form needs (the staff
    list) are loaded on the database thread first, so the dialog may appear a moment later;
    ``on_open`` receives it."""

    def build(options: dict) -> None:
        form_ctx = FormContext(discipline, record, options, context.today())
        dialog = RecordDialog(
            context,
            kind,
            form_ctx,
            patient_id=patient.id,
            owner_id=owner_id or patient.id,
            patient_text=patient_label(patient, context),
            existing=existing,
            parent=parent,
            patient=patient,
        )
        show_dialog(dialog)
        if on_open:
            on_open(dialog)

    prepare = kind.prepare
    if prepare is None:
        build({})
        return
    actor = context.actor
    context.jobs.run(lambda _p, _c: prepare(actor), on_done=build, on_error=lambda exc: show_error(parent, exc))


def delete_record(
    parent: QWidget | None,
    context: AppContext,
    kind: KindUi,
    row: Any,
    *,
    patient_id: int,
    on_done: Callable[[dict], None] | None = None,
) -> bool:
    """Ask, then delete; the deletion is undoable (Ctrl+Z) and kept in the audit trail.
    Returns whether the deletion was started."""
    what = kind.describe(row)
    if not confirm(
        parent,
        f"Delete {kind.noun}",
        f"Delete the {what}?",
        detail="You can undo this with Ctrl+Z; the audit trail keeps a copy.",
        action="Delete",
        destructive=True,
    ):
        return False
    run_write(
        context,
        lambda actor: kind.delete(actor, row.id, row.version),
        patient_id=patient_id,
        kinds=(kind.change_kind,),
        undo=lambda before: UndoEntry(
            f"Delete {kind.noun}", patient_id, (kind.change_kind,), lambda actor: kind.restore(actor, before)
        ),
        on_done=on_done,
        on_error=lambda exc: show_error(parent, exc),
    )
    return True
