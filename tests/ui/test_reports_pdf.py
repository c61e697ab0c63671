"""The check-in summary and the handout as PDFs through Qt's PDF writer: the text a
reader (and pdftotext) finds, the patient ID and page number on every page, A4 and
Letter, no name in privacy mode, charts drawn as vectors, pages that render."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.clinical import instruments
from teamdash.services import checkin_summary, handout, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.checkin_summary import Signoff
from tests.demo_facts import DEMO_TODAY
from tests.ui.pdf_helpers import inked_share, needs_poppler, page_count, pdf_info, pdf_text, render_pages
from ui.reports import pdf, summary_doc

pytestmark = needs_poppler

NARRATIVE = "Walking further; used the flare plan within a day."
SIGNOFF = Signoff(DEMO_TODAY, ("Morgan Quillfeather",), NARRATIVE, "Walk 35 minutes a day", dt.date(2027, 1, 8))


@pytest.fixture
def summary(qapp, clinic):
    return checkin_summary.build_summary(SYSTEM, patients.find_by_clinic_id(SYSTEM, "TD-00008").id)


@pytest.mark.parametrize(("size", "named"), [("A4", "(A4)"), ("Letter", "(letter)")])
def test_summary_pdf_holds_what_the_team_reads_on_every_page(summary, tmp_path, size, named):
    path = tmp_path / "summary.pdf"
    pages = pdf.write_pdf(path, summary_doc.summary_report(summary, SIGNOFF), page_size=size)
    assert page_count(path) == pages >= 2
    assert pdf_info(path)["Page size"].endswith(named)
    text = pdf_text(path)
    odi = summary.measure("odi")
    for expected in (
        "TD-00008",
        summary.patient.full_name,
        "Oswestry Disability Index",
        "Baseline",
        odi.baseline.text,
        odi.current.text,
        "MCID met",
        "reliable improvement",
        NARRATIVE,
        "Walk 35 minutes a day",
        "Goals",
        "Sessions in the period",
        "Return to work",
    ):
        assert expected in text, expected
    for page in range(1, pages + 1):
        one = pdf_text(path, page, layout=True)
        assert "Patient TD-00008" in one and f"Page {page} of {pages}" in one


def test_privacy_mode_leaves_out_the_name_and_date_of_birth(summary, tmp_path):
    path = tmp_path / "private.pdf"
    pdf.write_pdf(path, summary_doc.summary_report(summary, SIGNOFF, privacy=True))
    text = pdf_text(path)
    assert "TD-00008" in text and "Oswestry" in text
    for part in summary.patient.full_name.split():
        assert part not in text
    assert f"{summary.patient.date_of_birth:%d %b %Y}" not in text
    assert summary.patient.full_name not in pdf_info(path).get("Title", "")


def test_timelines_are_vectors_and_every_page_renders(summary, tmp_path):
    path = tmp_path / "summary.pdf"
    pages = pdf.write_pdf(path, summary_doc.summary_report(summary, SIGNOFF))
    text = pdf_text(path)
    # Text drawn inside the charts is real text in the PDF: they are vectors, not pictures.
    assert f"Baseline {summary.measure('odi').baseline.text}" in text
    assert "check-in" in text and "aim 85 %" in text
    images = render_pages(path, tmp_path)
    assert len(images) == pages
    assert all(image.width() > 300 and inked_share(image) > 0.01 for image in images)


def test_a_saved_checkin_prints_what_changed_since(summary, tmp_path):
    changes = {"measure:odi": "current now 100 % on 20 Nov 2026 (was 16 % on 20 Nov 2026)"}
    path = tmp_path / "saved.pdf"
    pdf.write_pdf(path, summary_doc.summary_report(summary, SIGNOFF, changes=changes))
    text = pdf_text(path)
    assert "Changed since this check-in" in text
    assert "current now 100 % on 20 Nov 2026 (was 16 % on 20 Nov 2026)" in text


def test_the_handout_in_plain_words_and_large_type(summary, tmp_path):
    h = handout.build_handout(summary, SIGNOFF)
    path = tmp_path / "handout.pdf"
    pages = pdf.write_pdf(path, summary_doc.handout_report(h))
    text = pdf_text(path)
    walk = next(m for m in h.measures if m.instrument == "six_minute_walk")
    assert walk.sentence in text
    assert "Your goals" in text and "If you have a flare-up" in text and "Walk 35 minutes a day" in text
    assert summary.patient.full_name in text
    for inst in instruments.library().values():
        assert f" {inst.short_name} " not in f" {text} "
    for page in range(1, pages + 1):
        one = pdf_text(path, page, layout=True)
        assert f"Page {page} of {pages}" in one and "TD-00008" in one
    private = tmp_path / "private-handout.pdf"
    pdf.write_pdf(private, summary_doc.handout_report(handout.build_handout(summary, SIGNOFF, privacy=True)))
    assert summary.patient.full_name not in pdf_text(private)
    assert all(inked_share(image) > 0.01 for image in render_pages(path, tmp_path))
