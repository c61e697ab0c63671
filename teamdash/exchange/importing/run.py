"""The import as a whole: which tables of the file to import as what, the run in one
transaction (all-or-nothing unless bad rows are skipped; a dry run rolls back), the
summaries refreshed once, the error workbook and the audit event; and the wizard's
first looks at a file (``inspect``, ``preview``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from teamdash import clock
from teamdash.errors import ValidationError
from teamdash.exchange.importing import kinds
from teamdash.exchange.importing.context import Plan, Run
from teamdash.exchange.importing.fields import normalise
from teamdash.exchange.importing.mapping import detect_kind, make_plan
from teamdash.exchange.importing.reading import SpreadsheetFile, Table
from teamdash.exchange.importing.report import ImportFailed, ImportReport, MalformedFile, SheetReport
from teamdash.services import audit, auth, list_summary
from teamdash.services.auth import Actor
from teamdash.storage.db import database


class _Rollback(Exception):
    pass


@dataclass(frozen=True)
class SheetInfo:
    name: str
    headers: tuple[str, ...]
    kind: str | None  # detected
    estimated_rows: int
    problem: str | None = None  # why this sheet cannot be read, if it cannot


def inspect(path: str | Path) -> list[SheetInfo]:
    """Each table in the file with its headers and what it seems to hold."""
    out = []
    with SpreadsheetFile(Path(path)) as f:
        for name in f.sheet_names:
            try:
                table = f.table(name)
            except MalformedFile as exc:
                out.append(SheetInfo(name, (), None, 0, str(exc)))
                continue
            out.append(
                SheetInfo(
                    name,
                    tuple(table.headers),
                    _detect(f, table),
                    table.estimated_rows,
                )
            )
    return out


def preview(path: str | Path, sheet: str | None = None, rows: int = 20) -> tuple[list[str], list[list]]:
    """Headers and the first rows of a table, for the wizard's preview."""
    with SpreadsheetFile(Path(path)) as f:
        table = f.table(sheet)
        return list(table.headers), table.preview(rows)


def plans_for(
    f: SpreadsheetFile,
    *,
    kind: str | None = None,
    sheet: str | None = None,
    mapping: Mapping[str, str | int | None] | None = None,
) -> list[tuple[Table, Plan]]:
    """Which tables of the file to import, as what. No kind and no sheet: every sheet
    named for a kind (a TeamDash workbook), in dependency order; else the one table."""
    if kind is not None and kind not in kinds.KINDS:
        raise ValidationError(f"{kind!r} is not one of: {', '.join(kinds.KINDS)}", field="kind")
    if f.is_csv and sheet is not None:
        raise ValidationError(
            f"sheet {sheet!r} cannot be chosen: {f.path.name} is a CSV file, which holds one table and no "
            "sheets (leave out --sheet; it names a sheet of an .xlsx workbook)",
            field="sheet",
        )
    if f.is_csv or sheet is not None:
        table = f.table(sheet)
        chosen = kind or _detect(f, table)
        if chosen is None:
            raise MalformedFile(_undetected(table), sheet=table.name)
        return [(table, make_plan(table, chosen, mapping))]
    names = f.sheet_names
    if kind is not None:
        named = [n for n in names if kinds.SHEET_NAMES.get(normalise(n)) == kind]
        candidates = named or names
        for name in candidates:
            table = f.table(name)
            if named or len(names) == 1 or detect_kind(table.headers) == kind:
                return [(table, make_plan(table, kind, mapping))]
        raise MalformedFile(
            f"no sheet of {f.path.name} looks like {kind} (sheets: {', '.join(names)}); choose one with --sheet"
        )
    by_kind = sorted(
        (kinds.KINDS.index(kinds.SHEET_NAMES[normalise(n)]), n) for n in names if normalise(n) in kinds.SHEET_NAMES
    )
    if by_kind:
        out = []
        for _order, name in by_kind:
            table = f.table(name)
            chosen = kinds.SHEET_NAMES[normalise(name)]
            out.append((table, make_plan(table, chosen, mapping if len(by_kind) == 1 else None)))
        return out
    table = f.table(names[0])
    chosen = detect_kind(table.headers)
    if chosen is None:
        raise MalformedFile(_undetected(table), sheet=table.name)
    return [(table, make_plan(table, chosen, mapping))]


def _detect(f: SpreadsheetFile, table: Table) -> str | None:
    """What a table holds: by its sheet's name, else its headers; a CSV file by its
    headers, else its name ('flares.csv')."""
    if f.is_csv:
        return detect_kind(table.headers) or detect_kind(table.headers, table.name)
    return detect_kind(table.headers, table.name)


def _undetected(table: Table) -> str:
    return (
        "cannot tell what it holds from its headers "
        f"({', '.join(h for h in table.headers if h)[:200]}) or its name; choose the kind (--kind)"
    )


def import_file(
    actor: Actor,
    path: str | Path,
    *,
    kind: str | None = None,
    sheet: str | None = None,
    mapping: Mapping[str, str | int | None] | None = None,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    error_file: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Import a spreadsheet. All-or-nothing unless ``skip_bad_rows``; raises
    ``ImportFailed`` (with the report) when rows have problems and are not skipped,
    ``MalformedFile`` when the file itself cannot be imported. Nothing is changed by
    either, nor by a dry run."""
    auth.require(actor, "import")
    path = Path(path).expanduser()
    now = (now or clock.now()).replace(microsecond=0)
    report = ImportReport(path, dry_run, skip_bad_rows)
    error_path = Path(error_file).expanduser() if error_file else None
    with _collector_paused(), SpreadsheetFile(path) as f:
        plans = plans_for(f, kind=kind, sheet=sheet, mapping=mapping)
        run = Run(actor, report, now=now, error_file=error_path, progress=progress, cancelled=cancelled)
        run.total = sum(t.estimated_rows for t, _ in plans)
        try:
            with database.atomic():
                # Each patient's list summary is computed once, from every sheet's rows.
                with list_summary.deferred():
                    for table, plan in plans:
                        if report.stopped:  # the sheets after the one where checking stopped
                            report.rows_unchecked += table.estimated_rows
                            continue
                        _load(run, table, plan)
                    if report.problem_count and not skip_bad_rows:
                        raise _Rollback()
                    if not any(s.rows for s in report.sheets):
                        raise MalformedFile(f"{path.name} has headers but no data rows: there is nothing to import")
                if dry_run:
                    raise _Rollback()
                report.error_file = run.save_errors()
                report.audit_event_id = _audit(actor, report)
        except _Rollback:
            pass
        except BaseException:
            run.discard_errors()
            raise
    if report.problem_count and not skip_bad_rows:
        raise ImportFailed(report)
    if progress is not None:
        progress(run.done, max(run.total, run.done))
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a file is imported. A large import keeps
    hundreds of thousands of objects alive (rows seen, answer sets scored, batches), and
    the collector would walk them again and again as they grow: a fifth of the import's
    time, for no garbage (the rows hold no reference cycles; they are freed by their
    counts). It is switched back on, as it was, however the import ends: the objects
    made meanwhile join the oldest generation unexamined (freeze, then unfreeze), or the
    first allocation after would walk every one of them at once."""
    if not gc.isenabled():  # already off (a caller's own pause)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()


def _load(run: Run, table: Table, plan: Plan) -> SheetReport:
    kind = kinds.get(plan.kind)
    sheet = SheetReport(plan.sheet, plan.kind, plan.mapping_by_header(), plan.ignored, label=kind.nouns)
    run.report.sheets.append(sheet)
    kind.load(run, table, plan, sheet)
    return sheet


def _audit(actor: Actor, report: ImportReport) -> int:
    return audit.record(
        actor,
        "import",
        details={
            "file": str(report.file),
            "skip_bad_rows": report.skip_bad_rows,
            "sheets": [
                {
                    "sheet": s.sheet,
                    "kind": s.kind,
                    "rows": s.rows,
                    "imported": s.imported,
                    "skipped": s.skipped,
                    "mapping": s.mapping,
                }
                for s in report.sheets
            ],
            "bad_rows": report.bad_rows,
            "error_file": str(report.error_file) if report.error_file else None,
        },
    )
