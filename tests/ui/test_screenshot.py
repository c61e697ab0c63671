"""``teamdash gui --screenshot``: renders the main window offscreen, writes a real picture,
exits 0; bad arguments exit 2 with one line on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.databases import url_of
from tests.demo_facts import CHOSEN_PATIENT, clinic_id

ROOT = Path(__file__).resolve().parents[2]


def screenshot(clinic, out: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "ui.cli", "--db", url_of(clinic), "gui", "--screenshot", str(out), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def colours(image: QImage, step: int = 4) -> set[int]:
    return {image.pixel(x, y) for y in range(0, image.height(), step) for x in range(0, image.width(), step)}


def test_screenshot_of_the_first_flagged_patient(clinic, tmp_path):
    out = tmp_path / "main.png"
    done = screenshot(clinic, out, "--size", "1366x768")
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1366, 768)
    assert len(colours(image)) > 300  # text, plots, bands, badges: not a blank or half-drawn window
    # The safety banner is drawn: some pixels carry its red.
    red = [c for c in colours(image, 2) if (c >> 16 & 255) > 150 and (c >> 8 & 255) < 60 and (c & 255) < 60]
    assert red


def test_screenshot_of_a_chosen_patient_and_tab(clinic, tmp_path):
    out = tmp_path / "psychology.png"
    done = screenshot(clinic, out, "--patient", clinic_id(CHOSEN_PATIENT), "--tab", "psychology", "--size", "1200x800")
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800) and len(colours(image)) > 150


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--patient", "TD-99999"), "no patient with clinic ID"),
        (("--tab", "cardiology"), "--tab must be one of"),
        (("--size", "big"), "--size must look like"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(clinic, tmp_path, args, message):
    out = tmp_path / "x.png"
    done = screenshot(clinic, out, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_an_empty_database_renders_the_first_start_page(database, tmp_path):
    out = tmp_path / "empty.png"
    done = screenshot(database, out, "--size", "1000x700")
    assert done.returncode == 0, done.stderr
    assert len(colours(QImage(str(out)))) > 20
