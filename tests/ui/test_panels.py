"""What the discipline panels show for demo patients, checked against the services and
analytics they summarise, and how they refresh after writes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QPushButton

from teamdash import clock
from teamdash.clinical import analytics, disciplines, instruments, programme
from teamdash.errors import NotFound
from teamdash.services import goals, measurements, sessions, sleep_diary
from teamdash.services.flares import FLARES
from tests.demo_facts import PLAIN_PATIENT, SAFETY_PATIENT
from tests.ui.helpers import get_record, settle
from ui.changes import Changes
from ui.panels import create_panel
from ui.panels.discipline_panel import known_parts
from ui.panels.instrument_rows import describe_change, instrument_row
from ui.panels.sleep_diary import se_colour
from ui.widgets import palette


@pytest.fixture
def panel_for(qtbot, ui_context):
    def make(code: str, patient_id: int = PLAIN_PATIENT, *, show: bool = True):
        panel = create_panel(code, ui_context)
        qtbot.addWidget(panel)
        panel.resize(1400, 900)
        panel.set_record(get_record(ui_context, patient_id))
        if show:
            panel.show()
        return panel

    return make


def cell_texts(table) -> list[dict[str, str]]:
    model = table.rows_model
    headers = [c.header for c in model.columns]
    return [{h: model.index(r, c).data() for c, h in enumerate(headers)} for r in range(model.rowCount())]


def test_every_discipline_gets_a_panel_and_unknown_ones_are_refused(qtbot, ui_context):
    for d in disciplines.all_disciplines():
        panel = create_panel(d.code, ui_context)
        qtbot.addWidget(panel)
        assert panel.objectName() == f"panel_{d.code}"
        assert set(d.special_parts) <= known_parts()
        assert set(panel.parts) == set(d.special_parts) - {"safety"}
    with pytest.raises(NotFound):
        create_panel("chiropractic", ui_context)


def test_panel_is_disabled_until_it_has_a_record(qtbot, ui_context):
    panel = create_panel("pt", ui_context)
    qtbot.addWidget(panel)
    assert not panel.isEnabled()
    panel.set_record(get_record(ui_context, PLAIN_PATIENT))
    assert panel.isEnabled()


# --- measures ------------------------------------------------------------------------------------


def test_measure_lines_match_the_analytics(qtbot, ui_context, panel_for):
    panel = panel_for("psychology")
    record = panel.record
    for instrument_id in disciplines.get("psychology").key_instruments:
        inst = instruments.get(instrument_id)
        line = panel.instruments.lines[instrument_id]
        series = [
            m
            for m in record.series(instrument_id)
            if m.total is not None and m.taken_at.date() >= record.patient.episode_start
        ]
        latest = max(series, key=lambda m: (m.taken_at, m.id))
        first = series[0]
        assert line.value.text().startswith(inst.format(latest.total))
        assert line.band.text() == (latest.band or "—")
        expected = analytics.change(inst, first.total, latest.total, band_from=first.band, band_to=latest.band)
        text = describe_change(inst, expected)
        assert text.headline in line.from_baseline.text()
        for verdict in text.verdicts:
            assert verdict in line.from_baseline.text()
        assert line.due.text() == f"{analytics.measure_due_date(inst, latest.taken_at):%d %b %Y}"
        assert line.sparkline.point_count() == len(series)


def test_reliable_improvement_and_band_movement_are_spelled_out(qtbot, ui_context, panel_for):
    panel = panel_for("psychology")
    row = instrument_row(panel.record, "phq9")
    assert row.from_baseline.rci_verdict is not None
    text = panel.instruments.lines["phq9"].from_baseline.text()
    assert row.from_baseline.rci_verdict in text
    if row.from_baseline.band_movement:
        assert row.from_baseline.band_movement in text


def test_overdue_measures_are_marked(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    later = get_record(ui_context, PLAIN_PATIENT)
    # The same record judged four months on: every measure is past its interval.
    future = dataclasses.replace(later, today=later.today + dt.timedelta(days=120))
    panel.set_record(future)
    line = panel.instruments.lines["odi"]
    assert line.due.text().startswith("Overdue since")
    assert "overdue" in panel.instruments.summary.text()


def test_a_measure_never_taken_says_so(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    rmdq = panel.instruments.lines["rmdq"]  # the demo records ODI, not RMDQ
    assert rmdq.value.text() == "–"
    assert rmdq.count.text() == "not recorded"
    assert not rmdq.history.isEnabled() and rmdq.record.isEnabled()


# --- sessions and goals -----------------------------------------------------------------------------


def test_sessions_table_and_attendance_rate(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    own = [s for s in sessions.list_sessions(ui_context.actor, PLAIN_PATIENT) if s.discipline == "pt"]
    rows = panel.sessions.table.rows_model.rows
    assert [r.id for r in rows] == [s.id for s in sorted(own, key=lambda s: s.held_at, reverse=True)]
    now = clock.now()
    counts = sessions.attendance(own, "pt", until=now)
    assert panel.sessions.summary.text().startswith(
        f"Attendance {counts.rate:.0%} · {counts.attended} of {counts.booked} attended"
    )
    shown = cell_texts(panel.sessions.table)
    no_show = next((n for n, r in enumerate(rows) if r.attendance == "no_show"), None)
    if no_show is not None:
        assert shown[no_show]["Attendance"] == "No-show" and shown[no_show]["Minutes"] == "—"


def test_goal_progress_comes_from_the_linked_measure(qtbot, ui_context, panel_for):
    panel = panel_for("sleep")
    for view in panel.goals.table.rows_model.rows:
        goal = view.goal
        latest = (
            [m for m in panel.record.series(goal.instrument) if m.total is not None][-1].total
            if goal.instrument
            else None
        )
        assert view.progress == goals.progress(goal, latest)
        assert goal.discipline == "sleep"


# --- safety --------------------------------------------------------------------------------------------


def test_open_safety_flags_show_on_every_tab_and_cannot_be_hidden(qtbot, ui_context, panel_for):
    flagged = [m for m in measurements.list_measurements(ui_context.actor, SAFETY_PATIENT) if m.safety_open]
    assert len(flagged) == 2
    newest = max(flagged, key=lambda m: m.taken_at)
    for d in disciplines.all_disciplines():
        panel = panel_for(d.code, SAFETY_PATIENT)
        assert panel.safety.isVisible()
        assert panel.safety.open_count() == 2
        buttons = sorted(b.objectName() for b in panel.safety.findChildren(QPushButton))
        if d.code == "psychology":  # the full history: one box and button per flag
            assert buttons == sorted(f"acknowledge_{m.id}" for m in flagged)
        else:  # one slim strip naming both dates, acknowledging the newest first
            assert buttons == [f"acknowledge_{newest.id}"]
            text = panel.safety.findChild(QLabel, "safety_text").text()
            assert "2 safety flags not yet acknowledged" in text
            assert all(f"{m.taken_at:%d %b %Y}" in text for m in flagged)
        # the only buttons are Acknowledge: there is no close or hide control


def test_no_flag_no_banner_except_the_quiet_line_in_psychology(qtbot, ui_context, panel_for):
    assert not panel_for("pt").safety.isVisible()
    psychology = panel_for("psychology")
    assert psychology.safety.isVisible() and psychology.safety.none.isVisible()


# --- discipline parts ------------------------------------------------------------------------------------


def test_graded_activity_figures_and_adherence(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    part = panel.parts["graded_activity"]
    chosen = panel.record.graded_plans[-1]
    plan = chosen.plan
    assert part.plan.figures["current"].text() == f"<b>{plan.current_level:g} {plan.unit}</b>"
    assert part.plan.figures["target"].text() == f"{plan.target_level:g} {plan.unit}"
    assert part.plan.progress.value() == plan.progress
    recent = [w.adherence_pct for w in chosen.weeks][-4:]
    assert f"{sum(recent) / len(recent):.0f} % over the last 4 logged weeks" in part.plan.adherence.text()
    assert len(part.weeks.table.rows_model.rows) == len(chosen.weeks)
    assert len(part.plan.chart.getPlotItem().listDataItems()) == 2  # planned and achieved


def test_course_progress_and_practice(qtbot, ui_context, panel_for):
    panel = panel_for("psychology")
    course = panel.record.courses[-1]
    part = panel.parts["courses"]
    assert part.course.modules.format() == f"{course.course.modules_done} of {course.course.modules_total} modules done"
    assert [p.minutes for p in part.practice.table.rows_model.rows] == [p.minutes for p in reversed(course.practice)]


def test_sleep_diary_nights_and_weekly_means(qtbot, ui_context, panel_for):
    panel = panel_for("sleep", SAFETY_PATIENT)
    nights = sleep_diary.NIGHTS.list(ui_context.actor, SAFETY_PATIENT)
    assert nights, "the demo patient keeps a diary"
    part = panel.parts["sleep_diary"]
    shown = cell_texts(part.nights.table)
    newest = max(nights, key=lambda n: n.night_of)
    tst = int(round(newest.tst_minutes))
    assert shown[0]["TST"] == f"{tst // 60} h {tst % 60:02d}"
    assert shown[0]["SE"] == f"{newest.efficiency:.0f} %"
    weeks = sleep_diary.weekly_means(nights)
    assert [w.week_start for w in part.trend.weeks.rows_model.rows] == [w.week_start for w in reversed(weeks)]
    assert f"efficiency {weeks[-1].efficiency:.0f} %" in part.trend.summary.text()
    assert "sleep_diary" not in panel.instruments.lines  # the diary has its own part
    # Each night's efficiency is coloured by the programme's target (met, near, below).
    model = part.nights.table.rows_model
    se = [c.header for c in model.columns].index("SE")
    expected = {"met": palette.BETTER, "near": palette.OVERDUE, "below": palette.WORSE}
    for row, night in enumerate(model.rows):
        colour = model.index(row, se).data(Qt.ItemDataRole.ForegroundRole)
        assert colour.color().name() == QColor(expected[programme.se_rating(night.efficiency)]).name()
    assert [se_colour(v) for v in (85, 84, 75, 74, None)] == [
        palette.BETTER,
        palette.OVERDUE,
        palette.OVERDUE,
        palette.WORSE,
        None,
    ]


def test_body_measures_trend_uses_weight_from_bmi(qtbot, ui_context, panel_for):
    panel = panel_for("nutrition")
    bmi = [m for m in panel.record.series("bmi") if m.total is not None]
    card = panel.parts["body_measures"]
    assert card.headlines["weight"].text().startswith(f"{float(bmi[-1].responses[0]):.1f} kg")
    assert card.headlines["bmi"].text().startswith(f"{bmi[-1].total:.1f} kg/m²")


def test_return_to_work_timeline_and_plan_items(qtbot, ui_context, panel_for):
    panel = panel_for("social", SAFETY_PATIENT)
    part = panel.parts["return_to_work"]
    phases = panel.record.rtw_phases
    assert [p.id for p, _start, _end in part.timeline.spans] == [
        p.id for p in sorted(phases, key=lambda p: p.started_on)
    ]
    assert part.timeline.spans[-1][2] == panel.record.today  # the current phase runs to today
    current = panel.record.current_rtw_phase
    assert current.label in part.current.text()
    weeks = programme.weeks_in_phase(current.started_on, panel.record.today)
    assert f"since {current.started_on:%d %b %Y} ({weeks} week" in part.current.text()
    categories = {r.category for r in panel.plan_items.table.rows_model.rows}
    assert categories <= set(disciplines.get("social").plan_categories)
    assert panel.plan_items.title.text() == disciplines.get("social").plan_title


def test_presentation_mode_shows_supporters_by_initials(qtbot, ui_context, panel_for):
    panel = panel_for("social")
    card = panel.parts["support_network"]
    names = [c.name for c in panel.record.contacts]
    assert [r["Person"] for r in cell_texts(card.table)] == names
    ui_context.presentation.set_privacy(True)
    shown = [r["Person"] for r in cell_texts(card.table)]
    assert all(name not in shown for name in names)
    assert shown[0] == "".join(p[0].upper() + "." for p in names[0].split())


def test_flare_log_lists_newest_first(qtbot, ui_context, panel_for):
    panel = panel_for("pt", PLAIN_PATIENT)
    rows = panel.parts["flares"].table.rows_model.rows
    assert len(rows) == 2, "the demo patient logged two flares"
    assert [r.id for r in rows] == [
        f.id for f in sorted(FLARES.list(ui_context.actor, PLAIN_PATIENT), key=lambda f: f.started_on, reverse=True)
    ]
    assert panel.parts["flares"].summary.text().startswith("0 in the last 90 days")


def test_flare_summary_counts_the_programmes_recent_window(qtbot, ui_context, panel_for):
    today = ui_context.today()
    for days_ago in (90, 91):  # the first is recent (the window's first day), the second not
        FLARES.add(ui_context.actor, PLAIN_PATIENT, started_on=today - dt.timedelta(days=days_ago), severity=6)
    panel = panel_for("pt", PLAIN_PATIENT)
    record = panel.record
    assert programme.count_recent_flares((f.started_on for f in record.flares), today) == 1
    assert panel.parts["flares"].summary.text().startswith("1 in the last 90 days")


# --- refreshing ---------------------------------------------------------------------------------------------


def test_visible_panel_reloads_after_a_write_elsewhere(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    before = panel.instruments.lines["nrs_pain"].count.text()
    m = measurements.record_measurement(ui_context.actor, PLAIN_PATIENT, "nrs_pain", [9])
    with qtbot.waitSignal(panel.record_loaded):
        ui_context.changes.emit(Changes.of(PLAIN_PATIENT, "measurement"))
    line = panel.instruments.lines["nrs_pain"]
    assert line.value.text() == "9/10" and line.count.text() != before
    assert any(x.id == m.id for x in panel.record.measurements)


def test_hidden_panel_reloads_when_shown_and_other_patients_are_ignored(qtbot, ui_context, panel_for):
    panel = panel_for("pt", show=False)
    loads: list = []
    panel.record_loaded.connect(loads.append)
    ui_context.changes.emit(Changes.of(PLAIN_PATIENT + 1, "measurement"))  # someone else
    ui_context.changes.emit(Changes.of(PLAIN_PATIENT, "measurement"))
    settle(qtbot, ui_context)
    assert loads == []  # hidden: nothing loaded yet
    with qtbot.waitSignal(panel.record_loaded):
        panel.show()
    assert len(loads) == 1


def test_auto_reload_can_be_left_to_the_host(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    panel.auto_reload = False
    loads: list = []
    panel.record_loaded.connect(loads.append)
    ui_context.changes.emit(Changes.of(PLAIN_PATIENT, "measurement"))
    settle(qtbot, ui_context)
    assert loads == []


# --- rendering ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [d.code for d in disciplines.all_disciplines()])
def test_each_panel_renders_for_a_demo_patient(qtbot, ui_context, panel_for, tmp_path, code):
    panel = panel_for(code, SAFETY_PATIENT)
    content = panel.widget()
    content.resize(1400, max(900, content.sizeHint().height()))
    image = content.grab().toImage()
    assert (image.width(), image.height()) == (content.width(), content.height())
    assert content.height() >= 900 and content.width() > 1300
    assert image.save(str(tmp_path / f"{code}.png"))
