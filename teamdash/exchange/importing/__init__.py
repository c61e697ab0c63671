"""Spreadsheet import from .xlsx or .csv: staff, patients, measurements, sessions and the
rest of the record (safety acknowledgements, goals, graded activity plans and weeks,
courses and practice weeks, plan items, sleep-diary nights, flares, support contacts,
return-to-work phases, check-ins, decisions, action items).

The shape of a run:

1. **Read** the file and refuse what is not a table TeamDash can read, with a message
   that says why (``reading``): not a spreadsheet, a password-protected (encrypted)
   workbook, an old .xls, an empty file, merged cells, a formula in the header, a CSV
   cell longer than a CSV reader holds.
2. **Map** columns to fields by header name (``mapping``); the UI shows the mapping for
   confirmation and may change it; unmapped columns are ignored and listed.
3. **Check** every row and cell, one module per sheet kind: the cell is read as a value
   (``cells``), then the services check it with their own rules (each service's
   ``validate_new``-style function, the one its own write path uses): unknown patient
   or instrument, response out of range, impossible date, duplicate (already recorded,
   or twice in the file), formulas in cells, cells too long. Every problem names
   sheet, row, column and reason. The many small record kinds share one loader
   (``records``). A failing import stops checking after ``report.MAX_PROBLEMS``.
4. **Write** through the services' bulk paths (permission, transaction, audit), all in
   one transaction; each patient's list summary is refreshed once at the end. By
   default one bad row imports nothing (all-or-nothing); with ``skip_bad_rows`` the
   good rows go in and the bad ones are written, with their problems, to an error
   workbook that can be fixed and imported again. A dry run checks everything
   (against the database too) and rolls back.

A TeamDash long-format export imported into an empty database reproduces every record,
and exported again gives the same workbook (scores are recomputed from the items; only
provenance differs: the file, the database, a measurement's source).
"""

from __future__ import annotations

from teamdash.errors import TeamDashError
from teamdash.exchange.importing.fields import normalise
from teamdash.exchange.importing.kinds import FIELDS, KIND_LABELS, KINDS, SHEET_NAMES
from teamdash.exchange.importing.mapping import auto_map, detect_kind, field_label, fields_for, make_plan
from teamdash.exchange.importing.report import ImportFailed, ImportReport, MalformedFile, Problem, SheetReport
from teamdash.exchange.importing.run import SheetInfo, import_file, inspect, plans_for, preview

__all__ = [
    "FIELDS",
    "KINDS",
    "KIND_LABELS",
    "SHEET_NAMES",
    "ImportFailed",
    "ImportReport",
    "MalformedFile",
    "Problem",
    "SheetInfo",
    "SheetReport",
    "TeamDashError",
    "auto_map",
    "detect_kind",
    "field_label",
    "fields_for",
    "import_file",
    "inspect",
    "make_plan",
    "normalise",
    "plans_for",
    "preview",
]
