"""The minutes as a PDF through Qt's own PDF writer: A4, the text laid out by a
``QTextDocument`` page by page, and on every page a footer with the meeting's date and
"page n of m". Names are initials in presentation mode (the caller's HTML says so);
the footer never names a patient.

A small renderer of its own; when the shared report helper lands it can move onto it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

from teamdash.services.meetings import Minutes

RESOLUTION = 300  # dots per inch: crisp text, small files
MARGINS_MM = QMarginsF(18, 16, 18, 14)
FOOTER_PT = 8.5


def write_minutes_pdf(minutes: Minutes, path: Path, *, privacy: bool, html: str) -> int:
    """Write the minutes to ``path``; returns the number of pages. Raises ``OSError``
    when the file cannot be written."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder {path.parent} does not exist")
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            MARGINS_MM,
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(f"Team meeting minutes {minutes.held_on.isoformat()}")
    writer.setCreator("TeamDash")
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write {path}")
    try:
        return _paint(painter, writer, minutes, html, privacy)
    finally:
        painter.end()


def _paint(painter: QPainter, writer: QPdfWriter, minutes: Minutes, html: str, privacy: bool) -> int:
    page = writer.pageLayout().paintRectPixels(writer.resolution())
    footer_font = QFont()
    footer_font.setPointSizeF(FOOTER_PT)
    painter.setFont(footer_font)
    footer_height = painter.fontMetrics().height() * 2
    body = QSizeF(page.width(), page.height() - footer_height)
    document = QTextDocument()
    document.documentLayout().setPaintDevice(writer)  # fonts measured at the writer's resolution
    base = QFont()
    base.setPointSizeF(10)
    # No ligatures: "Wrenfield" must copy and search as typed, not with an "ﬁ" glyph.
    for tag in ("liga", "clig"):
        base.setFeature(QFont.Tag(tag), 0)
    document.setDefaultFont(base)
    document.setHtml(html)
    document.setPageSize(body)
    pages = max(1, document.pageCount())
    note = " · patients by initials and clinic ID" if privacy else ""
    for number in range(pages):
        if number:
            writer.newPage()
        painter.save()
        painter.translate(0, -number * body.height())
        document.drawContents(painter, QRectF(0, number * body.height(), body.width(), body.height()))
        painter.restore()
        painter.setFont(footer_font)
        painter.setPen(Qt.GlobalColor.darkGray)
        footer = QRectF(0, page.height() - footer_height * 0.8, page.width(), footer_height * 0.8)
        painter.drawText(
            footer,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            f"Team meeting minutes · {minutes.held_on.day} {minutes.held_on:%b %Y}{note}",
        )
        painter.drawText(
            footer, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), f"page {number + 1} of {pages}"
        )
    return pages
