"""Helpers shared by the export and import tests (no tests here): reopening workbooks
and scanning every cell."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from openpyxl import load_workbook

from tests.demo_facts import DEMO_TODAY

# A moment on the demo day after every demo measurement (the demo records some at 15:15).
NOW = dt.datetime.combine(DEMO_TODAY, dt.time(18, 0))
# After the demo's furthest session booking (two weeks ahead): lets a whole demo clinic
# be imported again without "in the future" problems.
AFTER_BOOKINGS = NOW + dt.timedelta(days=21)


def reopen(path):
    return load_workbook(path)


def header(ws) -> list:
    return [c.value for c in ws[1]]


def column(ws, name: str) -> list:
    """The data cells of the column with this header."""
    index = header(ws).index(name)
    return [row[index] for row in ws.iter_rows(min_row=2)]


def records(ws) -> list[dict]:
    names = header(ws)
    return [dict(zip(names, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]


def all_cells(wb) -> Iterator:
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield ws.title, cell
