"""A patient's status over time: put on hold, resume, discharge, record a drop-out (each
dated, with reason and note), readmit as a new episode, and the status history.

Every change goes through ``teamdash.services.episodes`` with the acting user, checked
against the version shown, audited, and undoable with Ctrl+Z like any record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from teamdash.clinical import disciplines
from teamdash.services import episodes, staff
from teamdash.services.episodes import EpisodeResult, StatusChangeResult
from teamdash.services.patients import PatientDetail
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs.fields import Field
from ui.dialogs.form import FormDialog, show_dialog
from ui.dialogs.record_dialog import intro_with_patient, patient_label, title_with_patient
from ui.dialogs.writes import run_write
from ui.errors import show_error
from ui.undo import UndoEntry
from ui.widgets.table import Column, RecordTable

# event -> (window title, verb for the undo entry, save button)
EVENT_TEXT = {
    episodes.ON_HOLD: ("Put on hold", "Put on hold", "Put on hold"),
    episodes.RESUMED: ("Resume the programme", "Resume", "Resume"),
    episodes.DISCHARGED: ("Discharge", "Discharge", "Discharge"),
    episodes.DROPPED_OUT: ("Record drop-out", "Drop-out", "Record drop-out"),
}


def _day(value: dt.date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "—"


def reason_choices(vocabulary: str) -> tuple[tuple[Any, str], ...]:
    return ((None, "— choose a reason —"), *((r, episodes.label(r)) for r in disciplines.vocabulary(vocabulary)))


def undo_entry(patient_id: int, change: StatusChangeResult) -> UndoEntry:
    verb = EVENT_TEXT.get(change.event, ("", "Readmission", ""))[1]
    change_id = change.id
    assert change_id is not None  # a change just recorded has its row
    return UndoEntry(verb, patient_id, ("patient",), lambda actor: episodes.undo_change(actor, change_id))


def _intro(patient: PatientDetail, event: str, context: AppContext) -> str:
    who = patient_label(patient, context)
    episode = f"episode {patient.episode_number}, referred {_day(patient.referral_date)}"
    if event == episodes.ON_HOLD:
        return f"{who} pauses the programme ({episode}). Check-ins and overdue flags wait until they resume."
    if event == episodes.RESUMED:
        return f"{who} resumes the programme ({episode}), on hold since {_day(patient.status_changed_on)}."
    what = "is discharged" if event == episodes.DISCHARGED else "has dropped out"
    return (
        f"{who} {what}: this ends {episode}. The record stays; a later referral is a readmission with a new baseline."
    )


class StatusDialog(FormDialog):
    """On hold, resumed, discharged or dropped out: date, reason (where one is asked
    for) and note."""

    def __init__(self, context: AppContext, patient: PatientDetail, event: str, parent: QWidget | None = None):
        transition = episodes.TRANSITIONS[event]
        title, _verb, action = EVENT_TEXT[event]
        fields = [Field("effective_on", "Date", "typed_date", hint="Not in the future")]
        if transition.reasons:
            fields.append(Field("reason", "Reason", "choice", reason_choices(transition.reasons)))
        note_hint = "Required: why" if transition.note_required else "Required when the reason is “Other”"
        fields.append(
            Field(
                "note",
                "Note",
                "note",
                required=transition.note_required,
                hint=note_hint if transition.reasons or transition.note_required else "",
            )
        )
        super().__init__(title, fields, parent, intro=_intro(patient, event, context))
        title_with_patient(self, context, patient, title)
        intro_with_patient(self, context, lambda: _intro(patient, event, context))
        self.setObjectName(f"dialog_status_{event}")
        # Not ``self.event``: that is the dialog's Qt event handler.
        self.context, self.patient, self.status_event = context, patient, event
        self.save_button.setText(action)
        self.set_values({"effective_on": context.today()})
        self.result_row: StatusChangeResult | None = None

    def write(self, values: dict[str, Any]) -> bool | None:
        patient_id, version, event = self.patient.id, self.patient.version, self.status_event
        run_write(
            self.context,
            lambda actor: episodes.change_status(
                actor,
                patient_id,
                version,
                event,
                effective_on=values["effective_on"],
                reason=values.get("reason"),
                note=values.get("note"),
            ),
            patient_id=patient_id,
            kinds=("patient",),
            undo=lambda change: undo_entry(patient_id, change),
            on_done=self._saved,
            on_error=self.show_failure,
        )
        return None

    def _saved(self, change: StatusChangeResult) -> None:
        self.result_row = change
        self.succeeded(change)


class ReadmitDialog(FormDialog):
    """A new episode for a discharged or dropped-out patient."""

    def __init__(
        self,
        context: AppContext,
        patient: PatientDetail,
        managers: list[staff.StaffMember],
        parent: QWidget | None = None,
    ):
        choices = ((None, "— not assigned —"), *((m.id, m.full_name) for m in managers))
        fields = [
            Field("referral_date", "New referral date", "typed_date", hint="Starts the new episode and its baseline"),
            Field("programme_start", "Programme start", "optional_date", required=False),
            Field("case_manager", "Case manager", "choice", choices, required=False),
            Field("next_checkin", "Next check-in", "optional_date", required=False),
            Field("note", "Note", "note", required=False, hint="e.g. who re-referred and why"),
        ]
        ended = "discharged" if patient.status == "discharged" else "dropped out"

        def intro() -> str:
            return (
                f"{patient_label(patient, context)} {ended} on {_day(patient.status_changed_on)}. Readmission opens "
                f"episode {patient.episode_number + 1}: change from baseline, MCID and reliable change restart at "
                f"the new referral date. Episode {patient.episode_number} stays on the record and is shaded on the "
                "timelines."
            )

        super().__init__("Readmit", fields, parent, intro=intro())
        title_with_patient(self, context, patient, "Readmit")
        intro_with_patient(self, context, intro)
        self.setObjectName("dialog_readmit")
        self.context, self.patient = context, patient
        self.save_button.setText("Readmit")
        self.set_values({"referral_date": context.today(), "case_manager": patient.case_manager})
        self.result_row: StatusChangeResult | None = None

    def write(self, values: dict[str, Any]) -> bool | None:
        patient_id, version = self.patient.id, self.patient.version
        run_write(
            self.context,
            lambda actor: episodes.readmit(actor, patient_id, version, **values),
            patient_id=patient_id,
            kinds=("patient",),
            undo=lambda change: undo_entry(patient_id, change),
            on_done=self._saved,
            on_error=self.show_failure,
        )
        return None

    def _saved(self, change: StatusChangeResult) -> None:
        self.result_row = change
        self.succeeded(change)


# --- history ----------------------------------------------------------------------------------


EPISODE_COLUMNS = (
    Column("Episode", lambda e: f"{e.number}{' (current)' if e.current else ''}"),
    Column("Referred", lambda e: _day(e.referral_date)),
    Column("Programme start", lambda e: _day(e.programme_start)),
    Column("Ended", lambda e: _day(e.ended_on) if e.ended_on else "—"),
    Column("Outcome", lambda e: e.outcome_text.capitalize()),
    Column("Case manager", lambda e: e.case_manager_name or "—"),
    Column("Note", lambda e: (e.note or "").replace("\n", " "), stretch=True),
)
HISTORY_COLUMNS = (
    Column("Date", lambda c: _day(c.effective_on)),
    Column("Episode", lambda c: str(c.episode), numeric=True),
    Column("Change", lambda c: c.event_label),
    Column("Reason", lambda c: c.reason_label or "—"),
    Column(
        "Recorded by",
        lambda c: (
            f"{c.recorded_by_name}, {c.recorded_at:%d %b %Y %H:%M}"
            if c.recorded_by_name and c.recorded_at
            else "not recorded"
        ),
        tooltip=lambda c: (
            None if c.id else "Recorded before TeamDash kept a status history (import, demo, older version)"
        ),
    ),
    Column("Note", lambda c: (c.note or "").replace("\n", " "), stretch=True),
)


class StatusHistoryDialog(QDialog):
    """Episodes of care and every status change, read-only (the audit trail has the rest)."""

    def __init__(
        self,
        context: AppContext,
        patient: PatientDetail,
        spans: tuple[EpisodeResult, ...],
        changes: tuple[StatusChangeResult, ...],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.context, self.patient = context, patient
        self.setObjectName("dialog_status_history")
        title_with_patient(self, context, patient, "Status history")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Episodes of care</b>"))
        self.episodes = RecordTable(EPISODE_COLUMNS, self, max_rows=6)
        self.episodes.setObjectName("table_episodes")
        layout.addWidget(self.episodes)
        layout.addWidget(QLabel("<b>Status changes</b>"))
        self.changes = RecordTable(HISTORY_COLUMNS, self, max_rows=14)
        self.changes.setObjectName("table_status_changes")
        self.changes.setMinimumWidth(780)
        layout.addWidget(self.changes)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.set_rows(spans, changes)
        self.resize(max(self.sizeHint().width(), 960), self.sizeHint().height())  # notes readable
        context.changes.changed.connect(self._on_changes)

    def set_rows(self, spans: tuple[EpisodeResult, ...], changes: tuple[StatusChangeResult, ...]) -> None:
        self.episodes.set_rows(list(spans))
        self.changes.set_rows(list(reversed(changes)))  # newest first

    def _on_changes(self, changes: Changes) -> None:
        if changes.touches(self.patient.id) and self.isVisible():
            load_history(self.context, self.patient.id, lambda data: self.set_rows(*data), self)


def load_history(
    context: AppContext,
    patient_id: int,
    then: Callable[[tuple[tuple[EpisodeResult, ...], tuple[StatusChangeResult, ...]]], None],
    parent: QWidget | None,
) -> None:
    actor = context.actor
    context.jobs.run(
        lambda _p, _c: (episodes.episodes(actor, patient_id), episodes.history(actor, patient_id)),
        on_done=then,
        on_error=lambda exc: show_error(parent, exc),
    )


# --- opening ------------------------------------------------------------------------------------


def open_status_dialog(
    parent: QWidget | None,
    context: AppContext,
    patient: PatientDetail,
    event: str,
    on_open: Callable[[QDialog], None] | None = None,
) -> None:
    """The dialog for ``event``: on_hold, resumed, discharged, dropped_out or readmitted."""
    if event != episodes.READMITTED:
        dialog: QDialog = show_dialog(StatusDialog(context, patient, event, parent))
        if on_open:
            on_open(dialog)
        return
    actor = context.actor

    def build(managers: list[staff.StaffMember]) -> None:
        readmit = show_dialog(ReadmitDialog(context, patient, managers, parent))
        if on_open:
            on_open(readmit)

    context.jobs.run(
        lambda _p, _c: staff.case_managers(actor), on_done=build, on_error=lambda exc: show_error(parent, exc)
    )


def open_history_dialog(
    parent: QWidget | None,
    context: AppContext,
    patient: PatientDetail,
    on_open: Callable[[QDialog], None] | None = None,
) -> None:
    def build(data: tuple[tuple[EpisodeResult, ...], tuple[StatusChangeResult, ...]]) -> None:
        spans, changes = data
        dialog = show_dialog(StatusHistoryDialog(context, patient, spans, changes, parent))
        if on_open:
            on_open(dialog)

    load_history(context, patient.id, build, parent)


def events_for(patient: PatientDetail) -> tuple[str, ...]:
    """The status changes that make sense now, in menu order."""
    if patient.status == "active":
        return (episodes.ON_HOLD, episodes.DISCHARGED, episodes.DROPPED_OUT)
    if patient.status == "on_hold":
        return (episodes.RESUMED, episodes.DISCHARGED, episodes.DROPPED_OUT)
    return (episodes.READMITTED,)
