"""``teamdash summary CLINIC_ID --out FILE``: the PDF or text written, the audit event,
and one-line errors with exit code 2 (nothing written) for an unknown patient, a bad
date, an existing file or a missing folder. It renders offscreen, without a display."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from teamdash.services import audit, checkin_summary, patients
from teamdash.services.auth import SYSTEM
from tests.databases import url_of
from tests.demo_facts import DEMO_TODAY
from tests.ui.pdf_helpers import needs_poppler, pdf_info, pdf_text
from ui.cli import main


def run(capsys, clinic, *argv):
    code = main(["--db", url_of(clinic), "summary", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@needs_poppler
def test_summary_pdf(qapp, clinic, capsys, tmp_path):
    target = tmp_path / "td8.pdf"
    code, out, err = run(capsys, clinic, "TD-00008", "--out", str(target), "--page-size", "Letter")
    assert (code, err) == (0, "")
    summary = checkin_summary.build_summary(SYSTEM, patients.find_by_clinic_id(SYSTEM, "TD-00008").id)
    pages = int(pdf_info(target)["Pages"])
    assert out == (
        f"wrote the check-in summary of TD-00008 ({summary.period.label}) to {target}, {pages} pages Letter\n"
    )
    assert pdf_info(target)["Page size"].endswith("(letter)")
    text = pdf_text(target)
    assert "TD-00008" in text and summary.patient.full_name in text and "draft, not saved" in text
    event = audit.events(patient_id=summary.patient.id, action_prefix="summary.")[0]
    assert (event.action, event.details["file"], event.details["privacy"]) == ("summary.pdf", "td8.pdf", False)
    assert not list(tmp_path.glob(".*.part"))  # written beside, then moved in place


@needs_poppler
def test_privacy_since_and_handout(qapp, clinic, capsys, tmp_path):
    target = tmp_path / "private.pdf"
    code, _out, _err = run(capsys, clinic, "TD-00008", "--out", str(target), "--privacy", "--since", "2026-09-01")
    assert code == 0
    text = pdf_text(target)
    name = patients.find_by_clinic_id(SYSTEM, "TD-00008").full_name
    assert "TD-00008" in text and "01 Sep 2026 – 27 Nov 2026" in text
    assert not any(part in text for part in name.split())
    handout = tmp_path / "handout.pdf"
    code, out, _err = run(capsys, clinic, "TD-00008", "--out", str(handout), "--handout")
    assert code == 0 and out.startswith("wrote the handout of TD-00008")
    assert "Your progress" in pdf_text(handout) and "If you have a flare-up" in pdf_text(handout)


def test_text_for_the_record_system(clinic, capsys, tmp_path):
    target = tmp_path / "td8.txt"
    code, out, err = run(capsys, clinic, "TD-00008", "--out", str(target), "--text")
    assert code == 0 and err == "" and out.endswith(f"to {target}\n")
    summary = checkin_summary.build_summary(SYSTEM, patients.find_by_clinic_id(SYSTEM, "TD-00008").id)
    from teamdash.services import checkin_text

    assert target.read_text(encoding="utf-8") == checkin_text.summary_text(summary)
    assert audit.events(patient_id=summary.patient.id, action_prefix="summary.")[0].action == "summary.text"


def test_a_saved_checkin_as_signed_off(qapp, clinic, capsys, tmp_path):
    patient = patients.find_by_clinic_id(SYSTEM, "TD-00008")
    checkin_summary.save_checkin(
        SYSTEM, patient.id, held_on=DEMO_TODAY, attendees=[], narrative="Signed off today", plan=None, next_checkin=None
    )
    target = tmp_path / "signed.txt"
    code, _out, err = run(
        capsys, clinic, "TD-00008", "--out", str(target), "--text", "--checkin", DEMO_TODAY.isoformat()
    )
    assert code == 0, err
    assert "Signed off today" in target.read_text(encoding="utf-8")
    code, _out, err = run(capsys, clinic, "TD-00008", "--out", str(tmp_path / "x.txt"), "--checkin", "2026-11-02")
    assert code == 2 and err == "teamdash: error: TD-00008 has no check-in on 2026-11-02\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["TD-99999"], "teamdash: error: no patient with clinic ID 'TD-99999'\n"),
        (
            ["TD-00008", "--since", "2026-02-30"],
            "teamdash: error: --since: '2026-02-30' is not a date (use YYYY-MM-DD)\n",
        ),
        (
            ["TD-00008", "--since", "2026-12-24"],
            "teamdash: error: --since: 2026-12-24 is after today (2026-11-27)\n",
        ),
        (["TD-00008", "--page-size", "A3"], "argument --page-size: invalid choice: 'A3'"),
        (["TD-00008", "--text", "--handout"], "teamdash: error: --text: choose --text or --handout, not both\n"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(clinic, capsys, tmp_path, argv, message):
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, err = run(capsys, clinic, *argv, "--out", str(folder / "out.pdf"))
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert not list(folder.iterdir())


def test_an_existing_file_is_kept_unless_force(qapp, clinic, capsys, tmp_path):
    target = tmp_path / "td8.txt"
    target.write_text("keep me")
    code, _out, err = run(capsys, clinic, "TD-00008", "--out", str(target), "--text")
    assert code == 2
    assert err == f"teamdash: error: --out: {target} already exists; choose a new file name, or --force to replace it\n"
    assert target.read_text() == "keep me"
    code, _out, _err = run(capsys, clinic, "TD-00008", "--out", str(target), "--text", "--force")
    assert code == 0 and target.read_text().startswith("Check-in summary: ")
    missing = tmp_path / "nowhere" / "td8.pdf"
    code, _out, err = run(capsys, clinic, "TD-00008", "--out", str(missing))
    assert code == 2 and "does not exist; create it first" in err


@needs_poppler
def test_renders_offscreen_in_a_fresh_process_without_a_display(clinic, tmp_path):
    script = Path(sys.executable).parent / "teamdash"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    target = tmp_path / "fresh.pdf"
    done = subprocess.run(
        [str(script), "--db", url_of(clinic), "summary", "TD-00008", "--out", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "TD-00008" in pdf_text(target)
