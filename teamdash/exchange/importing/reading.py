"""Reading a spreadsheet: an .xlsx workbook (openpyxl, read-only and streamed) or a CSV
file (encoding and delimiter sniffed), as tables of header and rows; and refusing, with
a message that says why, what is not a table TeamDash can read: not a spreadsheet, a
password-protected (encrypted) workbook, an old .xls, an empty file, merged cells, a
formula in the header, a CSV cell longer than a CSV reader holds.

openpyxl is imported only when a workbook is opened (it costs ~140 ms at start-up).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teamdash.exchange.importing.report import MalformedFile

MAX_CELL = 32_767  # what one spreadsheet cell can hold
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: encrypted OOXML or old .xls
ZIP_MAGIC = b"PK\x03\x04"

# A data row as read: (row number as the user sees it, cell values, suspect). A suspect
# row may hold a formula or a cell too long for a spreadsheet and gets the cell checks.
RawRow = tuple[int, list, bool]


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula (its text): refused, the import needs values."""

    text: str

    def __str__(self) -> str:
        return self.text


class Table:
    """One table in a file: its headers (the first row with two or more filled cells)
    and its data rows as (row number, values) with the row number the user sees."""

    def __init__(
        self,
        name: str,
        headers: list[str],
        header_row: int,
        rows: Iterator[RawRow],
        estimated_rows: int,
        columns: list[str],
    ):
        self.name = name
        self.headers = headers
        self.header_row = header_row
        self._rows = rows
        self.estimated_rows = estimated_rows
        self.columns = columns  # column letters (A, B, …) or numbers for CSV

    def rows(self) -> Iterator[RawRow]:
        """(row number, values, suspect): ``suspect`` rows may hold a formula or a cell
        too long for a spreadsheet, and get the cell-by-cell check."""
        width = len(self.headers)
        for number, values, suspect in self._rows:
            if values.count(None) + values.count("") == len(values):
                continue  # a blank row
            if len(values) < width:
                values = list(values) + [None] * (width - len(values))
            yield number, values, suspect

    def preview(self, n: int = 20) -> list[list]:
        out: list[list] = []
        for _number, values, _suspect in self.rows():
            out.append(values[: len(self.headers)])
            if len(out) >= n:
                break
        return out


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    n = index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class SpreadsheetFile:
    """An opened .xlsx or .csv; ``table(name)`` reads one sheet (CSV: its one table)."""

    def __init__(self, path: Path):
        self.path = path
        self._wb: Any = None  # an openpyxl workbook, read-only
        self._csv: tuple[str, str] | None = None  # (encoding, delimiter)
        self.sheet_names: list[str] = []
        self._open()

    # --- opening ------------------------------------------------------------------------

    def _open(self) -> None:
        path = self.path
        if not path.exists():
            raise MalformedFile(f"{path} does not exist")
        if path.is_dir():
            raise MalformedFile(f"{path} is a folder, not a spreadsheet")
        size = path.stat().st_size
        if size == 0:
            raise MalformedFile(f"{path.name} is empty (0 bytes): there is nothing to import")
        with path.open("rb") as f:
            head = f.read(8)
        if head.startswith(CFB_MAGIC):
            if _is_encrypted(path):
                raise MalformedFile(
                    f"{path.name} is password-protected (encrypted): TeamDash cannot read it. Open it in Excel, "
                    "remove the password (File → Info → Protect Workbook → Encrypt with Password) and save a copy"
                )
            raise MalformedFile(
                f"{path.name} is an old Excel 97–2003 (.xls) workbook: open it in Excel and save it as .xlsx"
            )
        if head.startswith(ZIP_MAGIC):
            self._open_xlsx()
            return
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
            raise MalformedFile(f"{path.name} is not a spreadsheet: its contents are not an Excel workbook")
        self._open_csv()

    def _open_xlsx(self) -> None:
        from openpyxl import load_workbook

        try:
            self._wb = load_workbook(self.path, read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
            raise MalformedFile(
                f"{self.path.name} is not a spreadsheet TeamDash can read (damaged or not an .xlsx workbook: {exc})"
            ) from exc
        except Exception as exc:  # openpyxl's own InvalidFileException and parser errors
            raise MalformedFile(f"{self.path.name} is not a readable .xlsx workbook ({exc})") from exc
        self.sheet_names = list(self._wb.sheetnames)

    def _open_csv(self) -> None:
        with self.path.open("rb") as f:
            sample = f.read(1 << 20)
        if b"\x00" in sample:
            raise MalformedFile(f"{self.path.name} is not a spreadsheet or a CSV text file (it holds binary data)")
        encoding = "utf-8-sig"
        try:
            codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=False)
        except UnicodeDecodeError:
            encoding = "cp1252"  # what Excel on Windows writes for "CSV"
        text = sample.decode(encoding, errors="replace")
        if not text.strip():
            raise MalformedFile(f"{self.path.name} holds no rows: there is nothing to import")
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
        self._csv = (encoding, delimiter)
        self.sheet_names = [self.path.stem]

    @property
    def is_csv(self) -> bool:
        return self._csv is not None

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()
            self._wb = None

    def __enter__(self) -> SpreadsheetFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- tables -------------------------------------------------------------------------

    def table(self, name: str | None = None) -> Table:
        if self.is_csv:
            return self._csv_table()
        if name is None:
            name = self.sheet_names[0]
        if name not in self.sheet_names:
            raise MalformedFile(f"{self.path.name} has no sheet {name!r} (it has: {', '.join(self.sheet_names)})")
        return self._xlsx_table(name)

    def _xlsx_table(self, name: str) -> Table:
        ws = self._wb[name]
        if not hasattr(ws, "iter_rows"):
            raise MalformedFile(f"sheet {name!r} is a chart sheet, not a table", sheet=name)
        merged, last_row = _scan_sheet(self.path, ws)

        def cells() -> Iterator[RawRow]:
            for number, row in enumerate(ws.iter_rows(), start=1):
                values = [_cell_value(c) for c in row]
                types = set(map(type, values))
                suspect = Formula in types or (
                    str in types and max(len(v) for v in values if type(v) is str) > MAX_CELL
                )
                yield number, values, suspect

        rows = cells()
        headers, header_row = _find_header(rows, name)
        _check_merged(merged, header_row, name)
        estimate = max(0, (ws.max_row or last_row or 0) - header_row)
        return Table(name, headers, header_row, rows, estimate, [column_letter(i) for i in range(len(headers))])

    def _csv_table(self) -> Table:
        assert self._csv is not None
        encoding, delimiter = self._csv
        name = self.path.stem
        handle = self.path.open("r", encoding=encoding, newline="")

        def records() -> Iterator[RawRow]:
            reader = csv.reader(handle, delimiter=delimiter)
            number = 0
            try:
                for number, values in enumerate(reader, start=1):
                    # CSV holds no formulas; a cell can only be too long (only when the
                    # row is: joining is cheaper than measuring every cell).
                    suspect = len("".join(values)) > MAX_CELL and max(map(len, values)) > MAX_CELL
                    yield number, [v or None for v in values], suspect  # a blank cell is None
            except csv.Error as exc:
                raise MalformedFile(
                    f"{self.path.name}, line {reader.line_num}: {exc} — a cell longer than {csv.field_size_limit():,} "
                    "characters or a broken quote; this is not a table TeamDash can import",
                    row=number + 1,
                ) from exc
            except UnicodeDecodeError as exc:
                raise MalformedFile(
                    f"{self.path.name}: not readable as {encoding} text near line {number + 1}", row=number + 1
                ) from exc
            finally:
                handle.close()

        rows = records()
        headers, header_row = _find_header(rows, name)
        with self.path.open("rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        return Table(
            name, headers, header_row, rows, max(0, lines - header_row), [str(i + 1) for i in range(len(headers))]
        )


def _cell_value(cell: Any) -> Any:
    value = cell.value
    if value is None:
        return None
    if type(value) is float or type(value) is int:
        if "%" in (cell.number_format or ""):  # a percentage cell holds the fraction: 40 % is 0.4
            return round(value * 100, 9)
        return value
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time() and "h" not in (cell.number_format or "").lower():
        return value.date()  # a date cell (Excel keeps every date as a date and time)
    return value


def _find_header(rows: Iterator[RawRow], sheet: str) -> tuple[list[str], int]:
    """The first row with at least two filled cells (a title row above it is skipped)."""
    for number, values, _suspect in rows:
        filled = [v for v in values if v is not None and str(v).strip() != ""]
        if len(filled) >= 2:
            while values and (values[-1] is None or str(values[-1]).strip() == ""):
                values = values[:-1]
            headers = []
            for i, v in enumerate(values):
                if isinstance(v, Formula):
                    raise MalformedFile(
                        f"the header cell {column_letter(i)}{number} holds a formula ({v}); headers must be plain text",
                        sheet=sheet,
                        row=number,
                    )
                headers.append("" if v is None else str(v).strip())
            return headers, number
        if number > 50:
            break
    raise MalformedFile(
        "holds no table: no header row with column names was found (the sheet is empty or has a single column)",
        sheet=sheet,
    )


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ROW_RE = re.compile(rb'[<:]row\s[^>]*?\br="(\d+)"')


def _scan_sheet(path: Path, ws: Any) -> tuple[list[tuple[str, int, int]], int | None]:
    """Merged cell ranges of a sheet as (ref, first row, last row), and the number of
    its last row. Read-only openpyxl reports neither (merged ranges at all, the last row
    only when the file states its dimension, which openpyxl's own write-only files do
    not): scan the sheet's XML in chunks (merged ranges follow the rows)."""
    part = getattr(ws, "_worksheet_path", None)
    if not part:
        return [], None
    out = []
    last_row = None
    try:
        with zipfile.ZipFile(path) as archive, archive.open(part.lstrip("/")) as stream:
            tail = b""
            while True:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                data = tail + chunk
                for m in _MERGE_RE.finditer(data):
                    first = int(m.group(2))
                    last = int(m.group(4)) if m.group(4) else first
                    ref = m.group(0).split(b'"')[1].decode()
                    out.append((ref, first, last))
                at = data.rfind(b"row ")
                while at > 0:
                    found = _ROW_RE.match(data, at - 1)
                    if found:
                        last_row = int(found.group(1))
                        break
                    at = data.rfind(b"row ", 0, at)
                tail = data[-200:]
    except (KeyError, zipfile.BadZipFile):
        return [], None
    return sorted(set(out), key=lambda r: r[1]), last_row


def _check_merged(merged: list[tuple[str, int, int]], header_row: int, sheet: str) -> None:
    for ref, first, last in merged:
        if last >= header_row:
            where = "the header row" if first <= header_row else "the data"
            raise MalformedFile(
                f"{where} has merged cells ({ref}); unmerge them so that every column has its own header and every "
                "row its own values (Home → Merge & Center → Unmerge Cells), then import again",
                sheet=sheet,
                row=first,
            )


def _is_encrypted(path: Path) -> bool:
    """An encrypted OOXML file is a compound file with an EncryptionInfo stream (its
    name is in the file's directory, UTF-16 encoded)."""
    marker = "EncryptionInfo".encode("utf-16-le")
    tail = b""
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            if marker in tail + chunk:
                return True
            tail = chunk[-len(marker) :]
    return False
