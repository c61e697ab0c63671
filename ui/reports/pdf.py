"""Paged reports through Qt's own PDF writer and printer: the check-in summary, the
patient's handout and (later) the meeting minutes all go through here.

A ``Report`` is rich text (Qt's HTML subset) with figure placeholders, a title and the
ID of the person it is about. ``write_pdf`` and ``print_report`` lay it out on A4 or
Letter pages, paint every figure as vectors where its placeholder landed, and draw a
running header (title, ID) and footer (note, "Page n of N") on every page.
``show_in`` puts the same report into a ``QTextBrowser`` for the on-screen preview,
with the figures as high-resolution images.

How to build one::

    def html(units: Units) -> str:
        return f"<h1>Minutes</h1><p>…</p>{units.figure('agenda')}"

    report = Report(title="Team meeting minutes", subject="Meeting 2026-11-27",
                    html=html, figures={"agenda": Figure("agenda", 170, 60, paint_agenda)},
                    footer="Confidential")
    pages = write_pdf(Path("minutes.pdf"), report, page_size="A4")

Lengths in the HTML are CSS pixels (1/96 inch): Qt scales them, and the figure
placeholders, to the device's resolution, so ``Units.px(pt)`` and ``Units.mm(mm)``
come out the same on a 300 dpi PDF and on the screen.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLocale, QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextBlock,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QTextBrowser

PAGE_SIZES = {"A4": QPageSize.PageSizeId.A4, "Letter": QPageSize.PageSizeId.Letter}
PDF_DPI = 300
SCREEN_DPI = 96.0
MM_PER_INCH = 25.4
FONT_FAMILY = "DejaVu Sans"  # ships with the Qt wheels' Linux fonts and most systems; Qt falls back otherwise
RULE = QColor("#9aa5b1")
HEADER_TEXT = QColor("#3d4a57")

# paint(painter, rect): draws a figure into rect (device units) on any paint device.
Paint = Callable[[QPainter, QRectF], None]


@dataclass(frozen=True)
class Figure:
    """A chart or drawing placed in the text where ``Units.figure(name)`` put it."""

    name: str
    width_mm: float
    height_mm: float
    paint: Paint
    description: str = ""  # what it shows, for the image's alternative text


@dataclass(frozen=True)
class PageSetup:
    page_size: str = "A4"  # "A4" or "Letter"
    margins_mm: tuple[float, float, float, float] = (18.0, 20.0, 18.0, 18.0)  # left, top, right, bottom
    header_mm: float = 9.0  # the running header sits in the top margin, the footer in the bottom one


@dataclass(frozen=True)
class Report:
    title: str  # the running header's left side and the PDF's title (never a patient's name)
    subject: str  # on every page, top right: the patient ID ("Patient TD-00008")
    html: Callable[[Units], str]
    figures: Mapping[str, Figure] = field(default_factory=dict)
    footer: str = ""  # bottom left of every page
    base_pt: float = 10.0  # body text size
    style: str = ""  # extra CSS after the shared one (a handout's larger headings)


class Units:
    """Lengths for the report's HTML in CSS pixels (1/96 inch, scaled by Qt to the
    device), and the placeholder tag of a figure."""

    def __init__(self, figures: Mapping[str, Figure] | None = None, figure_scale: float = 1.0):
        self.figures: Mapping[str, Figure] = figures or {}
        self.figure_scale = figure_scale  # figures shrink to fit a narrow preview

    def px(self, pt: float) -> int:
        """CSS pixels for a length in points (borders, padding, spacing)."""
        return max(1, round(pt * SCREEN_DPI / 72.0))

    def mm(self, mm: float) -> int:
        return max(1, round(mm * SCREEN_DPI / MM_PER_INCH))

    def figure_size(self, f: Figure) -> tuple[int, int]:
        return self.mm(f.width_mm * self.figure_scale), self.mm(f.height_mm * self.figure_scale)

    def figure(self, name: str) -> str:
        f = self.figures[name]
        alt = f.description.replace('"', "'")
        width, height = self.figure_size(f)
        return (
            f'<img src="figure:{name}" width="{width}" height="{height}" alt="{alt}" style="vertical-align: baseline;">'
        )


def report_font(point_size: float) -> QFont:
    """The reports' font, without typographic ligatures: text copied out of the PDF (or
    read by pdftotext, a screen reader, the record system) keeps plain "fi" and "fl"."""
    font = QFont(FONT_FAMILY)
    font.setPointSizeF(point_size)
    for tag in ("liga", "clig"):
        font.setFeature(QFont.Tag(tag), 0)
    return font


def page_layout(setup: PageSetup) -> QPageLayout:
    """Portrait, the whole sheet as the painting area: the report draws its own margins,
    header and footer."""
    if setup.page_size not in PAGE_SIZES:
        raise ValueError(f"page size must be one of {', '.join(PAGE_SIZES)}, not {setup.page_size!r}")
    layout = QPageLayout(
        QPageSize(PAGE_SIZES[setup.page_size]),
        QPageLayout.Orientation.Portrait,
        QMarginsF(0, 0, 0, 0),
        QPageLayout.Unit.Millimeter,
    )
    layout.setMode(QPageLayout.Mode.FullPageMode)
    return layout


def document(
    report: Report, units: Units, width_px: float, page_height_px: float, device: QPagedPaintDevice
) -> QTextDocument:
    """The report's text laid out in pages of ``width_px`` × ``page_height_px``, measured
    with ``device``'s own font metrics; figure placeholders reserve their space."""
    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(device)
    doc.setDocumentMargin(0)
    doc.setDefaultFont(report_font(report.base_pt))
    doc.setDefaultStyleSheet(_style(units) + report.style)
    doc.setPageSize(QSizeF(width_px, page_height_px))
    _blank_figures(doc, report)
    doc.setHtml(report.html(units))
    _keep_together(doc, page_height_px, device.logicalDpiY() / SCREEN_DPI)
    return doc


MAX_PAGE_BREAK_FIXES = 200


def _keep_together(doc: QTextDocument, page_height: float, device_per_css_px: float) -> None:
    """Move a paragraph, or a table row, that a page break would split to the next page
    whole. Qt breaks between any two lines; a split row reads badly, and the split block
    is drawn on both pages, clipped, so its hidden half would still be text in the PDF.

    A paragraph gets a page break before it. A table row is pushed down by growing the
    row above it (its cells' bottom padding) to the page's end: Qt then drops the row, whose first lines no longer
    fit, to the next page (under the repeated header). A table whose first row would be
    split starts on the next page with the heading before it."""
    layout = doc.documentLayout()
    for _ in range(MAX_PAGE_BREAK_FIXES):
        doc.pageCount()  # lays the document out again after the last change
        split = _first_split_block(doc, layout, page_height)
        if split is None:
            return
        block, first_line_top = split
        cursor = QTextCursor(block)
        table = cursor.currentTable()
        if table is None:
            _break_before(cursor)
            continue
        row = table.cellAt(cursor).row()
        headers = table.format().headerRowCount()
        if row <= headers or row == 0:
            before = QTextCursor(doc)
            before.setPosition(max(0, table.firstPosition() - 1))
            heading = before.block().previous() if before.block().text() == "" else before.block()
            _break_before(QTextCursor(heading if heading.isValid() else before.block()))
            continue
        page_end = (int(first_line_top // page_height) + 1) * page_height
        grow = (page_end - first_line_top) / device_per_css_px + 1
        padding = table.format().cellPadding()
        for column in range(table.columns()):
            cell = table.cellAt(row - 1, column)
            fmt = cell.format().toTableCellFormat()
            base = fmt.bottomPadding() if fmt.hasProperty(QTextFormat.Property.TableCellBottomPadding) else padding
            fmt.setBottomPadding(base + grow)
            cell.setFormat(fmt)


def _break_before(cursor: QTextCursor) -> None:
    fmt = cursor.blockFormat()
    fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
    cursor.setBlockFormat(fmt)


def _first_split_block(doc: QTextDocument, layout, page_height: float) -> tuple[QTextBlock, float] | None:
    """The first block whose lines lie on two pages (and that fits on one), with the top
    of its first line."""
    block = doc.begin()
    while block.isValid():
        lines = block.layout()
        if lines.lineCount() > 1:
            top = layout.blockBoundingRect(block).top()
            first = lines.lineAt(0)
            last = lines.lineAt(lines.lineCount() - 1)
            first_top = top + first.y()
            first_page = int(first_top // page_height)
            last_page = int((top + last.y() + last.height() - 0.5) // page_height)
            fits = last.y() + last.height() - first.y() < page_height * 0.8
            already = block.blockFormat().pageBreakPolicy() & QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore
            if first_page != last_page and fits and not already:
                return block, first_top
        block = block.next()
    return None


def _style(units: Units) -> str:
    return (
        f"h1 {{ font-size: 17pt; margin-bottom: {units.px(4)}px; }}"
        f"h2 {{ font-size: 12.5pt; margin-top: {units.px(12)}px; margin-bottom: {units.px(4)}px; color: #1f3b5a; }}"
        f"h3 {{ font-size: 10.5pt; margin-top: {units.px(6)}px; margin-bottom: {units.px(2)}px; }}"
        f"p {{ margin-top: 0px; margin-bottom: {units.px(4)}px; }}"
        "th { background-color: #e8edf2; text-align: left; }"
        ".muted { color: #5f6b7a; }"
        ".better { color: #1e6b2a; }"
        ".worse { color: #b3261e; }"
        ".neutral { color: #3d4a57; }"
        ".changed { color: #8a4b00; font-weight: bold; }"
    )


def _figure_rects(doc: QTextDocument, scale: float) -> list[tuple[str, QRectF]]:
    """Where each figure placeholder landed, in document (device) coordinates; ``scale``
    is the device's pixels per CSS pixel."""
    out = []
    layout = doc.documentLayout()
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            fmt = fragment.charFormat()
            if fmt.isImageFormat() and fmt.toImageFormat().name().startswith("figure:"):
                image = fmt.toImageFormat()
                line = block.layout().lineForTextPosition(fragment.position() - block.position())
                if not line.isValid():
                    it += 1
                    continue
                origin = layout.blockBoundingRect(block).topLeft()
                found: Any = line.cursorToX(fragment.position() - block.position())
                x = float(found[0] if isinstance(found, tuple) else found)  # PySide returns (x, position)
                width, height = image.width() * scale, image.height() * scale
                top = origin.y() + line.y() + line.ascent() - height
                out.append((image.name().removeprefix("figure:"), QRectF(origin.x() + x, top, width, height)))
            it += 1
        block = block.next()
    return out


def _blank_figures(doc: QTextDocument, report: Report) -> None:
    """Placeholders reserve the figures' space; the figures are painted on top as vectors."""
    blank = QImage(1, 1, QImage.Format.Format_ARGB32)
    blank.fill(Qt.GlobalColor.transparent)
    for name in report.figures:
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"figure:{name}"), blank)


def render(device: QPagedPaintDevice, report: Report, setup: PageSetup) -> int:
    """Paint the report on ``device`` (a PDF writer or a printer set to full-page mode),
    one page after another; returns the number of pages."""
    dpi = float(device.logicalDpiX())
    units = Units(report.figures)
    left, top, right, bottom = (m * dpi / MM_PER_INCH for m in setup.margins_mm)
    page_w, page_h = device.width(), device.height()
    content = QRectF(left, top, page_w - left - right, page_h - top - bottom)
    doc = document(report, units, content.width(), content.height(), device)
    pages = max(1, doc.pageCount())
    figures = _figure_rects(doc, dpi / SCREEN_DPI)
    painter = QPainter()
    if not painter.begin(device):
        raise OSError("the PDF or printer could not be opened for painting")
    try:
        for page in range(pages):
            if page:
                device.newPage()
            band = QRectF(0, page * content.height(), content.width(), content.height())
            painter.save()
            painter.translate(content.left(), content.top() - band.top())
            painter.setClipRect(band)
            # A line ending exactly on the page's edge belongs to this page only: without
            # the pixel's margin it would also be drawn, hidden, on the next one (and its
            # hidden text would still be found in the PDF).
            doc.drawContents(painter, band.adjusted(0, 1, 0, -1))
            for name, rect in figures:
                if band.intersects(rect) and name in report.figures:
                    painter.save()
                    report.figures[name].paint(painter, rect)
                    painter.restore()
            painter.restore()
            _header_footer(painter, report, setup, dpi, content, page + 1, pages)
    finally:
        painter.end()
    return pages


def _header_footer(
    painter: QPainter, report: Report, setup: PageSetup, dpi: float, content: QRectF, page: int, pages: int
) -> None:
    painter.save()
    font = report_font(8)
    painter.setFont(font)
    painter.setPen(HEADER_TEXT)
    gap = 2.5 * dpi / MM_PER_INCH
    line_h = setup.header_mm * dpi / MM_PER_INCH / 2
    head = QRectF(content.left(), content.top() - gap - line_h, content.width(), line_h)
    flags = Qt.AlignmentFlag.AlignVCenter
    painter.drawText(head, flags | Qt.AlignmentFlag.AlignLeft, report.title)
    bold = QFont(font)
    bold.setBold(True)
    painter.setFont(bold)
    painter.drawText(head, flags | Qt.AlignmentFlag.AlignRight, report.subject)
    painter.setFont(font)
    foot = QRectF(content.left(), content.bottom() + gap, content.width(), line_h)
    painter.drawText(foot, flags | Qt.AlignmentFlag.AlignLeft, report.footer)
    painter.drawText(foot, flags | Qt.AlignmentFlag.AlignRight, f"Page {page} of {pages}")
    pen = QPen(RULE)
    pen.setWidthF(max(1.0, dpi / 300))
    painter.setPen(pen)
    painter.drawLine(
        QPointF(content.left(), head.bottom() + gap / 3), QPointF(content.right(), head.bottom() + gap / 3)
    )
    painter.drawLine(QPointF(content.left(), foot.top() - gap / 3), QPointF(content.right(), foot.top() - gap / 3))
    painter.restore()


def write_pdf(path: Path | str, report: Report, *, page_size: str = "A4") -> int:
    """Write the report as a PDF through Qt's PDF writer; returns the number of pages.
    The caller has checked the path (``teamdash.files.output_file``)."""
    setup = PageSetup(page_size=page_size)
    writer = QPdfWriter(str(path))
    writer.setResolution(PDF_DPI)
    writer.setPageLayout(page_layout(setup))
    writer.setTitle(report.title + (f" — {report.subject}" if report.subject else ""))
    writer.setCreator("TeamDash")
    pages = render(writer, report, setup)
    del writer  # closes the file
    return pages


def print_report(printer: QPrinter, report: Report, *, page_size: str | None = None) -> int:
    """Print on a printer the user chose (QPrintDialog); the page size is the printer's
    unless given."""
    size = page_size or _size_name(printer.pageLayout().pageSize())
    setup = PageSetup(page_size=size)
    printer.setFullPage(True)
    printer.setPageLayout(page_layout(setup))
    printer.setDocName(report.title + (f" — {report.subject}" if report.subject else ""))
    return render(printer, report, setup)


def _size_name(size: QPageSize) -> str:
    return "Letter" if size.id() == QPageSize.PageSizeId.Letter else "A4"


def locale_page_size() -> str:
    """Letter where the locale measures in US units, A4 elsewhere."""
    return "Letter" if QLocale.system().measurementSystem() == QLocale.MeasurementSystem.ImperialUSSystem else "A4"


def show_in(browser: QTextBrowser, report: Report, *, widest_figure_row_mm: float = 0.0) -> QTextDocument:
    """The report in a text browser, laid out at the browser's width, figures as images
    at the screen's pixel density (sharp on high-DPI screens). Figures shrink when the
    browser is narrower than ``widest_figure_row_mm`` (figures side by side)."""
    margin = Units().px(10)
    room = browser.viewport().width() - 2 * margin - 24
    needed = Units().mm(widest_figure_row_mm) if widest_figure_row_mm else 0
    units = Units(report.figures, min(1.0, room / needed) if needed and room > 0 else 1.0)
    doc = QTextDocument(browser)
    doc.setDocumentMargin(margin)
    # The UI's size on screen (it follows the projector scale), the report's on paper.
    doc.setDefaultFont(report_font(max(report.base_pt, browser.font().pointSizeF())))
    doc.setDefaultStyleSheet(_style(units) + report.style)
    ratio = max(1.0, browser.devicePixelRatioF())
    for name, f in report.figures.items():
        w, h = units.figure_size(f)
        image = QImage(math.ceil(w * ratio), math.ceil(h * ratio), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.setDotsPerMeterX(round(SCREEN_DPI / MM_PER_INCH * 1000))
        image.setDotsPerMeterY(round(SCREEN_DPI / MM_PER_INCH * 1000))
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        f.paint(painter, QRectF(0, 0, w, h))
        painter.end()
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"figure:{name}"), image)
    doc.setHtml(report.html(units))
    browser.setDocument(doc)
    return doc
