"""The long-format workbook: tidy sheets of every record kind (patients, staff, every
score, session, goal, check-in, action item, decision, safety acknowledgement, graded
activity plan and week, course and practice week, plan item, sleep-diary night, flare,
support contact and return-to-work phase) and About. It is the layout ``teamdash import``
reads back: exported from one database and imported into an empty one, it gives the same
workbook again."""

from __future__ import annotations

from teamdash.exchange.export import plan_tables, tables
from teamdash.exchange.export.job import Job
from teamdash.exchange.export.sheets import Book


def count(job: Job) -> int:
    staff = 0 if job.deidentify else tables.count_staff()
    return len(job.patients) + staff + sum(tables.count_rows(job).values()) + plan_tables.count(job)


def write(job: Job, book: Book, file_name: str) -> None:
    tables.write_patients(job, book)
    if not job.deidentify:
        tables.write_staff(job, book)
    tables.write_record_sheets(job, book, decisions=False)  # the Decisions sheet has them
    plan_tables.write(job, book)
    tables.write_about(job, book, file_name, tables.instruments_in_export(job))
