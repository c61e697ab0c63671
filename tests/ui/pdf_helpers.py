"""Reading PDFs back the way a person would see them: text with poppler's pdftotext,
pages rendered with pdftoppm (poppler-utils; .ci/run installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm") and shutil.which("pdfinfo")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdftoppm) is not installed")


def pdf_text(path: Path, page: int | None = None, *, layout: bool = False) -> str:
    """The text in reading order, whitespace (line ends inside table cells) folded; with
    ``layout``, as laid out on the page (a running header stays one line)."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    mode = ["-layout"] if layout else []
    out = subprocess.run(
        ["pdftotext", *mode, *pages, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return out if layout else " ".join(out.split())


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}


def page_count(path: Path) -> int:
    return int(pdf_info(path)["Pages"])


def render_pages(path: Path, folder: Path, dpi: int = 40) -> list[QImage]:
    """Every page as an image (pdftoppm), in page order."""
    prefix = folder / path.stem
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(path), str(prefix)], check=True)
    files = sorted(folder.glob(f"{path.stem}-*.png"), key=lambda p: int(re.findall(r"-(\d+)\.png$", p.name)[0]))
    return [QImage(str(f)) for f in files]


def inked_share(image: QImage) -> float:
    """The share of sampled pixels that are not white: 0 for a blank page."""
    inked = total = 0
    for y in range(0, image.height(), 4):
        for x in range(0, image.width(), 4):
            total += 1
            inked += image.pixelColor(x, y).lightness() < 240
    return inked / max(1, total)
