"""Colours that carry clinical meaning in the panels: severity bands, better/worse,
overdue. One place, so every panel reads the same way (and colour is never the only
cue: each chip also carries its label)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from teamdash.clinical.instruments import Instrument

# Best to worst: green, yellow-green, amber, orange, red (readable on a projector).
SEVERITY_STEPS = ("#2e7d32", "#7cb342", "#f9a825", "#ef6c00", "#c62828")
BETTER = "#2e7d32"
WORSE = "#c62828"
NEUTRAL = "#5f6b7a"
MUTED = "#8a94a3"
OVERDUE = "#b45309"
SAFETY = "#b71c1c"
SAFETY_BACKGROUND = "#fdecea"
ACKNOWLEDGED_BACKGROUND = "#f3f4f6"
CARD_BORDER = "#d7dce3"
TRACK = "#e6e9ee"

TONES = {"better": BETTER, "worse": WORSE, "neutral": NEUTRAL}


def _max_severity(inst: Instrument) -> int:
    severities = [b.severity for b in inst.bands]
    if inst.scoring is not None:
        severities += [g.severity for g in inst.scoring.subgroups]
    return max(severities, default=0)


def severity_colour(inst: Instrument, severity: int | None) -> QColor:
    """The band's colour on the instrument's own scale: two bands run green → red, five
    bands step through amber. Unknown severity is neutral grey."""
    top = _max_severity(inst)
    if severity is None or top == 0:
        return QColor(NEUTRAL)
    step = round(severity / top * (len(SEVERITY_STEPS) - 1))
    return QColor(SEVERITY_STEPS[max(0, min(step, len(SEVERITY_STEPS) - 1))])


def text_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background``."""
    luminance = 0.299 * background.redF() + 0.587 * background.greenF() + 0.114 * background.blueF()
    return QColor("#1b1f24") if luminance > 0.6 else QColor("#ffffff")
