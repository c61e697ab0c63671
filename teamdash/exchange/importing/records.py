"""The loader shared by the sheets of a patient's plans and notes (goals, check-ins,
decisions, action items, safety acknowledgements, graded activity, courses, plan items,
sleep diary, flares, support network, return to work). Each sheet kind is a
``RecordSheet``: how its cells are read, the service check of a row, which fields
identify a record (a row already recorded is a duplicate), what the row belongs to (the
patient, or a plan named by its fields), and the service's bulk path.

Rows of this file are remembered by the patient's clinic ID and their key, so a later
sheet can name them (a plan's weeks, a check-in's decisions) before they have an id,
and a duplicate within the file is found by its row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from teamdash.clinical import disciplines
from teamdash.errors import InvalidResponse, ValidationError
from teamdash.exchange.importing.cells import (
    CellProblem,
    as_bool,
    as_date,
    as_datetime,
    as_response,
    as_word,
)
from teamdash.exchange.importing.context import BATCH, Kind, Plan, Row, Run
from teamdash.exchange.importing.fields import FieldSpec
from teamdash.exchange.importing.reading import Table
from teamdash.exchange.importing.report import Problem, SheetReport
from teamdash.services import checkins
from teamdash.services.auth import Actor

# (the patient's clinic ID, its id: None when it is in this file but not being written)
Patient = tuple[str, int | None]
Reader = Callable[[Run, Row, str, Patient], Any]


# --- readers: a cell as the value a service check takes (None: blank or a problem) -------------


def text(run: Run, row: Row, name: str, patient: Patient) -> Any:
    return row.text(name)


def number(run: Run, row: Row, name: str, patient: Patient) -> Any:
    """A number as written (the service checks it): text in a CSV, a number in a workbook."""
    value = row.get(name)
    return None if value is None or value == "" else value


def percent(run: Run, row: Row, name: str, patient: Patient) -> Any:
    """Percent points: 40, '40' or '40 %' (a workbook's 40 % cell is read as 40)."""
    value = number(run, row, name, patient)
    if isinstance(value, str) and value.strip().endswith("%"):
        return value.strip()[:-1].strip()
    return value


def date(run: Run, row: Row, name: str, patient: Patient) -> Any:
    return row.read(name, as_date)


def moment(run: Run, row: Row, name: str, patient: Patient) -> Any:
    return row.read(name, as_datetime)


def yes_no(run: Run, row: Row, name: str, patient: Patient) -> Any:
    return row.read(name, as_bool)


def word(run: Run, row: Row, name: str, patient: Patient) -> Any:
    return as_word(row.get(name))


def clock_time(run: Run, row: Row, name: str, patient: Patient) -> Any:
    """A time of day as HH:MM text (a time cell, or text the service checks)."""
    value = row.get(name)
    if value is None or value == "":
        return None
    return value.strip() if isinstance(value, str) else as_response(value)


def staff(run: Run, row: Row, name: str, patient: Patient) -> Any:
    return run.staff_of(row, name)


def staff_list(run: Run, row: Row, name: str, patient: Patient) -> Any:
    """Staff members by name or username, separated by commas or semicolons."""
    out = []
    for part in (row.text(name) or "").replace(";", ",").split(","):
        if part.strip():
            try:
                out.append(run.staff_id(part))
            except CellProblem as exc:
                row.fail(name, exc.reason, exc.kind)
    return out


def discipline(run: Run, row: Row, name: str, patient: Patient) -> Any:
    return run.discipline(row.text(name))


def instrument(run: Run, row: Row, name: str, patient: Patient) -> Any:
    """An instrument by its id, short name or name (unknown: a problem)."""
    given = row.text(name)
    if not given:
        return None
    found = run.instrument_id(given)
    if found is None:
        row.fail(name, f"unknown instrument {given!r}", "unknown_instrument")
    return found


def plan_category(run: Run, row: Row, name: str, patient: Patient) -> Any:
    """A plan category by its code or its label ('Caffeine cut-off')."""
    given = row.text(name)
    if not given:
        return None
    by_label = {
        as_word(disciplines.plan_category_label(c)): c for d in disciplines.all_disciplines() for c in d.plan_categories
    }
    code = as_word(given) or ""
    return by_label.get(code, code)


def checkin(run: Run, row: Row, name: str, patient: Patient) -> Any:
    """The patient's check-in held on the day given (a day without one: a problem)."""
    day = row.read(name, as_date)
    if day is None:
        return None
    clinic_id, pid = patient
    if pid is not None and pid not in run.checkin_days:  # read once per patient (the check-ins sheet came first)
        run.checkin_days[pid] = checkins.held([pid])
    found = run.checkin_days[pid].get((pid, day)) if pid is not None else None
    if found is not None:  # recorded (or written by this import already)
        return found
    if (clinic_id, day) in run.records["checkins"]:
        return None  # in this file, not being written (the import fails anyway)
    if (clinic_id, day) in run.bad_records["checkins"]:
        row.fail(name, f"the check-in of {day.isoformat()} is not imported: its row has problems", "invalid")
    else:
        row.fail(name, f"there is no check-in on {day.isoformat()} for {clinic_id}", "invalid")
    return None


# --- a record sheet --------------------------------------------------------------------------


@dataclass(frozen=True)
class Parent:
    """A row belongs to a row of another sheet (a week to its plan), named by fields."""

    kind: str  # the parent sheet's kind ("graded_plans")
    # this sheet's fields that name it and how each is read, in the order of the parent's key
    fields: tuple[tuple[str, Reader], ...]
    what: str  # "graded activity plan"
    # patient ids -> {(patient id, *the parent's key): parent id}: parents already recorded
    existing: Callable[[list[int]], dict[tuple, int]]


@dataclass(frozen=True)
class RecordSheet:
    name: str
    label: str
    nouns: tuple[str, str]
    sheet_names: tuple[str, ...]
    fields: tuple[FieldSpec, ...]  # the patient's field first
    readers: dict[str, Reader]
    validate: Callable[[dict], dict]  # the service's check of one row's values
    key: tuple[str, ...]  # clean fields that identify a record of its owner
    # owner ids -> {(owner id, *key): id}: records already in the database
    existing: Callable[[list[int]], dict[tuple, int]]
    # (actor, rows with their owner, file details) -> the new ids ([] when nothing refers to them)
    write: Callable[[Actor, list[dict], dict], list[int]]
    owner: str = "patient"  # the column of the owner in a clean row
    parent: Parent | None = None
    refers: bool = False  # other sheets name its rows: keep their ids
    date_fields: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()  # headers TeamDash computes (exported, never imported)
    items: tuple[str, ...] = ()  # the fields of an instrument's items 1…n (sleep diary)
    duplicate: str = "already recorded"  # how the message calls a duplicate

    def kind(self) -> Kind:
        return Kind(
            name=self.name,
            label=self.label,
            nouns=self.nouns,
            sheet_names=self.sheet_names,
            fields=self.fields,
            load=lambda run, table, plan, sheet: _Loader(self, run, plan, sheet).load(table),
            derived=self.derived,
        )


@dataclass
class _Loader:
    spec: RecordSheet
    run: Run
    plan: Plan
    sheet: SheetReport
    first_row: dict[tuple, int] = field(default_factory=dict)  # (clinic ID, *owner names, *key) -> row
    recorded: dict[int, dict[tuple, int]] = field(default_factory=dict)  # owner id -> its records' keys
    parents: dict[int, dict[tuple, int]] = field(default_factory=dict)  # patient id -> its parents by key
    batch: list[dict] = field(default_factory=list)
    keys: list[tuple] = field(default_factory=list)  # the batch's keys, for the ids that come back

    def load(self, table: Table) -> None:
        for row in self.run.checked_rows(table, self.plan, self.sheet):
            self.row(row)
        self.flush()

    def row(self, row: Row) -> None:
        spec, run = self.spec, self.run
        found = run.patient_of(row) if row.ok else None
        clinic_id = row.text("patient") or ""
        patient: Patient = (clinic_id, found[0] if found else None)
        owner, names = (patient[1], ()) if spec.parent is None else self.parent_of(row, patient)
        values: dict[str, Any] = {}
        if row.ok:
            for name, read in spec.readers.items():
                if row.has(name):
                    value = read(run, row, name, patient)
                    if value is not None and value != "":
                        values[name] = value
        clean = self.checked(row, values) if row.ok else None
        # What identifies the record among its owner's (a bad row's too: later rows that
        # name it are told why it is missing), and in this file.
        own_key = tuple(_keyed((clean if clean is not None else values).get(k)) for k in spec.key)
        key = (clinic_id, *names, *own_key)
        if clean is not None and row.ok:
            self.duplicates(row, key, owner, own_key)
        if clean is None or not row.ok:
            run.bad_records[spec.name].add(key)
            run.reject(self.sheet, row)
            return
        self.first_row[key] = row.number
        self.sheet.imported += 1
        writing = run.writing and owner is not None and found is not None and found[0] is not None
        if spec.refers:
            run.records[spec.name][key] = None  # known to this run; its id once written
        if writing:
            self.batch.append({**clean, spec.owner: owner})
            self.keys.append(key)
            if len(self.batch) >= BATCH:
                self.flush()

    def checked(self, row: Row, values: dict) -> dict | None:
        """The service's check of the row: its clean values, or None with the problem."""
        spec = self.spec
        try:
            clean = spec.validate(values)
        except InvalidResponse as exc:  # an item of the instrument the rows are scored with
            item = spec.items[exc.item - 1] if exc.item and exc.item <= len(spec.items) else None
            row.problems.append(Problem(row.plan.sheet, row.number, row.plan.column(item), exc.message, "out_of_range"))
            return None
        except ValidationError as exc:
            row.invalid(exc, spec.date_fields)
            return None
        return clean

    def parent_of(self, row: Row, patient: Patient) -> tuple[int | None, tuple]:
        """The parent row a row names (its id: None when it is in this file and not
        being written), and the names as read; a parent that cannot be found is a problem."""
        parent = self.spec.parent
        assert parent is not None
        names = []
        for name, read in parent.fields:
            value = read(self.run, row, name, patient) if row.ok else None
            if value is None and row.ok:
                row.fail(name, f"the {parent.what} is required", "missing")
            names.append(_keyed(value))
        if not row.ok:
            return None, tuple(names)
        clinic_id, pid = patient
        if pid is not None:  # recorded (or written by this import already)
            if pid not in self.parents:
                self.parents[pid] = parent.existing([pid])
            found = self.parents[pid].get((pid, *names))
            if found is not None:
                return found, tuple(names)
        key = (clinic_id, *names)
        if key in self.run.records[parent.kind]:
            return None, tuple(names)  # in this file, not being written (the import fails anyway)
        first = parent.fields[0][0]
        described = ", ".join(_shown(v) for v in names)
        if key in self.run.bad_records[parent.kind]:
            row.fail(first, f"its {parent.what} ({described}) is not imported: its row has problems")
        else:
            row.fail(first, f"there is no {parent.what} {described} for {clinic_id}", "invalid")
        return None, tuple(names)

    def duplicates(self, row: Row, key: tuple, owner: int | None, own_key: tuple) -> None:
        """A row that repeats one of this file, or one recorded for its owner."""
        spec = self.spec
        where = spec.key[0] if spec.key else (spec.parent.fields[-1][0] if spec.parent else None)
        if key in self.first_row:
            row.fail(
                where,
                f"the same {spec.nouns[0]} is already on row {self.first_row[key]} of this file "
                f"(duplicate {spec.nouns[0]})",
                "duplicate",
            )
            return
        if owner is None:
            return
        if owner not in self.recorded:
            self.recorded[owner] = spec.existing([owner])
        if (owner, *own_key) in self.recorded[owner]:
            row.fail(
                where,
                f"this {spec.nouns[0]} is {spec.duplicate} for {key[0]} (duplicate {spec.nouns[0]})",
                "duplicate",
            )

    def flush(self) -> None:
        if self.batch and self.run.writing:
            ids = self.spec.write(self.run.actor, self.batch, self.run.details)
            if self.spec.refers:
                self.run.records[self.spec.name].update(zip(self.keys, ids))
        self.batch = []
        self.keys = []


def _keyed(value: Any) -> Any:
    """A key value as stored (a date-time to the second)."""
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None)
    return value


def _shown(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
