"""The long-format workbook: tidy sheets of patients, staff, every score, session, goal,
check-in and action item, and About. It is the layout ``teamdash import`` reads back:
exported into an empty database it reproduces the patients and their measurements."""

from __future__ import annotations

from teamdash.exchange.export import tables
from teamdash.exchange.export.job import Job
from teamdash.exchange.export.sheets import Book


def count(job: Job) -> int:
    staff = 0 if job.deidentify else tables.count_staff()
    return len(job.patients) + staff + sum(tables.count_rows(job).values())


def write(job: Job, book: Book, file_name: str) -> None:
    tables.write_patients(job, book)
    if not job.deidentify:
        tables.write_staff(job, book)
    tables.write_record_sheets(job, book)
    tables.write_about(job, book, file_name, tables.instruments_in_export(job))
