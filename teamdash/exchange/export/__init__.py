"""Excel progress spreadsheets: the cohort, long-format and per-patient workbooks.

``export(actor, path, options, progress=, cancelled=)`` is the one way in (the command
line and the UI's Export dialog both call it). It checks the actor may export, reads one
consistent snapshot of the database, streams the workbook in openpyxl's write-only mode
to a temporary file beside the target and renames it into place only when complete (a
cancelled or failed export leaves no file), then records the export in the audit trail:
who, which filters, how many rows.

openpyxl is imported only when an export runs (it costs ~140 ms at start-up).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from teamdash import clock, files
from teamdash.errors import NotFound, ValidationError
from teamdash.exchange.export.options import KIND_LABELS, KINDS, ExportOptions, ExportResult
from teamdash.services import audit, auth
from teamdash.services.auth import Actor
from teamdash.storage import db

__all__ = ["export", "ExportOptions", "ExportResult", "KINDS", "KIND_LABELS"]


def _target(path, overwrite: bool) -> Path:
    if Path(path).suffix.lower() != ".xlsx":
        raise ValidationError(f"{Path(path).name!r}: the file name must end in .xlsx", field="out")
    return files.output_file(path, force=overwrite, option="--out")


def export(
    actor: Actor,
    path,
    options: ExportOptions = ExportOptions(),
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    now: dt.datetime | None = None,
) -> ExportResult:
    """Write the workbook ``options`` describe to ``path`` (.xlsx) and audit it. An
    existing file is replaced only with ``overwrite`` (the user confirmed it)."""
    auth.require(actor, "export")
    options = options.checked()
    if options.deidentify:  # research exports: administrators only
        auth.require(actor, "export_deidentified")
    path = _target(path, overwrite)
    now = (now or clock.now()).replace(microsecond=0)

    from teamdash.exchange.export import cohort, deid, long, patient, sheets  # imports openpyxl
    from teamdash.exchange.export.job import Job

    module = {"cohort": cohort, "long": long, "patient": patient}[options.kind]
    key = deid.database_key() if options.deidentify else None  # may create it: before the read snapshot
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    book = sheets.Book()
    try:
        with db.read_snapshot():  # one snapshot: counts and rows agree while others write
            job = Job(actor, options, now=now, progress=progress, cancelled=cancelled, key=key)
            if options.kind == "patient" and not job.patients:
                raise NotFound("the patient does not exist or does not match the filters; nothing was exported")
            job.total = module.count(job)
            job.check()
            module.write(job, book, path.name)
            job.check()
            book.save(partial)
        try:
            os.replace(partial, path)
        except OSError as exc:
            raise ValidationError(
                f"cannot write {path}: {exc.strerror or exc} (is it open in Excel? close it or choose another name)",
                field="out",
            ) from exc
    except BaseException:
        book.discard()
        partial.unlink(missing_ok=True)
        raise
    job.finished()
    event_id = audit.record(
        actor,
        "export",
        patient_id=options.patient_id if options.kind == "patient" else None,
        details=_audit_details(job, path),
    )
    return ExportResult(path, options.kind, len(job.patients), dict(job.rows), options.deidentify, event_id)


def _audit_details(job, path: Path) -> dict:
    o = job.options
    filters = {
        "patient_id": o.patient_id,
        "patient": job.by_id[o.patient_id].clinic_id if o.patient_id in job.by_id else None,
        "date_from": o.date_from,
        "date_to": o.date_to,
        "status": o.status,
        "case_manager_id": o.case_manager_id,
        "case_manager": job.staff.get(o.case_manager_id) if o.case_manager_id is not None else None,
        "discipline": o.discipline,
        "deidentify": o.deidentify,
    }
    return {
        "kind": o.kind,
        "file": str(path),
        "filters": {k: v for k, v in filters.items() if v not in (None, False)},
        "deidentified": o.deidentify,
        "patients": len(job.patients),
        "rows": dict(job.rows),
        "total_rows": sum(job.rows.values()),
    }
