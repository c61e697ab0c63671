"""The Measurements sheet: one row per administration, the items in Item 1 … Item n
(or a total kept from before TeamDash), and for an instrument whose items the patient
names (the PSFS activities) the names in Item 1 name … (or Activity 1 …). Each row is checked by the measurement
service's own checks (``measurements.score_new``, ``check_taken_at``, the duplicate
rule) and the good ones stored by ``measurements.record_many``. The loop is the hot
path of a large import: no per-row objects beyond the row's values."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable
from typing import Any

from teamdash import validation, words
from teamdash.clinical import instruments
from teamdash.errors import InvalidItemName, InvalidResponse, ValidationError
from teamdash.exchange.importing.cells import CellProblem, as_datetime, as_response, as_text
from teamdash.exchange.importing.context import BATCH, Kind, Plan, Run, bare, problem_kind
from teamdash.exchange.importing.fields import PATIENT_ALIASES, field
from teamdash.exchange.importing.reading import Table
from teamdash.exchange.importing.report import Problem, SheetReport
from teamdash.services import measurements

FIELDS = (
    field("patient", "Patient ID", True, *PATIENT_ALIASES),
    field(
        "instrument", "Instrument", True, "instrument id", "measure id", "questionnaire", "measure", "outcome measure"
    ),
    field(
        "taken_at",
        "Taken at",
        True,
        "date taken",
        "taken on",
        "measured at",
        "measured on",
        "date time",
        "datetime",
        "date",
        "when",
    ),
    field("total", "Total", False, "score", "total score"),
    field("note", "Note", False, "notes", "comment", "comments"),
    field("entered_by", "Entered by", False, "recorded by", "rater", "assessor"),
)


def _response(value: Any) -> Any:
    return None if value is None or value == "" else as_response(value)


def _all_none(columns: list[int]) -> Callable[[list], bool]:
    """A test that a row's cells in these columns are all None (blank as read): the
    common case, checked without a loop over the cells."""
    if not columns:
        return lambda values: True
    if len(columns) == 1:
        only = columns[0]
        return lambda values: values[only] is None
    pick, width = operator.itemgetter(*columns), len(columns)
    return lambda values: pick(values).count(None) == width


MOMENTS_KEPT = 100_000  # distinct time cells remembered by one sheet (a visit's measures share one)


@functools.cache
def max_items() -> int:
    """The most items an instrument has: the item columns a sheet may map."""
    return max(len(i.items) for i in instruments.library().values())


@functools.cache
def max_named() -> int:
    """The most items an instrument whose items the patient names has: the item-name
    columns a sheet may map."""
    return max((len(i.items) for i in instruments.library().values() if i.named_items), default=0)


class _Sheet:
    """One measurements sheet being loaded: its columns, the rows seen so far."""

    def __init__(self, run: Run, plan: Plan, sheet: SheetReport):
        self.run = run
        self.plan = plan
        self.sheet = sheet
        m = plan.mapping
        self.headers = plan.headers
        self.items = sorted((int(name[5:]), i) for name, i in m.items() if name.startswith("item_"))
        self.item_column = {n: plan.headers[i] for n, i in self.items}
        # the columns of the patient's names for the items (PSFS activities), by item number
        self.name_columns = sorted((int(name[5:]), i) for name, i in m.items() if name.startswith("name_"))
        self.name_column = {n: plan.headers[i] for n, i in self.name_columns}
        self._namers: dict[str, Callable[[list], tuple | None]] = {}
        self.p_col, self.i_col, self.t_col = m["patient"], m["instrument"], m["taken_at"]
        self.total_col, self.note_col, self.by_col = m.get("total"), m.get("note"), m.get("entered_by")
        self.first_row: dict[tuple, int] = {}  # (clinic ID, instrument, taken at) -> row of this file
        self.recorded: dict[int, set[tuple[str, dt.datetime]]] = {}  # per patient: already in the database
        self._columns: dict[int, tuple[list[int | None], list[tuple[int, int]]]] = {}
        self._instruments: dict[str, str | None] = {}  # as written -> id (None: unknown)
        self._readers: dict[
            str, tuple[Callable[[list], tuple], list[tuple[int, int]], Callable[[list], bool], int, str]
        ] = {}
        # What an item cell holds that the scorer takes as it is (anything else is converted).
        self.cell_types = frozenset({str, int, float, type(None)})
        self.batch: list[tuple] = []
        self.now_text = str(run.now)
        self.moments: dict[str, dt.datetime] = {}  # time cells read and checked (``taken_at``)

    def problem(self, problems: list[Problem], number: int, column: int | None, reason: str, kind: str) -> None:
        problems.append(
            Problem(self.plan.sheet, number, None if column is None else self.headers[column], reason, kind)
        )

    def item_columns(self, n: int) -> tuple[list[int | None], list[tuple[int, int]]]:
        """For an instrument of ``n`` items: the column of each item (None when not
        mapped), and the mapped item columns beyond ``n`` (which must stay empty)."""
        found = self._columns.get(n)
        if found is None:
            by_item = dict(self.items)
            found = ([by_item.get(k) for k in range(1, n + 1)], [(k, i) for k, i in self.items if k > n])
            self._columns[n] = found
        return found

    def reader(
        self, instrument_id: str
    ) -> tuple[Callable[[list], tuple], list[tuple[int, int]], Callable[[list], bool], int, str]:
        """For an instrument: a function from a row to its responses (blank for an
        unmapped item), the item columns beyond its items and a quick test that none of
        them holds anything (a cell read as None), its item count and name."""
        found = self._readers.get(instrument_id)
        if found is None:
            inst = instruments.get(instrument_id)
            n = len(inst.items)
            within, beyond = self.item_columns(n)
            get: Callable[[list], tuple]
            if n > 1 and None not in within:
                get = operator.itemgetter(*within)
            elif n == 1 and within[0] is not None:

                def get(values: list, i: int = within[0]) -> tuple:
                    return (values[i],)

            else:

                def get(values: list, within: list[int | None] = within) -> tuple:
                    return tuple([None if i is None else values[i] for i in within])

            found = self._readers[instrument_id] = (get, beyond, _all_none([i for _k, i in beyond]), n, inst.short_name)
        return found

    def namer(self, instrument_id: str) -> Callable[[list], tuple | None]:
        """For an instrument: a function from a row to the names it gives the items,
        for the scorer to check. An instrument whose items the patient names gets one
        per item (blank when its column is not mapped or empty); any other gets the
        name cells only when one is filled (the scorer refuses names for it), else None."""
        found = self._namers.get(instrument_id)
        if found is None:
            inst = instruments.get(instrument_id)
            columns = dict(self.name_columns)
            if not self.name_columns:

                def found(values: list) -> tuple | None:
                    return None

            elif inst.named_items:
                within = [columns.get(k) for k in range(1, len(inst.items) + 1)]

                def found(values: list, within: list[int | None] = within) -> tuple | None:
                    return tuple([None if i is None else as_text(values[i]) for i in within])

            else:
                every = [i for _n, i in self.name_columns]
                empty = _all_none(every)

                def found(values: list, every: list[int] = every) -> tuple | None:
                    if empty(values):
                        return None
                    names = tuple([as_text(values[i]) for i in every])
                    return names if any(names) else None

            self._namers[instrument_id] = found
        return found

    def score_column(self, exc: InvalidResponse, values: list) -> str | None:
        """The column a scoring complaint is about: the item's, or its name's (a name
        given for an instrument that takes none: the first such name)."""
        if isinstance(exc, InvalidItemName) and exc.item is not None:
            return self.name_column.get(exc.item) or self.item_column.get(exc.item)
        if exc.item is not None:
            return self.item_column.get(exc.item)
        named = [n for n, i in self.name_columns if as_text(values[i])]
        return self.name_column[named[0]] if named and not instruments.get(exc.instrument).named_items else None

    def row(self, number: int, values: list, problems: list[Problem]) -> tuple | None:
        """Check one row; its problems go to ``problems``. The row to insert, or None
        (bad, or its patient is only in this file and nothing is being written)."""
        run = self.run
        clinic_id = as_text(values[self.p_col])
        patient = None
        if not clinic_id:
            self.problem(problems, number, self.p_col, "the patient's clinic ID is required", "missing")
        else:
            patient = run.patient(clinic_id)
            if patient is None:
                exc = run.unknown_patient(clinic_id)
                self.problem(problems, number, self.p_col, exc.reason, exc.kind)
        name = values[self.i_col]
        instrument_id = self._instruments.get(name) if type(name) is str else None
        if instrument_id is not None:
            pass  # seen before (the common case)
        elif not as_text(name):
            self.problem(problems, number, self.i_col, "the instrument is required", "missing")
        else:
            name = as_text(name) or ""
            instrument_id = self._instruments[values[self.i_col]] = run.instrument_id(name)
            if instrument_id is None:
                known = ", ".join(sorted(instruments.library()))
                self.problem(
                    problems, number, self.i_col, f"unknown instrument {name!r} (known: {known})", "unknown_instrument"
                )
        taken_at = self.taken_at(number, values[self.t_col], problems)
        if taken_at is not None and patient is not None:
            try:
                measurements.check_after_birth(taken_at, patient[1])
            except ValidationError as exc:
                self.problem(problems, number, self.t_col, bare(exc), "impossible_date")
                taken_at = None
        scored = self.score(number, values, problems, instrument_id) if instrument_id is not None else None
        note = None
        if self.note_col is not None:
            try:
                note = validation.note(as_text(values[self.note_col]))
            except ValidationError as exc:
                self.problem(problems, number, self.note_col, bare(exc), "invalid")
        entered_by = None
        if self.by_col is not None:
            who = as_text(values[self.by_col])
            if who:
                try:
                    entered_by = run.staff_id(who)
                except CellProblem as exc:
                    self.problem(problems, number, self.by_col, exc.reason, exc.kind)
        if problems or patient is None or instrument_id is None or taken_at is None or scored is None:
            return None
        return self.new(
            number, problems, clinic_id or "", patient[0], instrument_id, taken_at, scored, note, entered_by
        )

    def taken_at(self, number: int, cell: Any, problems: list[Problem]) -> dt.datetime | None:
        """The time a cell gives, checked against now (``check_taken_at`` without the
        patient's birth); None with the problem recorded. A time written before is
        read once: the measures of a visit share it."""
        known = self.moments.get(cell) if type(cell) is str else None
        if known is not None:
            return known
        try:
            taken_at = as_datetime(cell)
        except CellProblem as exc:
            self.problem(problems, number, self.t_col, exc.reason, exc.kind)
            return None
        if taken_at is None:
            self.problem(problems, number, self.t_col, "the date taken is required", "missing")
            return None
        try:
            taken_at = measurements.check_taken_at(taken_at, None, self.run.now)
        except ValidationError as exc:
            self.problem(problems, number, self.t_col, bare(exc), "impossible_date")
            return None
        if type(cell) is str and len(self.moments) < MOMENTS_KEPT:
            self.moments[cell] = taken_at
        return taken_at

    def new(
        self,
        number: int,
        problems: list[Problem],
        clinic_id: str,
        pid: int | None,
        instrument_id: str,
        taken_at: dt.datetime,
        scored: dict,
        note: str | None,
        entered_by: int | None,
    ) -> tuple | None:
        """A good row: refused when it repeats one of this file or one recorded."""
        key = (clinic_id, instrument_id, taken_at)
        earlier = self.first_row.get(key)
        if earlier is not None:
            self.problem(
                problems,
                number,
                self.t_col,
                f"the same {instruments.get(instrument_id).short_name} at {taken_at:%Y-%m-%d %H:%M} "
                f"is already on row {earlier} of this file (duplicate measurement)",
                "duplicate",
            )
            return None
        if pid is not None:
            recorded = self.recorded.get(pid)
            if recorded is None:
                recorded = self.recorded[pid] = measurements.recorded([pid])[pid]
            if (instrument_id, taken_at) in recorded:
                exc = measurements.duplicate(instrument_id, taken_at, clinic_id)
                self.problem(problems, number, self.t_col, bare(exc), "duplicate")
                return None
        self.first_row[key] = number
        if scored["safety"]:  # its acknowledgement (a later sheet) names it
            self.run.records["safety_measurements"][key] = None
        if pid is None:
            return None  # the patient is in this file but is not being written (the import fails anyway)
        # measurements.INSERT_FIELDS order, as ``measurements.scored_row`` builds it; the
        # moments as the text the database stores (the driver's own conversion is slower)
        return (
            pid,
            instrument_id,
            str(taken_at),
            scored["responses"],
            scored["total"],
            scored["band"],
            scored["band_severity"],
            scored["details"],
            scored["safety"],
            entered_by,
            self.now_text,
            note,
            "import",
            scored.get("item_names"),  # JSON text; absent for a total kept from before TeamDash
        )

    def score(self, number: int, values: list, problems: list[Problem], instrument_id: str) -> dict | None:
        """The responses scored by the measurement service (and a total beside them
        checked), or None with the problems recorded."""
        get, beyond, beyond_empty, n, name = self.reader(instrument_id)
        earlier = len(problems)  # this row's other problems: still score it, to report all of them
        # The cells as read (the scorer reads text and numbers itself; each distinct
        # answer set is checked and scored once, however it is written).
        responses: tuple[Any, ...] = get(values)
        if not self.cell_types.issuperset(map(type, responses)):
            responses = tuple(map(_response, responses))  # a time of day in a date cell: "HH:MM"
        for item, index in () if beyond_empty(values) else beyond:
            if values[index] is not None and values[index] != "":
                problems.append(
                    Problem(
                        self.plan.sheet,
                        number,
                        self.item_column[item],
                        f"{name} has {words.plural(n, 'item')}; this column must be empty",
                        "out_of_range",
                    )
                )
        total = None if self.total_col is None else values[self.total_col]
        if len(problems) > earlier:
            return None
        try:
            return measurements.score_new(
                instrument_id, responses, None if total == "" else total, self.namer(instrument_id)(values)
            )
        except InvalidResponse as exc:
            column = self.score_column(exc, values)
            problems.append(Problem(self.plan.sheet, number, column, exc.message, "out_of_range"))
        except ValidationError as exc:
            column = self.headers[self.total_col] if exc.field == "total" and self.total_col is not None else None
            problems.append(
                Problem(self.plan.sheet, number, column, bare(exc) if column else exc.message, problem_kind(exc))
            )
        return None

    def flush(self) -> None:
        if self.batch and self.run.writing:
            measurements.record_many(self.run.actor, self.batch, details=self.run.details)
        self.batch = []  # a repeat of them later in the file is found by ``first_row``


def load(run: Run, table: Table, plan: Plan, sheet: SheetReport) -> None:
    loader = _Sheet(run, plan, sheet)
    for number, values, problems in run.rows(table, plan, sheet):
        row = None if problems else loader.row(number, values, problems)
        if problems:
            run.problem(sheet, problems, plan, values, number)
            continue
        sheet.imported += 1
        if row is not None:
            loader.batch.append(row)
            if len(loader.batch) >= BATCH:
                loader.flush()
    loader.flush()


KIND = Kind(
    name="measurements",
    label="Measurements",
    nouns=("measurement", "measurements"),
    sheet_names=("measurements", "measurement", "scores", "outcomes"),
    fields=FIELDS,
    load=load,
    items=max_items,
    names=max_named,
)
