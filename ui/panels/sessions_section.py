"""A discipline's treatment sessions and its attendance rate."""

from __future__ import annotations

from teamdash import clock
from teamdash.services import sessions
from teamdash.services.chart import PatientRecord
from teamdash.services.sessions import SessionResult
from ui.context import AppContext
from ui.dialogs.kinds import SESSION, label_of
from ui.panels.record_list import RecordListCard
from ui.widgets import palette
from ui.widgets.table import Column

ATTENDANCE_COLOURS = {
    "attended": palette.BETTER,
    "cancelled": palette.NEUTRAL,
    "no_show": palette.WORSE,
    "scheduled": palette.NEUTRAL,
}


def attendance_summary(record: PatientRecord, discipline: str) -> str:
    """'Attendance 85 % · 17 of 20 held (2 cancelled, 1 no-show) · 3 booked ahead'."""
    now = clock.now()
    counts = sessions.attendance(list(record.sessions), discipline, until=now)
    ahead = sum(1 for s in record.sessions if s.discipline == discipline and s.held_at > now)
    if counts.rate is None:
        text = "No sessions held yet"
    else:
        missed = []
        if counts.cancelled:
            missed.append(f"{counts.cancelled} cancelled")
        if counts.no_show:
            missed.append(f"{counts.no_show} no-show{'s' if counts.no_show != 1 else ''}")
        text = f"Attendance {counts.rate:.0%} · {counts.attended} of {counts.booked} attended"
        text += f" ({', '.join(missed)})" if missed else ""
    return text + (f" · {ahead} booked ahead" if ahead else "")


def _attendance_text(s: SessionResult) -> str:
    return label_of(s.attendance).replace("No show", "No-show")


COLUMNS = (
    Column("Date", lambda s: f"{s.held_at:%a %d %b %Y %H:%M}"),
    Column("Clinician", lambda s: s.clinician_name or "—"),
    Column("Kind", lambda s: s.kind),
    Column("Minutes", lambda s: str(s.minutes) if s.attendance == "attended" else "—", numeric=True),
    Column("Attendance", _attendance_text, colour=lambda s: ATTENDANCE_COLOURS.get(s.attendance)),
    Column("Note", lambda s: (s.note or "").replace("\n", " "), stretch=True),
)


class SessionsSection(RecordListCard):
    def __init__(self, discipline: str, context: AppContext):
        super().__init__(
            "Sessions",
            SESSION,
            COLUMNS,
            rows=lambda record: sorted(
                (s for s in record.sessions if s.discipline == discipline), key=lambda s: s.held_at, reverse=True
            ),
            context=context,
            discipline=discipline,
            empty="No sessions recorded for this discipline.",
            summary=lambda record, _rows: attendance_summary(record, discipline),
            max_rows=8,
        )
