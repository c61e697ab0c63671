"""Record (or correct) one administration of an instrument. The form is generated from
the instrument's definition: the recall period and any unverified rule above the items,
one control per item offering its allowed values (and, for patient-named items such as
the PSFS activities, the activity's name, carried forward from the last administration),
a live total and band, missing items only as the scoring rule allows. Nothing is saved
until the service has scored the whole form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from teamdash import clock
from teamdash.clinical import disciplines, instruments
from teamdash.clinical.instruments import DefinitionError, Instrument, Item
from teamdash.errors import InvalidItemName, InvalidResponse, TeamDashError
from teamdash.services import measurements
from teamdash.services.measurements import MeasurementResult
from teamdash.services.patients import PatientDetail
from ui.context import AppContext
from ui.dialogs.confirm import confirm
from ui.dialogs.fields import Field, changed_signal
from ui.dialogs.form import FormDialog, field_message, show_dialog
from ui.dialogs.record_dialog import patient_label, title_with_patient
from ui.dialogs.safety_dialog import AcknowledgeDialog
from ui.dialogs.writes import run_write
from ui.errors import show_error
from ui.undo import UndoEntry
from ui.widgets import palette
from ui.widgets.cards import set_chip

# Up to this many allowed values an item is a drop-down (type the digit to pick it);
# wider ranges (minutes, metres, kilograms) are typed.
MAX_LISTED_VALUES = 11

# Recorded elsewhere: the sleep diary is entered night by night in the sleep panel.
NOT_RECORDED_HERE = frozenset({"sleep_diary"})


LAST_INSTRUMENT_KEY = "entry/last_instrument"


def recordable() -> list[Instrument]:
    """Every instrument entered here, in the order of the disciplines' key measures in
    resources/disciplines.toml (PT's first), then any others."""
    library = instruments.library()
    ordered = [i for d in disciplines.all_disciplines() for i in d.key_instruments if i in library]
    ordered += [i for i in library if i not in ordered]
    return [library[i] for i in dict.fromkeys(ordered) if i not in NOT_RECORDED_HERE]


def default_instrument(context: AppContext, discipline: str | None) -> str:
    """The discipline's first key measure when opened from its panel, else the one
    recorded last on this workstation."""
    ids = [i.id for i in recordable()]
    if discipline:
        first = next((i for i in disciplines.get(discipline).key_instruments if i in ids), None)
        if first:
            return first
    last = context.settings.value(LAST_INSTRUMENT_KEY)
    return last if last in ids else ids[0]


def _number(value: float, kind: str) -> int | float:
    return int(value) if kind in ("int", "bool") else float(value)


def _item_hint(inst: Instrument, item: Item) -> str:
    parts = []
    role = inst.item_role(item.number)
    if role:
        parts.append(role[:1].upper() + role[1:])
    if item.required_when is not None:
        other = inst.items[int(item.required_when.subject) - 1]
        parts.append(
            f"Required when {other.label or f'item {other.number}'} is {_answer(other, item.required_when.value)}"
        )
    elif item.optional and not inst.named_items:  # named items: at least one is rated, any of them
        parts.append("Optional")
    if item.score_if_missing is not None:
        parts.append(f"blank scores {item.score_if_missing:g}")
    if item.mandatory:
        parts.append("always required")
    return "; ".join(parts)


def _answer(item: Item, value: float) -> str:
    if item.kind == "bool":
        return "yes" if value == 1 else "no"
    return item.choice_label(value) or f"{value:g}"


def item_field(inst: Instrument, item: Item) -> Field:
    """One item as a form field: its allowed values listed, or typed with its range."""
    name, label = f"item_{item.number}", f"{item.number}. {item.label or f'Item {item.number}'}"
    if inst.named_items:  # the name is on the row above: this row is its rating
        label = f"{item.number}. {item.label or 'Rating'}"
    required = item.required_when is None and not item.optional
    common = Field(name, label, required=required, hint=_item_hint(inst, item), aliases=(f"item {item.number}",))
    if item.kind == "bool":
        return replace(common, kind="choice", choices=((None, "—"), (1, "Yes"), (0, "No")))
    if item.kind == "time":
        return replace(common, kind="clock")
    if item.minimum is None or item.maximum is None:  # the parser sets both for every numeric item
        raise DefinitionError(f"item {item.number} of {inst.id} has no numeric range")
    span = item.maximum - item.minimum
    if item.choices or (item.kind == "int" and span < MAX_LISTED_VALUES):
        values = [code for code, _ in item.choices] or [item.minimum + n for n in range(int(span) + 1)]
        shown = tuple((_number(v, item.kind), _choice_text(item, v)) for v in values)
        return replace(common, kind="choice", choices=((None, "—"), *shown))
    return replace(common, kind="number", minimum=item.minimum, maximum=item.maximum, suffix=item.unit or "")


def _choice_text(item: Item, value: float) -> str:
    text = item.choice_label(value)
    return f"{value:g} — {text}" if text else f"{value:g}"


def name_field(inst: Instrument, item: Item) -> Field:
    """The patient's name for a patient-named item (a PSFS activity)."""
    return Field(
        f"name_{item.number}",
        f"{inst.item_name_label} {item.number}",
        "text",
        required=False,
        aliases=(f"name {item.number}",),
    )


def measurement_fields(inst: Instrument) -> list[Field]:
    items: list[Field] = []
    for item in inst.items:
        if inst.named_items:
            items.append(name_field(inst, item))
        items.append(item_field(inst, item))
    return [
        Field("taken_at", "Taken at", "datetime", aliases=("taken_at",)),
        *items,
        Field("note", "Note", "note", required=False),
    ]


def recall_text(inst: Instrument) -> str:
    return f"Recall period: {inst.recall}" if inst.recall else ""


def caveat_text(inst: Instrument) -> str:
    return "\n".join(f"Unverified rule: {text}" for text in inst.unverified)


class MeasurementDialog(FormDialog):
    """Opened for a new measurement (instrument chosen here unless given) or, with
    ``existing``, to correct one."""

    def __init__(
        self,
        context: AppContext,
        patient: PatientDetail,
        *,
        instrument_id: str | None = None,
        existing: MeasurementResult | None = None,
        parent: QWidget | None = None,
        after_save: Callable[[MeasurementResult], None] | None = None,
        discipline: str | None = None,
    ):
        self.context, self.patient, self.existing, self.after_save = context, patient, existing, after_save
        first = existing.instrument if existing else (instrument_id or default_instrument(context, discipline))
        self.instrument = instruments.get(first)
        verb = "Correct" if existing else "Record"
        self.chooser: QComboBox | None = None
        super().__init__(f"{verb} measurement — {patient_label(patient, context)}", [], parent)
        title_with_patient(self, context, patient, f"{verb} measurement")
        self.setObjectName("dialog_measurement")
        if existing is None and instrument_id is None:
            self._add_chooser()
        self._add_context_labels()
        self._add_preview()
        self._show_instrument(self.instrument)
        if existing is not None:
            self._fill(existing)
        self.result_row: MeasurementResult | None = None

    # --- building ------------------------------------------------------------------------

    def _add_chooser(self) -> None:
        row = QHBoxLayout()
        label = QLabel("&Instrument")
        self.chooser = QComboBox()
        self.chooser.setObjectName("instrument")
        for inst in recordable():
            self.chooser.addItem(f"{inst.short_name} — {inst.name} ({disciplines.get(inst.discipline).short})", inst.id)
        self.chooser.setCurrentIndex(self.chooser.findData(self.instrument.id))
        label.setBuddy(self.chooser)
        row.addWidget(label)
        row.addWidget(self.chooser, 1)
        self.top.addLayout(row)
        self.chooser.currentIndexChanged.connect(
            lambda _i: self._show_instrument(instruments.get(self.chooser.currentData()))
        )

    def _add_context_labels(self) -> None:
        """What the questions ask about and what is not verified, above the items."""
        self.recall_label = QLabel()
        self.recall_label.setObjectName("recall_period")
        self.recall_label.setWordWrap(True)
        self.recall_label.setStyleSheet("font-weight: bold;")
        self.top.addWidget(self.recall_label)
        self.caveat_label = QLabel()
        self.caveat_label.setObjectName("unverified_rules")
        self.caveat_label.setWordWrap(True)
        self.caveat_label.setStyleSheet(f"color: {palette.MUTED}; font-size: small;")
        self.top.addWidget(self.caveat_label)
        self.carried_label = QLabel()
        self.carried_label.setObjectName("carried_forward")
        self.carried_label.setWordWrap(True)
        self.carried_label.setStyleSheet(f"color: {palette.MUTED};")
        self.top.addWidget(self.carried_label)

    def leading_widgets(self) -> list[QWidget]:
        return [self.chooser] if self.chooser is not None else []

    def _add_preview(self) -> None:
        row = QHBoxLayout()
        self.total_label = QLabel()
        self.total_label.setObjectName("live_total")
        font = self.total_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.total_label.setFont(font)
        self.band_label = QLabel()
        self.band_label.setObjectName("live_band")
        row.addWidget(self.total_label)
        row.addWidget(self.band_label)
        row.addStretch(1)
        self.extra.addLayout(row)
        self.status_label = QLabel()
        self.status_label.setObjectName("live_status")
        self.status_label.setWordWrap(True)
        self.extra.addWidget(self.status_label)
        self.safety_label = QLabel()
        self.safety_label.setObjectName("live_safety")
        self.safety_label.setWordWrap(True)
        self.safety_label.setStyleSheet(
            f"background: {palette.SAFETY_BACKGROUND}; color: {palette.SAFETY}; border: 1px solid {palette.SAFETY};"
            " border-radius: 4px; padding: 6px; font-weight: bold;"
        )
        self.safety_label.hide()
        self.extra.addWidget(self.safety_label)

    def _show_instrument(self, inst: Instrument) -> None:
        taken = self.editors["taken_at"].get() if "taken_at" in self.editors else None
        note = self.editors["note"].get() if "note" in self.editors else None
        self.instrument = inst
        self.rebuild(measurement_fields(inst))
        self.editors["taken_at"].set(taken or clock.now().replace(second=0))
        self.editors["note"].set(note)
        for editor in self.editors.values():
            signal = changed_signal(editor)
            if signal is not None and editor.field.name.startswith(("item_", "name_")):
                signal.connect(self.update_preview)
        self.setToolTip(inst.licence)
        self.recall_label.setText(recall_text(inst))
        self.recall_label.setVisible(bool(inst.recall))
        self.caveat_label.setText(caveat_text(inst))
        self.caveat_label.setVisible(bool(inst.unverified))
        self.carried_label.setText("")
        self.carried_label.hide()
        for item in inst.items if inst.named_items else ():
            widget = self.editors[f"name_{item.number}"].widget
            if isinstance(widget, QLineEdit):
                widget.setPlaceholderText(
                    f"an {inst.item_name_words()} the patient finds hard" if item.number == 1 else "another (optional)"
                )
        self.update_preview()
        if inst.named_items and self.existing is None:
            self._carry_forward(inst)

    def _carry_forward(self, inst: Instrument) -> None:
        """Fill the names of the patient's last administration (the authors' follow-up
        script reads the earlier activities back for the patient to rate again)."""
        patient_id, actor = self.patient.id, self.context.actor
        self.context.jobs.run(
            lambda _progress, _cancelled: measurements.carried_forward_names(actor, patient_id, inst.id),
            on_done=lambda carried: self._carried(inst, carried),
            on_error=lambda exc: show_error(self, exc),
        )

    def _carried(self, inst: Instrument, carried: measurements.CarriedNames | None) -> None:
        if carried is None or self.instrument.id != inst.id or any(self.item_names() or []):
            return  # nothing to carry, another instrument chosen, or names typed already
        for item, name in zip(inst.items, carried.names):
            self.editors[f"name_{item.number}"].set(name)
        words = inst.item_name_words(2)
        self.carried_label.setText(
            f"{words.capitalize()} carried forward from {carried.taken_at:%d %b %Y}: read them back and rate each "
            f"again; clear a name the patient no longer has difficulty with, or add a new one."
        )
        self.carried_label.show()
        self.update_preview()
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """A label shown after the dialog opened must not squeeze the form."""
        hint = self.sizeHint()
        if self.height() < hint.height():
            self.resize(self.width(), hint.height())

    def _fill(self, existing: MeasurementResult) -> None:
        self.editors["taken_at"].set(existing.taken_at)
        self.editors["note"].set(existing.note)
        for item, name in zip(self.instrument.items, existing.item_names or []):
            self.editors[f"name_{item.number}"].set(name)
        for item, value in zip(self.instrument.items, existing.responses):
            editor = self.editors[f"item_{item.number}"]
            editor.set(
                _number(value, item.kind)
                if isinstance(value, (int, float)) and editor.field.kind == "choice"
                else value
            )
        self.update_preview()

    # --- live total ---------------------------------------------------------------------------

    def responses(self) -> list[Any]:
        return [self.editors[f"item_{item.number}"].get() for item in self.instrument.items]

    def item_names(self) -> list[str | None] | None:
        if not self.instrument.named_items:
            return None
        return [self.editors[f"name_{item.number}"].get() for item in self.instrument.items]

    def update_preview(self, *_args) -> None:
        """Score as the user types. A wrong value is named under its item at once; items
        still missing are only listed (the form is being filled in, not yet wrong)."""
        for name in self.errors:
            if name.startswith(("item_", "name_")):
                self.errors[name].hide()
        inst = self.instrument
        try:
            scored = instruments.score(inst.id, self.responses(), self.item_names())
        except InvalidResponse as exc:
            self._preview_incomplete(exc)
            return
        unit = f" {inst.unit}" if inst.unit else ""
        self.total_label.setText(
            f"{inst.short_name}: {inst.format(scored.total)}{unit}"
            if scored.total is not None
            else f"{inst.short_name}: no total"
        )
        set_chip(
            self.band_label,
            scored.band or "",
            palette.severity_colour(inst, scored.band_severity) if scored.band else None,
        )
        missing = scored.missing_items
        status = ""
        if scored.prorated:
            answered = len(inst.items) - len(missing)
            status = (
                f"Prorated total: item{'s' if len(missing) != 1 else ''} {', '.join(map(str, missing))} left blank, "
                f"so the total is the sum of the "
                f"{answered} answered items / {answered} × {len(inst.items)} (allowed by the {inst.short_name} rule)"
            )
        elif missing and inst.named_items:
            rated = len(inst.items) - len(missing)
            status = f"{rated} {inst.item_name_words(rated)} rated; the score is their mean"
        elif missing:
            status = (
                f"Item{'s' if len(missing) != 1 else ''} {', '.join(map(str, missing))} left blank "
                f"(allowed by the {inst.short_name} scoring rule)"
            )
        self.status_label.setText(status)
        self._preview_safety(scored)

    def _preview_incomplete(self, exc: InvalidResponse) -> None:
        self.total_label.setText(f"{self.instrument.short_name}: incomplete")
        set_chip(self.band_label, "", None)
        self.safety_label.hide()
        answered = [r for r in self.responses() if r not in (None, "")]
        if isinstance(exc, InvalidItemName) and "has no name" in exc.message:
            self.status_label.setText(f"Not yet named: {self.instrument.item_name_words()} {exc.item}")
            return
        if self.instrument.named_items and not answered:
            words = self.instrument.item_name_words(2)
            self.status_label.setText(f"Not yet rated: rate the {words} the patient names (at least one)")
            return
        if "missing" in exc.message or not answered:
            blank = [str(i.number) for i, r in zip(self.instrument.items, self.responses()) if r in (None, "")]
            self.status_label.setText(f"Not yet answered: item{'s' if len(blank) != 1 else ''} {', '.join(blank)}")
            return
        self.status_label.setText("")
        name = self.field_for(exc.field)
        if name:
            self.errors[name].setText(field_message(exc, exc.field))
            self.errors[name].show()

    def _preview_safety(self, scored) -> None:
        flags = [f for f in scored.flags if f.kind == "safety"]
        self.safety_label.setVisible(bool(flags))
        if flags:
            self.safety_label.setText(
                "⚠ Safety item positive. "
                + flags[0].reason
                + ". After saving you will be asked to record what was done."
            )

    # --- saving -------------------------------------------------------------------------------

    def write(self, values: dict[str, Any]) -> bool | None:
        responses, taken_at, note = self.responses(), values["taken_at"], values["note"]
        names = self.item_names()
        if self.existing is None:
            self._record(responses, names, taken_at, note)
            return None
        return self._correct(responses, names, taken_at, note)

    def _record(self, responses, names, taken_at, note) -> None:
        patient_id, instrument_id = self.patient.id, self.instrument.id
        run_write(
            self.context,
            lambda actor: measurements.record_measurement(
                actor, patient_id, instrument_id, responses, taken_at=taken_at, note=note, item_names=names
            ),
            patient_id=patient_id,
            kinds=("measurement",),
            undo=lambda m: UndoEntry(
                f"Record {self.instrument.short_name}",
                patient_id,
                ("measurement",),
                lambda actor: measurements.delete_measurement(actor, m.id, m.version),
            ),
            on_done=self._saved,
            on_error=self.show_failure,
        )

    def _correct(self, responses, names, taken_at, note) -> bool | None:
        old = self.existing
        if old is None:  # only a dialog opened to correct a measurement corrects
            return None
        unchanged = _normalised(self.instrument, responses, names) == (
            tuple(old.responses),
            None if old.item_names is None else tuple(old.item_names),
        )
        if unchanged and taken_at == old.taken_at and (note or None) == (old.note or None):
            self.set_busy(False)
            self.accept()
            return None
        if not confirm(
            self,
            "Correct measurement",
            f"Save the corrected {self.instrument.short_name} of {old.taken_at:%d %b %Y %H:%M}?",
            detail="The previous values stay in the audit trail; Ctrl+Z puts them back.",
            action="Save correction",
        ):
            return False
        run_write(
            self.context,
            lambda actor: measurements.update_measurement(
                actor, old.id, old.version, responses=responses, taken_at=taken_at, note=note or "", item_names=names
            ),
            patient_id=self.patient.id,
            kinds=("measurement",),
            undo=lambda m: UndoEntry(
                f"Correct {self.instrument.short_name}",
                self.patient.id,
                ("measurement",),
                lambda actor: measurements.update_measurement(
                    actor,
                    m.id,
                    m.version,
                    responses=old.responses,
                    taken_at=old.taken_at,
                    note=old.note or "",
                    item_names=old.item_names,
                ),
            ),
            on_done=self._saved,
            on_error=self.show_failure,
        )
        return None

    def _saved(self, result: MeasurementResult) -> None:
        self.result_row = result
        self.context.settings.setValue(LAST_INSTRUMENT_KEY, result.instrument)
        self.succeeded(result)
        if self.after_save:
            self.after_save(result)


def _normalised(inst: Instrument, responses: list, names: list | None = None) -> tuple | None:
    """(responses, item names) as the service stores them (typed numbers arrive as text
    from the form)."""
    try:
        scored = instruments.score(inst.id, responses, names)
    except TeamDashError:
        return None
    return tuple(scored.responses), scored.item_names


def delete_measurement(
    parent: QWidget | None,
    context: AppContext,
    measurement: MeasurementResult,
    on_done: Callable[[dict], None] | None = None,
) -> bool:
    """Ask, then delete. The audit trail keeps a full copy; Ctrl+Z restores it."""
    inst = instruments.get(measurement.instrument)
    if not confirm(
        parent,
        "Delete measurement",
        f"Delete the {inst.short_name} of {measurement.taken_at:%d %b %Y %H:%M} "
        f"(total {inst.format(measurement.total)})?",
        detail="The audit trail keeps a copy of the deleted measurement; Ctrl+Z restores it.",
        action="Delete",
        destructive=True,
    ):
        return False
    run_write(
        context,
        lambda actor: measurements.delete_measurement(actor, measurement.id, measurement.version),
        patient_id=measurement.patient,
        kinds=("measurement",),
        undo=lambda before: UndoEntry(
            f"Delete {inst.short_name}",
            measurement.patient,
            ("measurement",),
            lambda actor: measurements.restore_measurement(actor, before),
        ),
        on_done=on_done,
        on_error=lambda exc: show_error(parent, exc),
    )
    return True


def open_measurement_dialog(
    parent: QWidget | None,
    context: AppContext,
    patient: PatientDetail,
    *,
    instrument_id: str | None = None,
    existing: MeasurementResult | None = None,
    discipline: str | None = None,
) -> MeasurementDialog:
    """Open the form; a saved administration with a positive safety item leads straight
    to its acknowledgement (which the clinician may postpone: the flag then stays open)."""

    def after_save(result: MeasurementResult) -> None:
        if result.safety_open:
            show_dialog(AcknowledgeDialog(context, patient, result, parent))

    dialog = MeasurementDialog(
        context,
        patient,
        instrument_id=instrument_id,
        existing=existing,
        parent=parent,
        after_save=after_save,
        discipline=discipline,
    )
    return show_dialog(dialog)
