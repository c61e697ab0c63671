"""Sheet-writing helpers shared by every workbook kind (openpyxl write-only mode).

What a careful analyst expects of a spreadsheet, in one place:

- typed cells: dates are date cells with a date format, numbers are numbers, booleans
  are booleans, percentages are fractions with a percent format;
- safe text: a string that Excel could take for a formula (it begins with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return) is written as a string cell marked "quote
  prefix", never a formula; characters a workbook cannot hold are replaced, and text
  longer than a cell holds is cut with a marker;
- a bold, frozen header row, an autofilter over every table, column widths measured on
  the first rows, valid and unique sheet names;
- conditional band fills, Excel tables (for several tables on one sheet) and native
  line charts.

Rows stream: ``TableSheet`` keeps the first ``SAMPLE`` rows to size the columns, then
writes every row as it comes, so memory stays flat however many rows there are.
Importing this module imports openpyxl (~140 ms): callers import it lazily.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import types
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

# --- column kinds ------------------------------------------------------------------------

TEXT = "text"  # free text typed by a person: made safe, cut to the cell limit
LABEL = "label"  # names and codes (IDs, instrument names, vocabularies): made safe, cached
INT = "int"
NUMBER = "number"  # shown with ``number_format`` (default: General)
PERCENT = "percent"  # given in percent points (35.2), written as 0.352 with a % format
DATE = "date"
DATETIME = "datetime"
BOOL = "bool"
MIXED = "mixed"  # each value typed by itself (About, patient details)

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
INT_FORMAT = "0"
# Excel shows a boolean cell as TRUE/FALSE whatever its format; LibreOffice shows 1/0
# unless the format says otherwise.
BOOL_FORMAT = '"TRUE";"TRUE";"FALSE"'

MAX_CELL_TEXT = 32_767  # Excel's limit for one cell
TRUNCATED = " …[cut: longer than a spreadsheet cell holds]"
# Excel (and LibreOffice) run a typed entry starting with one of these as a formula.
RISKY_START = ("=", "+", "-", "@", "\t", "\r")
SAMPLE = 500  # rows kept to measure column widths before streaming starts
MIN_WIDTH, MAX_WIDTH = 6, 60
FILTER_BUTTON = 3  # characters an autofilter drop-down covers in the header

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", start_color="DDE4EE", end_color="DDE4EE")
HEADER_BORDER = Border(bottom=Side(style="thin", color="7F8FA6"))
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
SECTION_FONT = Font(bold=True, size=12)
WRAP_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
WRAP_FROM = 90  # a mixed-value cell with longer text wraps (the column is this wide)
WRAPPED_TEXT = 24  # how wide free text below a sheet's first table may make a column

# Band severity 0 (best) to worst: green, pale green, amber, orange, red.
BAND_FILLS = ("C6EFCE", "E2F0CB", "FFEB9C", "FCD5B4", "FFC7CE")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = LABEL
    number_format: str | None = None
    width: float | None = None  # a fixed width instead of the measured one

    @property
    def format(self) -> str | None:
        if self.number_format:
            return self.number_format
        return {
            DATE: DATE_FORMAT,
            DATETIME: DATETIME_FORMAT,
            PERCENT: PERCENT_FORMAT,
            INT: INT_FORMAT,
            BOOL: BOOL_FORMAT,
        }.get(self.kind)


# --- safe text ---------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Text a workbook can hold: control characters replaced, cut to the cell limit."""
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if len(value) > MAX_CELL_TEXT:
        value = value[: MAX_CELL_TEXT - len(TRUNCATED)] + TRUNCATED
    return value


def is_risky(value: str) -> bool:
    return value.startswith(RISKY_START)


def text_cell(ws, value: str) -> Cell:
    """A string cell that is never a formula, whatever it starts with."""
    cell = WriteOnlyCell(ws)
    cell.value = value  # "=…" makes openpyxl choose a formula ...
    cell.data_type = "s"  # ... so say it is text
    cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    return cell


def safe(ws, value):
    """Any text value as something safe to append (the value itself or a text cell)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        value = str(value)
    value = clean_text(value)
    return text_cell(ws, value) if is_risky(value) else value


# --- sheet names ---------------------------------------------------------------------------

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


def sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique sheet name: no []:*?/\\, at most 31 characters, not quoted."""
    base = _BAD_TITLE.sub(" ", name).strip().strip("'")[:31] or "Sheet"
    title, n = base, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title.lower())
    return title


def table_name(name: str, used: set[str]) -> str:
    """A valid, workbook-unique Excel table name (letters, digits, underscores)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not base or not (base[0].isalpha() or base[0] == "_"):
        base = "T_" + base
    title, n = base, 2
    while title.lower() in used:
        title, n = f"{base}_{n}", n + 1
    used.add(title.lower())
    return title


# --- widths ---------------------------------------------------------------------------------


def display_length(kind: str, value, number_format: str | None = None) -> int:
    """How many characters a value takes on screen (for column widths)."""
    if value is None:
        return 0
    if isinstance(value, Cell):
        value = value.value
    if kind == MIXED:
        return mixed_length(value)
    if kind == DATETIME:
        return 16
    if kind == DATE:
        return 10
    if kind == BOOL or isinstance(value, bool):
        return 5
    if kind == PERCENT:
        return len(f"{value:.1f}") + 1
    if isinstance(value, (int, float)):
        if number_format and number_format.startswith("0."):
            decimals = len(number_format) - 2
            return len(f"{value:.{decimals}f}")
        if number_format == INT_FORMAT:
            return len(f"{value:.0f}")
        return min(12, len(f"{value:.10g}"))
    text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def header_width(header: str) -> int:
    """Characters a header needs: on one line when short, else on two (the header row
    is two lines high then and wraps), never less than its longest word."""
    if len(header) <= 12:
        return len(header)
    words = header.split()
    half = (len(header) + 1) // 2
    # the narrowest split of the words into two lines
    best = min(
        (max(len(" ".join(words[:k])), len(" ".join(words[k:]))) for k in range(1, len(words))),
        default=len(header),
    )
    return max(best, half) if len(words) > 1 else len(header)


def fit_width(column: Column, longest: int) -> float:
    if column.width is not None:
        return column.width
    header = header_width(column.header) + FILTER_BUTTON
    return float(max(MIN_WIDTH, min(MAX_WIDTH, max(header, longest + 2))))


def header_wraps(column: Column, width: float) -> bool:
    return len(column.header) + FILTER_BUTTON > width


# --- the workbook ------------------------------------------------------------------------------


class Book:
    """A write-only workbook whose sheets get valid unique names, and whose header and
    section cells share one style."""

    def __init__(self):
        self.wb = Workbook(write_only=True)
        self._titles: set[str] = set()
        self._tables: set[str] = set()

    def sheet(self, name: str):
        ws = self.wb.create_sheet(sheet_title(name, self._titles))
        if hasattr(ws, "_values_to_row"):  # openpyxl 3.1's row converter: see _values_to_row
            ws._values_to_row = types.MethodType(_values_to_row, ws)
        return ws

    def table_name(self, name: str) -> str:
        return table_name(name, self._tables)

    def save(self, path) -> None:
        self.wb.save(path)

    def discard(self) -> None:
        """Give up on a workbook being written (Cancel, an error): close each sheet's
        stream and delete its temporary file, so nothing is left half-written."""
        for ws in self.wb.worksheets:
            writer = getattr(ws, "_writer", None)
            if writer is None:
                continue
            try:
                if not ws.closed:
                    ws.close()
            except Exception:  # noqa: BLE001 - discarding: the sheet's content no longer matters
                pass
            with contextlib.suppress(OSError):
                writer.cleanup()


def _values_to_row(self, values, row_idx):
    """openpyxl 3.1.5's ``WriteOnlyWorksheet._values_to_row`` with one change: a value
    that is already a cell (a dated, formatted or quote-prefixed cell) is taken as it
    is, instead of first being tried as a value, which raises and formats the cell's
    repr for an error message it then discards: a sixth of the export's time. Bound per
    sheet; if openpyxl stops calling this name, its own version runs instead."""
    cell = WriteOnlyCell(self)
    for col_idx, value in enumerate(values, 1):
        if value is None:
            continue
        if isinstance(value, Cell):
            cell = value
        else:
            cell.value = value
        cell.column = col_idx
        cell.row = row_idx
        if cell.hyperlink is not None:
            cell.hyperlink.ref = cell.coordinate
        yield cell
        if cell.has_style or cell.hyperlink:  # a styled cell is not reused for the next value
            cell = WriteOnlyCell(self)


def header_cell(ws, text: str) -> Cell:
    cell = WriteOnlyCell(ws, value=clean_text(text))
    cell.data_type = "s"
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    cell.border = HEADER_BORDER
    cell.alignment = HEADER_ALIGNMENT
    return cell


def section_cell(ws, text: str) -> Cell:
    cell = WriteOnlyCell(ws, value=clean_text(text))
    cell.data_type = "s"
    cell.font = SECTION_FONT
    return cell


class RowMaker:
    """Turns a row of plain Python values into what ``append`` needs: typed cells for
    the columns with a number format, safe text for text columns. Styled cells are
    reused from row to row: write-only mode serialises a row during ``append``."""

    def __init__(self, ws, columns: Sequence[Column], *, wrap_text: bool = False):
        self.ws = ws
        self.columns = list(columns)
        self.wrap_text = wrap_text  # free text wraps in its cell (stacked tables)
        self.styled: list[tuple[int, Cell, bool]] = []
        self.text: list[int] = []
        self.labels: list[int] = []
        self.bools: list[tuple[int, Cell]] = []
        self.mixed: list[int] = []
        for i, c in enumerate(self.columns):
            if c.kind == TEXT:
                self.text.append(i)
            elif c.kind == MIXED:
                self.mixed.append(i)
            elif c.kind == LABEL:
                self.labels.append(i)
            elif c.kind == BOOL:
                cell = WriteOnlyCell(ws)
                cell.number_format = c.format or BOOL_FORMAT  # a yes/no column always has one
                self.bools.append((i, cell))
            elif c.format:
                cell = WriteOnlyCell(ws)
                cell.number_format = c.format
                self.styled.append((i, cell, c.kind == PERCENT))
        self._label_cache: dict[str, object] = {}

    def __call__(self, values: Sequence) -> list:
        row = list(values)
        for i in self.text:
            v = row[i]
            if v is not None:
                row[i] = safe(self.ws, v)
                if self.wrap_text and row[i] is not None:
                    cell = row[i] if isinstance(row[i], Cell) else WriteOnlyCell(self.ws, value=row[i])
                    cell.alignment = WRAP_ALIGNMENT
                    row[i] = cell
        if self.labels:
            cache = self._label_cache
            for i in self.labels:
                v = row[i]
                if v is None:
                    continue
                try:
                    row[i] = cache[v]
                except KeyError:
                    made = safe(self.ws, v)
                    row[i] = made
                    # A text cell is written once; plain safe strings are remembered.
                    if not isinstance(made, Cell) and len(cache) < 100_000:
                        cache[v] = made
        for i, cell in self.bools:
            v = row[i]
            if v is not None:
                cell.value = bool(v)
                row[i] = cell
        for i in self.mixed:
            row[i] = typed_value(self.ws, row[i])
        for i, cell, percent in self.styled:
            v = row[i]
            if v is not None:
                cell.value = v / 100 if percent else v
                row[i] = cell
        return row


class TableSheet:
    """One table on its own sheet: bold frozen header, autofilter, measured widths,
    typed streaming rows.

    ``add`` rows (plain Python values in column order); ``close`` writes the autofilter
    and returns the number of data rows."""

    def __init__(
        self,
        book: Book,
        name: str,
        columns: Sequence[Column],
        *,
        freeze_columns: int = 0,
        sample: int = SAMPLE,
    ):
        self.book = book
        self.ws = book.sheet(name)
        self.title = self.ws.title
        self.columns = list(columns)
        self.freeze_columns = freeze_columns
        self.sample = sample
        self.rows = 0
        self._buffer: list[list] | None = []
        self._make = RowMaker(self.ws, self.columns)
        self.conditional: list[tuple[int, list[tuple[str, int]], int]] = []

    def band_fills(self, column_index: int, bands: Iterable[tuple[str, int]], worst: int) -> None:
        """Colour cells of the column by band: ``bands`` are (label, severity 0 = best)."""
        self.conditional.append((column_index, list(bands), worst))

    def add(self, values: Sequence) -> None:
        if self._buffer is not None:
            self._buffer.append(list(values))
            if len(self._buffer) >= self.sample:
                self._start()
            return
        self.ws.append(self._make(values))
        self.rows += 1

    def _start(self) -> None:
        buffered, self._buffer = self._buffer or [], None
        longest = [0] * len(self.columns)
        for row in buffered:
            for i, (c, v) in enumerate(zip(self.columns, row)):
                if v is not None:
                    n = display_length(c.kind, v, c.format)
                    if n > longest[i]:
                        longest[i] = n
        ws = self.ws
        widths = [fit_width(c, longest[i]) for i, c in enumerate(self.columns)]
        for i, width in enumerate(widths):
            ws.column_dimensions[get_column_letter(i + 1)].width = width
        if any(header_wraps(c, w) for c, w in zip(self.columns, widths)):
            ws.row_dimensions[1].height = 30  # two lines
        ws.freeze_panes = f"{get_column_letter(self.freeze_columns + 1)}2"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.append([header_cell(ws, c.header) for c in self.columns])
        for row in buffered:
            ws.append(self._make(row))
        self.rows += len(buffered)

    def close(self) -> int:
        if self._buffer is not None:
            self._start()
        last_col = get_column_letter(len(self.columns))
        self.ws.auto_filter.ref = f"A1:{last_col}{self.rows + 1}"
        for index, bands, worst in self.conditional:
            if not self.rows:
                break
            letter = get_column_letter(index + 1)
            add_band_rules(self.ws, f"{letter}2:{letter}{self.rows + 1}", bands, worst)
        return self.rows


def band_fill(severity: int, worst: int) -> PatternFill:
    step = 0 if worst <= 0 else round(severity * (len(BAND_FILLS) - 1) / worst)
    colour = BAND_FILLS[max(0, min(len(BAND_FILLS) - 1, step))]
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour, bgColor=colour)


def add_band_rules(ws, ref: str, bands: Iterable[tuple[str, int]], worst: int) -> None:
    """Conditional fills: a cell equal to a band label gets its severity's colour.
    (A rule's formula is formatting, not a cell: no cell value is ever a formula.)"""
    for label, severity in bands:
        quoted = '"' + label.replace('"', '""') + '"'
        ws.conditional_formatting.add(
            ref, CellIsRule(operator="equal", formula=[quoted], fill=band_fill(severity, worst))
        )


# --- several tables on one sheet (Excel tables) --------------------------------------------


@dataclass
class Block:
    """An Excel table placed on a sheet: its own header and filter drop-downs."""

    title: str | None  # a section heading written above the table
    columns: list[Column]
    rows: list[list]
    name: str  # the Excel table name
    first_row: int = 0  # sheet row of the header, set when written

    @property
    def last_row(self) -> int:
        return self.first_row + max(len(self.rows), 1)


class BlockSheet:
    """A sheet of stacked Excel tables (the per-patient workbook: measures, sessions
    and goals of one discipline). Small: rows are held until ``close``. Charts go to
    the right of the tables."""

    def __init__(self, book: Book, name: str):
        self.book = book
        self.ws = book.sheet(name)
        self.title = self.ws.title
        self.blocks: list[Block] = []
        self.charts: list = []

    def block(
        self, name: str, columns: Sequence[Column], rows: Iterable[Sequence], *, title: str | None = None
    ) -> Block:
        """Place a table below the previous one: a blank row, a bold heading (not for the
        first table, whose header is the sheet's frozen row 1), the header, the rows.
        Rows are placed now so that charts can refer to them."""
        block = Block(title, list(columns), [list(r) for r in rows], self.book.table_name(name))
        if not self.blocks:
            block.first_row = 1
        else:
            block.first_row = self.blocks[-1].last_row + 2 + (1 if title else 0)
        self.blocks.append(block)
        return block

    @property
    def width(self) -> int:
        return max((len(b.columns) for b in self.blocks), default=1)

    def close(self) -> int:
        ws = self.ws
        longest = [0] * self.width
        minimum = [0.0] * self.width
        for n, b in enumerate(self.blocks):
            for i, c in enumerate(b.columns):
                minimum[i] = max(minimum[i], fit_width(c, 0))
                # The tables share columns: free text of a table below the first wraps
                # instead of widening a column the first table uses for numbers.
                cap = WRAPPED_TEXT if n and c.kind == TEXT else MAX_WIDTH
                for row in b.rows[:SAMPLE]:
                    if row[i] is not None:
                        longest[i] = max(longest[i], min(cap, display_length(c.kind, row[i], c.format)))
        widths = [max(minimum[i], min(MAX_WIDTH, longest[i] + 2)) for i in range(self.width)]
        for i, width in enumerate(widths):
            ws.column_dimensions[get_column_letter(i + 1)].width = width
        for b in self.blocks:
            if any(header_wraps(c, widths[i]) for i, c in enumerate(b.columns)):
                ws.row_dimensions[b.first_row].height = 30
        ws.freeze_panes = "A2"
        ws.page_setup.orientation = "landscape"
        ws.sheet_properties.pageSetUpPr.fitToPage = True  # printed: all columns on one page width
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        current = 1  # the next sheet row append() writes
        total = 0
        for b in self.blocks:
            heading = b.first_row - 1 if b.title and b.first_row > 1 else None
            while current < (heading or b.first_row):
                ws.append([])
                current += 1
            if heading and b.title:
                ws.append([section_cell(ws, b.title)])
                current += 1
            ws.append([header_cell(ws, c.header) for c in b.columns])
            current += 1
            make = RowMaker(ws, b.columns, wrap_text=b is not self.blocks[0])
            for row in b.rows or [[None] * len(b.columns)]:
                ws.append(make(row))
                current += 1
            total += len(b.rows)
            ref = f"A{b.first_row}:{get_column_letter(len(b.columns))}{b.last_row}"
            table = Table(
                displayName=b.name,
                ref=ref,
                tableColumns=[TableColumn(id=i + 1, name=_unique_header(b.columns, i)) for i in range(len(b.columns))],
                autoFilter=AutoFilter(ref=ref),
                tableStyleInfo=TableStyleInfo(name="TableStyleLight9", showRowStripes=True),
            )
            with warnings.catch_warnings():
                # openpyxl warns in write-only mode that columns must be given: they are.
                warnings.filterwarnings("ignore", message="In write-only mode you must add table columns manually")
                ws.add_table(table)
        for chart, anchor in self.charts:
            ws.add_chart(chart, anchor)
        return total

    def chart_anchor(self, index: int) -> str:
        """Charts stack in a column right of the widest table, 16 rows apart."""
        return f"{get_column_letter(self.width + 2)}{1 + 16 * index}"


def _unique_header(columns: Sequence[Column], i: int) -> str:
    # Excel table column names must be unique within the table.
    name = clean_text(columns[i].header)
    earlier = [clean_text(c.header) for c in columns[:i]]
    return name if name not in earlier else f"{name} ({earlier.count(name) + 1})"


# --- key/value tables (About) ------------------------------------------------------------------


def write_key_values(book: Book, name: str, rows: Iterable[tuple[str, str, object]]) -> int:
    """A Section | Item | Value table: the About sheet. Values keep their type."""
    sheet = TableSheet(book, name, [Column("Section", LABEL), Column("Item", LABEL), Column("Value", MIXED, width=90)])
    for section, item, value in rows:
        sheet.add([section, item, value])
    return sheet.close()


def typed_value(ws, value):
    """One value of mixed type (About, patient details) as a typed cell."""
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, bool):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = BOOL_FORMAT
        return cell
    if isinstance(value, (int, float)) or value is None:
        return value
    made = safe(ws, value)
    if isinstance(made, str) and len(made) > WRAP_FROM:
        cell = WriteOnlyCell(ws, value=made)
        cell.alignment = WRAP_ALIGNMENT
        return cell
    if isinstance(made, Cell) and len(made.value) > WRAP_FROM:
        made.alignment = WRAP_ALIGNMENT
    return made


def mixed_length(value) -> int:
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    return display_length(LABEL, value)
