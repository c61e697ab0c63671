"""Register a patient (Patient → New patient…, Ctrl+N) or edit a patient's details.

One form for both. The clinic ID is offered as the next free one in the clinic's pattern
and checked while it is typed; a likely duplicate (same name and date of birth, or a
near-identical name) is pointed out with a link to the existing patient before anything
is saved. The services judge every field: their complaints stand under the field. An
edit that lost a race to another workstation is refused with both values shown under
each field; saving again is then the user's explicit choice. Edits can be undone."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox, QWidget

from teamdash.errors import EditConflict, TeamDashError
from teamdash.services import patients, registration, staff
from teamdash.services.auth import Actor
from teamdash.services.patients import PatientDetail
from teamdash.services.registration import ClinicIdCheck, DuplicateMatch
from ui.context import AppContext
from ui.dialogs.confirm import confirm
from ui.dialogs.fields import Field
from ui.dialogs.form import ERROR_STYLE, FormDialog, show_dialog
from ui.dialogs.kinds import vocabulary_choices
from ui.dialogs.record_dialog import patient_label, same_value, title_with_patient
from ui.dialogs.writes import run_write
from ui.errors import show_error
from ui.undo import UndoEntry
from ui.widgets import palette

CHECK_DELAY_MS = 250  # the ID and duplicate checks wait for a pause in typing
# The details form edits the service's fields but the episode (readmission sets it) and
# the review flag (set from the header).
EDITABLE = tuple(f for f in patients.EDITABLE if f not in ("episode_start", "flagged_for_review", "flag_note"))
LABELS = {
    "clinic_id": "Clinic ID",
    "given_name": "Given name",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "referral_date": "Referral date",
    "programme_start": "Programme start",
    "case_manager": "Case manager",
    "next_checkin": "Next check-in",
    "research_consent": "Research consent",
}
INFO_STYLE = f"color: {palette.NEUTRAL};"
FREE_STYLE = f"color: {palette.BETTER};"
WARNING_STYLE = f"color: {palette.OVERDUE};"
DUPLICATE_STYLE = (
    "background: #fff8e6; color: #5c3d00; border: 1px solid #e0b252; border-radius: 4px; padding: 6px 8px;"
)


@dataclass(frozen=True)
class FormOptions:
    """What the form offers, loaded on the database thread before it opens."""

    managers: tuple[staff.StaffMember, ...]
    pattern: str
    suggestion: str | None  # the next free clinic ID (new patients only)
    me: int | None  # the acting user, when a case manager (the default for a new patient)


def load_options(actor: Actor, *, new: bool) -> FormOptions:
    managers = tuple(staff.case_managers(actor))
    return FormOptions(
        managers,
        registration.clinic_id_pattern(actor).text,
        registration.suggest_clinic_id(actor) if new else None,
        actor.user_id if any(m.id == actor.user_id for m in managers) else None,
    )


def _day(value: dt.date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "—"


def shown(name: str, value: Any, options: FormOptions | None = None) -> str:
    """A field's value as people read it (case manager by name, dates in words)."""
    if value in (None, ""):
        return "(empty)"
    if name == "case_manager" and options is not None:
        return next((m.full_name for m in options.managers if m.id == value), f"staff #{value}")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    if name == "sex":
        return str(value).capitalize()
    return str(value)


def patient_link(match: registration.PatientMatch) -> str:
    text = f"{match.clinic_id} · {match.full_name}, born {_day(match.date_of_birth)}"
    if match.status != "active":
        text += f" ({match.status.replace('_', ' ')})"
    return f"<a href='patient:{match.id}'>{html.escape(text)}</a>"


def _fields(options: FormOptions, new: bool) -> list[Field]:
    managers = ((None, "— not assigned —"), *((m.id, m.full_name) for m in options.managers))
    id_hint = f"Clinic pattern {options.pattern}" + (
        f"; {options.suggestion} is the next free ID" if new and options.suggestion else ""
    )
    return [
        Field("clinic_id", LABELS["clinic_id"], "text", hint=id_hint),
        Field("given_name", LABELS["given_name"], "text"),
        Field("family_name", LABELS["family_name"], "text"),
        Field("date_of_birth", LABELS["date_of_birth"], "typed_date"),
        Field("sex", LABELS["sex"], "choice", vocabulary_choices("sex")),
        Field(
            "referral_date", LABELS["referral_date"], "typed_date", hint="Starts the episode: the baseline for change"
        ),
        Field("programme_start", LABELS["programme_start"], "optional_date", required=False),
        Field("case_manager", LABELS["case_manager"], "choice", managers, required=False),
        Field("next_checkin", LABELS["next_checkin"], "optional_date", required=False),
        Field(
            "research_consent",
            LABELS["research_consent"],
            "bool",
            hint="Consented to de-identified use of the record for research and quality improvement",
        ),
    ]


class PatientDialog(FormDialog):
    """``existing`` None: register a new patient; else edit that patient's details."""

    def __init__(
        self,
        context: AppContext,
        options: FormOptions,
        *,
        existing: PatientDetail | None = None,
        parent: QWidget | None = None,
        open_patient: Callable[[int, str], None] | None = None,
        on_saved: Callable[[PatientDetail], None] | None = None,
    ):
        self.context, self.options, self.existing = context, options, existing
        self.open_patient, self.on_saved = open_patient, on_saved
        new = existing is None
        title = "New patient" if existing is None else f"Edit details — {patient_label(existing, context)}"
        intro = (
            "Register a patient referred to the programme. Fields marked optional can be filled in later."
            if new
            else None
        )
        super().__init__(title, _fields(options, new), parent, intro=intro)
        if existing is not None:
            title_with_patient(self, context, existing, "Edit details")
        self.setObjectName("dialog_patient")
        self.result_row: PatientDetail | None = None
        self.id_check: ClinicIdCheck | None = None
        self.duplicates: list[DuplicateMatch] = []
        self._duplicates_for: tuple | None = None  # the names and birth date last checked
        self._confirmed_duplicates: tuple | None = None
        self._generation = 0
        for label in self.errors.values():  # names typed by people are text, never markup
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.id_status = self.errors["clinic_id"]
        self._linkable(self.id_status)
        self.duplicate_box = QLabel(self)
        self.duplicate_box.setObjectName("duplicates")
        self.duplicate_box.setStyleSheet(DUPLICATE_STYLE)
        self.duplicate_box.setWordWrap(True)
        self._linkable(self.duplicate_box)
        self.duplicate_box.hide()
        self.extra.addWidget(self.duplicate_box)
        if existing is None:
            self.save_button.setText("Register")
            self.set_values(
                {
                    "clinic_id": options.suggestion,
                    "sex": "unknown",
                    "referral_date": context.today(),
                    "case_manager": options.me,
                }
            )
        else:
            self.set_values(self._values_of(existing))
        self._id_timer = self._timer(self.check_clinic_id)
        self._duplicate_timer = self._timer(self.check_duplicates)
        self._line("clinic_id").textChanged.connect(lambda _t: self._id_timer.start())
        for name in ("given_name", "family_name", "date_of_birth"):
            self._line(name).textChanged.connect(lambda _t: self._duplicate_timer.start())
        if new:
            self.check_clinic_id()
        self._line("clinic_id").selectAll()

    def _line(self, name: str) -> QLineEdit:
        return cast(QLineEdit, self.editors[name].widget)

    def _timer(self, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(CHECK_DELAY_MS)
        timer.timeout.connect(slot)
        return timer

    def _linkable(self, label: QLabel) -> None:
        """Links for the mouse only: Tab must go from field to field, never stop on a
        message (the keyboard user opens the existing patient from the save question)."""
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        label.linkActivated.connect(self.follow_link)

    @staticmethod
    def _values_of(p: PatientDetail) -> dict[str, Any]:
        return {name: getattr(p, name) for name in EDITABLE}

    # --- live checks ------------------------------------------------------------------------

    def _excluded(self) -> int | None:
        return self.existing.id if self.existing else None

    def check_clinic_id(self) -> None:
        """Is the typed ID free, and does it follow the pattern? Shown under the field."""
        text = self.editors["clinic_id"].get()
        self._generation += 1
        generation = self._generation
        if not text:
            self._show_id_status("", ERROR_STYLE)
            return
        actor, exclude = self.context.actor, self._excluded()

        def checked(check: ClinicIdCheck) -> None:
            if generation == self._generation:  # not overtaken by more typing
                self._show_id_check(check)

        def refused(exc: BaseException) -> None:
            if generation == self._generation:
                self._show_id_status(str(exc), ERROR_STYLE)

        self.context.jobs.run(
            lambda _p, _c: registration.check_clinic_id(actor, text, exclude_patient_id=exclude),
            on_done=checked,
            on_error=refused,
        )

    def _show_id_check(self, check: ClinicIdCheck) -> None:
        self.id_check = check
        if check.taken_by is not None:
            self._show_id_status(f"Already registered: {patient_link(check.taken_by)}", ERROR_STYLE)
        elif not check.follows_pattern:
            self._show_id_status(
                f"Free, but not in the clinic's pattern {html.escape(check.pattern)} (allowed: check it is meant)",
                WARNING_STYLE,
            )
        elif self.existing is not None and check.clinic_id == self.existing.clinic_id:
            self._show_id_status("", INFO_STYLE)
        else:
            self._show_id_status(f"✓ {html.escape(check.clinic_id)} is free", FREE_STYLE)

    def _show_id_status(self, text: str, style: str) -> None:
        self.id_status.setStyleSheet(style)
        self.id_status.setText(text)
        self.id_status.setVisible(bool(text))
        self._grow()

    def _grow(self) -> None:
        """Messages appearing under fields make the form taller: the dialog grows with
        it (up to a screenful) rather than hiding the last fields behind a scroll bar."""
        scroll = self.scroll_area
        needed = min(self.form_host.sizeHint().height() + 4, 640)
        if needed > scroll.minimumHeight():
            scroll.setMinimumHeight(needed)
        if self.sizeHint().height() > self.height():
            self.resize(self.width(), self.sizeHint().height())

    def _person(self) -> tuple:
        values = self.values()
        return values["given_name"], values["family_name"], values["date_of_birth"]

    def check_duplicates(self, then: Callable[[list[DuplicateMatch]], None] | None = None) -> None:
        """Look for likely duplicates of the person typed so far (on the database thread)."""
        person = self._person()
        actor, exclude = self.context.actor, self._excluded()
        given, family, born = person

        def found(matches: list[DuplicateMatch]) -> None:
            if person == self._person():
                self._duplicates_for = person
                self.show_duplicates(matches)
            if then is not None:
                then(matches)

        def failed(exc: BaseException) -> None:
            if then is not None:  # a save waits for the answer; a live check just stays quiet
                self.show_failure(exc)

        self.context.jobs.run(
            lambda _p, _c: registration.likely_duplicates(
                actor, given_name=given, family_name=family, date_of_birth=born, exclude_patient_id=exclude
            ),
            on_done=found,
            on_error=failed,
        )

    def show_duplicates(self, matches: list[DuplicateMatch]) -> None:
        self.duplicates = list(matches)
        if not matches:
            self.duplicate_box.hide()
            self.duplicate_box.clear()
            return
        noun = "this patient" if len(matches) == 1 else "one of these patients"
        items = "".join(f"<li>{patient_link(m.patient)} — {html.escape(m.reason)}</li>" for m in matches)
        self.duplicate_box.setText(
            f"<b>⚠ Possible duplicate.</b> The person you are {'registering' if self.existing is None else 'editing'} "
            f"may be {noun}:<ul style='margin: 2px 0 2px -20px'>{items}</ul>"
            "Open the existing record to check, or save if this is someone else."
        )
        self.duplicate_box.show()
        self._grow()

    def follow_link(self, link: str) -> None:
        """A link to an existing patient: close the form (nothing saved) and open them."""
        if not link.startswith("patient:") or self.open_patient is None:
            return
        patient_id = int(link.split(":", 1)[1])
        known = [m.patient for m in self.duplicates] + (
            [self.id_check.taken_by] if self.id_check and self.id_check.taken_by else []
        )
        clinic_id = next((p.clinic_id for p in known if p.id == patient_id), "")
        self.reject()
        self.open_patient(patient_id, clinic_id)

    # --- saving -----------------------------------------------------------------------------

    def write(self, values: dict[str, Any]) -> bool | None:
        if self.existing is not None:
            return self._edit(values)
        # The duplicate check answers for the values as they are now, even if the user
        # pressed Enter before the pause that starts it.
        self._duplicate_timer.stop()
        self.check_duplicates(then=lambda matches: self._register_if_confirmed(values, matches))
        return None

    def _confirmed(self, matches: list[DuplicateMatch]) -> bool:
        """Ask before saving a likely duplicate: save anyway, open the existing patient
        instead, or go back to the form (Enter and Esc: a reflex keypress must not make
        a second record for one person)."""
        if not matches or self._confirmed_duplicates == self._person():
            return True
        names = "\n".join(f"• {m.patient.clinic_id} {m.patient.full_name}: {m.reason}" for m in matches)
        verb = "Register" if self.existing is None else "Save"
        box = QMessageBox(self)
        box.setObjectName("confirm_box")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Possible duplicate")
        box.setText(f"This may be a patient who is already registered. {verb} anyway?")
        box.setInformativeText(f"{names}\n\nA second record for one person splits their history.")
        anyway = box.addButton(f"{verb} anyway", QMessageBox.ButtonRole.AcceptRole)
        anyway.setObjectName("confirm_yes")
        first = matches[0].patient
        open_existing = box.addButton(f"Open {first.clinic_id}", QMessageBox.ButtonRole.ActionRole)
        open_existing.setObjectName("open_existing")
        open_existing.setEnabled(self.open_patient is not None)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.exec()
        if box.clickedButton() is open_existing:
            self.follow_link(f"patient:{first.id}")
            return False
        if box.clickedButton() is anyway:
            self._confirmed_duplicates = self._person()
            return True
        return False

    def _register_if_confirmed(self, values: dict[str, Any], matches: list[DuplicateMatch]) -> None:
        if not self._confirmed(matches):
            self.set_busy(False)
            return
        run_write(
            self.context,
            lambda actor: patients.create_patient(actor, **values),
            patient_id=None,
            kinds=("patient",),
            on_done=self._saved,
            on_error=self.show_failure,
        )

    def changes(self) -> dict[str, Any]:
        old = self._values_of(self.existing) if self.existing else {}
        return {name: value for name, value in self.values().items() if not same_value(value, old.get(name))}

    def _edit(self, values: dict[str, Any]) -> bool | None:
        assert self.existing is not None
        changes = self.changes()
        if not changes:  # nothing to save: closing is the honest outcome
            self.set_busy(False)
            self.accept()
            return None
        old = self._values_of(self.existing)
        detail = "\n".join(
            f"{LABELS[name]}: {shown(name, old.get(name), self.options)} → {shown(name, value, self.options)}"
            for name, value in changes.items()
        )
        if not confirm(
            self,
            "Save patient details",
            f"Save these changes to {patient_label(self.existing, self.context)}?",
            action="Save changes",
            detail=detail + "\n\nThe audit trail keeps the previous values; Ctrl+Z puts them back.",
        ):
            return False
        patient_id, version = self.existing.id, self.existing.version
        previous = {name: old.get(name) for name in changes}
        run_write(
            self.context,
            lambda actor: patients.update_patient(actor, patient_id, version, **changes),
            patient_id=patient_id,
            kinds=("patient",),
            undo=lambda saved: UndoEntry(
                "Edit patient details",
                patient_id,
                ("patient",),
                lambda actor: patients.undo_update(
                    actor, patient_id, written={name: getattr(saved, name) for name in changes}, previous=previous
                ),
            ),
            on_done=self._saved,
            on_error=self._edit_failed,
        )
        return None

    def _edit_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, EditConflict) or self.existing is None:
            self.show_failure(exc)
            return
        actor, patient_id = self.context.actor, self.existing.id
        self.context.jobs.run(
            lambda _p, _c: patients.get_patient(actor, patient_id),
            on_done=lambda fresh: self.show_conflict(exc, fresh),
            on_error=self.show_failure,
        )

    def show_conflict(self, exc: EditConflict, fresh: PatientDetail) -> None:
        """Someone saved first. Nothing was written. Each field both changed shows the
        value saved meanwhile under the user's own; fields only they changed take the new
        value; the user's other changes stay. Saving again now replaces theirs, knowingly."""
        self.set_busy(False)
        mine = self.changes()
        stale = self._values_of(self.existing) if self.existing else {}
        theirs = self._values_of(fresh)
        self.existing = fresh
        for name, value in theirs.items():
            changed_by_them = not same_value(value, stale.get(name))
            if name in mine:
                if changed_by_them and not same_value(mine[name], value):  # both changed it
                    self.errors[name].setStyleSheet(WARNING_STYLE)
                    self.errors[name].setText(
                        f"Saved meanwhile{f' by {exc.changed_by}' if exc.changed_by else ''}: "
                        f"{shown(name, value, self.options)}  (yours: {shown(name, mine[name], self.options)})"
                    )
                    self.errors[name].show()
            elif changed_by_them:
                self.editors[name].set(value)
        conflicted = [n for n in self.editors if self.errors[n].isVisibleTo(self)]
        if conflicted:
            self.editors[conflicted[0]].widget.setFocus()
        who = f" ({exc.changed_by})" if exc.changed_by else ""
        self.banner.setText(
            f"Someone else saved this patient while you were editing{who}. Nothing was saved. "
            "Under each field you changed is the value saved meanwhile; Save again to replace it with yours, "
            "or Cancel to keep it."
        )
        self.banner.show()
        self._grow()

    def clear_errors(self) -> None:
        super().clear_errors()
        for label in self.errors.values():
            label.setStyleSheet(ERROR_STYLE)
        if self.id_check is not None and self.id_check.clinic_id == self.editors["clinic_id"].get():
            self._show_id_check(self.id_check)  # the live check still holds: keep saying so

    def show_failure(self, exc: BaseException) -> None:
        super().show_failure(exc)
        self._grow()

    def _saved(self, detail: PatientDetail) -> None:
        self.result_row = detail
        self.succeeded(detail)
        if self.on_saved is not None:
            self.on_saved(detail)


def open_patient_dialog(
    parent: QWidget | None,
    context: AppContext,
    *,
    existing: PatientDetail | None = None,
    open_patient: Callable[[int, str], None] | None = None,
    on_saved: Callable[[PatientDetail], None] | None = None,
    on_open: Callable[[PatientDialog], None] | None = None,
) -> None:
    """Load the form's options (case managers, the next free ID) and open it."""
    actor, new = context.actor, existing is None

    def build(options: FormOptions) -> None:
        dialog = PatientDialog(
            context, options, existing=existing, parent=parent, open_patient=open_patient, on_saved=on_saved
        )
        show_dialog(dialog)
        if on_open is not None:
            on_open(dialog)

    context.jobs.run(
        lambda _p, _c: load_options(actor, new=new), on_done=build, on_error=lambda exc: show_error(parent, exc)
    )


# --- the clinic's ID pattern -----------------------------------------------------------------------


class ClinicIdPatternDialog(FormDialog):
    """Patient → Clinic ID pattern…: the pattern every workstation suggests IDs from."""

    def __init__(self, context: AppContext, current: str, parent: QWidget | None = None):
        super().__init__(
            "Clinic ID pattern",
            [
                Field(
                    "pattern",
                    "Pattern",
                    "text",
                    hint="The last run of zeros is the number (TD-00000 gives TD-00001, TD-00002, …); "
                    "the rest is kept as written. Existing IDs stay as they are.",
                )
            ],
            parent,
        )
        self.setObjectName("dialog_clinic_id_pattern")
        self.context = context
        self.set_values({"pattern": current})
        self.example = QLabel(self)
        self.example.setObjectName("pattern_example")
        self.example.setStyleSheet(INFO_STYLE)
        self.extra.addWidget(self.example)
        cast(QLineEdit, self.editors["pattern"].widget).textChanged.connect(self._preview)
        self._preview()

    def _preview(self, *_args) -> None:
        try:
            pattern = registration.ClinicIdPattern.parse(self.editors["pattern"].get() or "")
        except TeamDashError as exc:
            self.example.setText(str(exc))
            return
        self.example.setText(f"New patients get {pattern.format(1)}, {pattern.format(2)}, … (after the highest in use)")

    def write(self, values: dict[str, Any]) -> bool | None:
        pattern = values["pattern"] or ""
        run_write(
            self.context,
            lambda actor: registration.set_clinic_id_pattern(actor, pattern),
            patient_id=None,
            kinds=("setting",),
            on_done=self.succeeded,
            on_error=self.show_failure,
        )
        return None


def open_pattern_dialog(parent: QWidget | None, context: AppContext) -> None:
    actor = context.actor

    def build(current: str) -> None:
        show_dialog(ClinicIdPatternDialog(context, current, parent))

    context.jobs.run(
        lambda _p, _c: registration.clinic_id_pattern(actor).text,
        on_done=build,
        on_error=lambda exc: show_error(parent, exc),
    )
