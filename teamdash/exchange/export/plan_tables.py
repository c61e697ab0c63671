"""The rest of a patient's record, for the long workbook: decisions, safety
acknowledgements, graded activity plans and their weeks, courses and their practice
weeks, plan items, sleep-diary nights, flares, the support network and the phases of the
return-to-work plan. One tidy sheet each, in the layout ``teamdash import`` reads back.

De-identified, each keeps its numbers, vocabularies and codes and drops every column a
person typed freely (activities, course names, items, notes, triggers, names,
relationships, contact details, duties, actions taken); dates become days or weeks since
programme start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import peewee as pw

from teamdash.clinical import disciplines
from teamdash.exchange.export.job import Job
from teamdash.exchange.export.sheets import (
    BOOL,
    DATE,
    DATETIME,
    INT,
    LABEL,
    NUMBER,
    PERCENT,
    TEXT,
    Book,
    Column,
    TableSheet,
)
from teamdash.storage.queries import tuples

WEEK = "0.0"  # weeks since programme start, one decimal


@dataclass(frozen=True)
class RecordSheet:
    """One sheet: its title, its query, and per variant its columns and how a row of
    the query becomes a row of the sheet."""

    title: str
    query: Callable[[Job], pw.ModelSelect]
    columns: Callable[[Job], list[Column]]
    identified: Callable[[Job, tuple], list]
    deidentified: Callable[[Job, tuple], list]


def _patient(job: Job) -> Column:
    return Column(job.patient_header, LABEL)


def _week(job: Job, pid: int, when: object) -> float | None:
    return job.relative(pid, when)[1]


# --- decisions and safety acknowledgements ------------------------------------------------------


def _decision_columns(job: Job) -> list[Column]:
    if job.deidentify:
        return [
            _patient(job),
            Column("Check-in (week)", NUMBER, WEEK),
            Column("Made by", LABEL),
            Column("Made (week)", NUMBER, WEEK),
        ]
    return [
        _patient(job),
        Column("Check-in", DATE),
        Column("Decision", TEXT),
        Column("Made by", LABEL),
        Column("Made at", DATETIME),
    ]


DECISIONS = RecordSheet(
    "Decisions",
    lambda job: job.select.decision_query(),
    _decision_columns,
    lambda job, r: [job.patient_label(r[0]), r[1], r[2], job.staff_label(r[3]), r[4]],
    lambda job, r: [job.patient_label(r[0]), _week(job, r[0], r[1]), job.staff_label(r[3]), _week(job, r[0], r[4])],
)


def _safety_columns(job: Job) -> list[Column]:
    if job.deidentify:
        return [
            _patient(job),
            Column("Instrument", LABEL),
            Column("Day", INT),
            Column("Week", NUMBER, WEEK),
            Column("Acknowledged by", LABEL),
            Column("Acknowledged (week)", NUMBER, WEEK),
        ]
    return [
        _patient(job),
        Column("Instrument", LABEL),
        Column("Taken at", DATETIME),
        Column("Acknowledged by", LABEL),
        Column("Acknowledged at", DATETIME),
        Column("Action taken", TEXT),
    ]


SAFETY = RecordSheet(
    "Safety acknowledgements",
    lambda job: job.select.safety_query(),
    _safety_columns,
    lambda job, r: [job.patient_label(r[0]), r[1], r[2], r[4], r[5], r[6]],
    lambda job, r: [
        job.patient_label(r[0]),
        r[1],
        *job.relative(r[0], r[2]),
        job.staff_label(r[3]),
        _week(job, r[0], r[5]),
    ],
)


# --- PT: graded activity ------------------------------------------------------------------------


def _graded_plan_columns(job: Job) -> list[Column]:
    columns = [_patient(job)]
    if not job.deidentify:
        columns.append(Column("Activity", LABEL))
    columns += [
        Column("Unit", LABEL),
        Column("Baseline tolerance", NUMBER),
        Column("Current level", NUMBER),
        Column("Target level", NUMBER),
        Column("Weekly increment", NUMBER),
        Column("Started (week)", NUMBER, WEEK) if job.deidentify else Column("Started on", DATE),
        Column("Status", LABEL),
    ]
    return columns


GRADED_PLANS = RecordSheet(
    "Graded activity plans",
    lambda job: job.select.graded_plan_query(),
    _graded_plan_columns,
    lambda job, r: [job.patient_label(r[0]), *r[1:]],
    lambda job, r: [job.patient_label(r[0]), *r[2:7], _week(job, r[0], r[7]), r[8]],
)


def _graded_week_columns(job: Job) -> list[Column]:
    if job.deidentify:
        head = [_patient(job), Column("Plan started (week)", NUMBER, WEEK), Column("Week", NUMBER, WEEK)]
    else:
        head = [_patient(job), Column("Activity", LABEL), Column("Plan started on", DATE), Column("Week start", DATE)]
    tail = [
        Column("Planned level", NUMBER),
        Column("Achieved level", NUMBER),
        Column("Adherence", PERCENT, "0%"),
    ]
    return head + tail + ([] if job.deidentify else [Column("Note", TEXT)])


GRADED_WEEKS = RecordSheet(
    "Graded activity weeks",
    lambda job: job.select.graded_week_query(),
    _graded_week_columns,
    lambda job, r: [job.patient_label(r[0]), *r[1:]],
    lambda job, r: [job.patient_label(r[0]), _week(job, r[0], r[2]), _week(job, r[0], r[3]), *r[4:7]],
)


# --- Psychology: courses ------------------------------------------------------------------------


def _course_columns(job: Job) -> list[Column]:
    columns = [_patient(job)]
    if not job.deidentify:
        columns.append(Column("Course", LABEL))
    columns += [
        Column("Modules total", INT),
        Column("Modules done", INT),
        Column("Started (week)", NUMBER, WEEK) if job.deidentify else Column("Started on", DATE),
        Column("Status", LABEL),
    ]
    return columns


COURSES = RecordSheet(
    "Courses",
    lambda job: job.select.course_query(),
    _course_columns,
    lambda job, r: [job.patient_label(r[0]), *r[1:]],
    lambda job, r: [job.patient_label(r[0]), r[2], r[3], _week(job, r[0], r[4]), r[5]],
)


def _practice_columns(job: Job) -> list[Column]:
    if job.deidentify:
        head = [_patient(job), Column("Course started (week)", NUMBER, WEEK), Column("Week", NUMBER, WEEK)]
    else:
        head = [_patient(job), Column("Course", LABEL), Column("Course started on", DATE), Column("Week start", DATE)]
    return [*head, Column("Minutes", INT)]


PRACTICE = RecordSheet(
    "Practice weeks",
    lambda job: job.select.practice_query(),
    _practice_columns,
    lambda job, r: [job.patient_label(r[0]), *r[1:]],
    lambda job, r: [job.patient_label(r[0]), _week(job, r[0], r[2]), _week(job, r[0], r[3]), r[4]],
)


# --- plan items, sleep diary, flares ------------------------------------------------------------


def _plan_item_columns(job: Job) -> list[Column]:
    columns = [_patient(job), Column("Discipline", LABEL), Column("Category", LABEL)]
    if not job.deidentify:
        columns.append(Column("Item", TEXT))
    columns += [Column("Status", LABEL), Column("Adherence", PERCENT, "0%")]
    if job.deidentify:
        return [*columns, Column("Started (week)", NUMBER, WEEK), Column("Updated (week)", NUMBER, WEEK)]
    return [*columns, Column("Started on", DATE), Column("Updated on", DATE), Column("Note", TEXT)]


PLAN_ITEMS = RecordSheet(
    "Plan items",
    lambda job: job.select.plan_item_query(),
    _plan_item_columns,
    lambda job, r: [job.patient_label(r[0]), *r[1:]],
    lambda job, r: [job.patient_label(r[0]), r[1], r[2], r[4], r[5], _week(job, r[0], r[6]), _week(job, r[0], r[7])],
)

NIGHT_MEASURES = [
    Column("Bed time", LABEL),
    Column("Lights out", LABEL),
    Column("Sleep latency (min)", INT),
    Column("Awakenings", INT),
    Column("Wake after sleep onset (min)", INT),
    Column("Final wake", LABEL),
    Column("Out of bed", LABEL),
    Column("Quality", INT),
    Column("Time in bed (min)", NUMBER, "0"),
    Column("Total sleep time (min)", NUMBER, "0"),
    Column("Sleep efficiency", PERCENT),
]


def _night_columns(job: Job) -> list[Column]:
    if job.deidentify:
        return [_patient(job), Column("Day", INT), Column("Week", NUMBER, WEEK), *NIGHT_MEASURES]
    return [_patient(job), Column("Night of", DATE), *NIGHT_MEASURES, Column("Note", TEXT)]


SLEEP_DIARY = RecordSheet(
    "Sleep diary",
    lambda job: job.select.night_query(),
    _night_columns,
    lambda job, r: [job.patient_label(r[0]), *r[1:]],
    lambda job, r: [job.patient_label(r[0]), *job.relative(r[0], r[1]), *r[2:13]],
)


def _flare_columns(job: Job) -> list[Column]:
    if job.deidentify:
        return [
            _patient(job),
            Column("Day", INT),
            Column("Week", NUMBER, WEEK),
            Column("Severity", INT),
            Column("Days to recover", INT),
        ]
    return [
        _patient(job),
        Column("Started on", DATE),
        Column("Severity", INT),
        Column("Suspected trigger", TEXT),
        Column("What helped", TEXT),
        Column("Days to recover", INT),
        Column("Note", TEXT),
    ]


FLARES = RecordSheet(
    "Flares",
    lambda job: job.select.flare_query(),
    _flare_columns,
    lambda job, r: [job.patient_label(r[0]), *r[1:]],
    lambda job, r: [job.patient_label(r[0]), *job.relative(r[0], r[1]), r[2], r[5]],
)


# --- Social work: support network and return to work ---------------------------------------------


def _contact_columns(job: Job) -> list[Column]:
    if job.deidentify:
        return [_patient(job), Column("Involved in goals", BOOL)]
    return [
        _patient(job),
        Column("Name", LABEL),
        Column("Relationship", LABEL),
        Column("Involved in goals", BOOL),
        Column("Contact", TEXT),
        Column("Note", TEXT),
        Column("On handout", BOOL),  # the patient chose to have them named on the progress handout
    ]


CONTACTS = RecordSheet(
    "Support contacts",
    lambda job: job.select.contact_query(),
    _contact_columns,
    lambda job, r: [job.patient_label(r[0]), *r[1:]],
    lambda job, r: [job.patient_label(r[0]), r[3]],
)


def _rtw_columns(job: Job) -> list[Column]:
    columns = [_patient(job), Column("Phase", INT), Column("Phase name", LABEL)]
    if job.deidentify:
        return [*columns, Column("Started (week)", NUMBER, WEEK), Column("Hours per week", NUMBER)]
    return [
        *columns,
        Column("Started on", DATE),
        Column("Hours per week", NUMBER),
        Column("Modified duties", TEXT),
        Column("Employer contact", TEXT),
        Column("Note", TEXT),
    ]


RTW_PHASES = RecordSheet(
    "Return-to-work phases",
    lambda job: job.select.rtw_query(),
    _rtw_columns,
    lambda job, r: [job.patient_label(r[0]), r[1], disciplines.rtw_phase_label(r[1]), *r[2:]],
    lambda job, r: [job.patient_label(r[0]), r[1], disciplines.rtw_phase_label(r[1]), _week(job, r[0], r[2]), r[3]],
)

# In the order the long workbook holds them (and ``teamdash import`` reads them back).
SHEETS: tuple[RecordSheet, ...] = (
    DECISIONS,
    SAFETY,
    GRADED_PLANS,
    GRADED_WEEKS,
    COURSES,
    PRACTICE,
    PLAN_ITEMS,
    SLEEP_DIARY,
    FLARES,
    CONTACTS,
    RTW_PHASES,
)


def count(job: Job) -> int:
    return sum(s.query(job).count() for s in SHEETS)


def write(job: Job, book: Book, sheets: Iterable[RecordSheet] = SHEETS) -> None:
    for spec in sheets:
        _write(job, book, spec)


def _write(job: Job, book: Book, spec: RecordSheet) -> int:
    sheet = TableSheet(book, spec.title, spec.columns(job), freeze_columns=1)
    make = spec.deidentified if job.deidentify else spec.identified
    for row in tuples(spec.query(job)):
        sheet.add(make(job, row))
        job.tick()
    rows = sheet.close()
    job.rows[sheet.title] = rows
    job.check()
    return rows
