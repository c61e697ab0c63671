"""The outcome timelines: the right points at the right dates, bands, lines and markers,
hover text, click to select, range buttons, and patient switches that reuse the plots."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from teamdash.clinical import instruments
from teamdash.services import chart, timelines
from teamdash.services.auth import SYSTEM
from tests.demo_facts import DEMO_TODAY, SAFETY_PATIENT
from ui.timeline import MODE_NORMALISED, RANGE_3M, RANGE_12M, TimelineView
from ui.timeline import checkin_labels as timelines_labels


@pytest.fixture
def view(qtbot, clinic):
    widget = TimelineView()
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    return widget


def patient_record(patient_id: int = SAFETY_PATIENT):
    return chart.get_record(SYSTEM, patient_id, today=DEMO_TODAY)


def epochs(moments) -> list[float]:
    return [
        dt.datetime.combine(m, dt.time.min).timestamp() if not isinstance(m, dt.datetime) else m.timestamp()
        for m in moments
    ]


def test_each_measure_plots_its_values_at_their_dates(view):
    rec = patient_record()
    view.set_record(rec)
    for instrument in ("odi", "nrs_pain", "phq9"):
        expected = [m for m in rec.series(instrument) if m.total is not None]
        xs, ys = view.plot_for(instrument).values()
        assert list(xs) == epochs(m.taken_at for m in expected)
        assert list(ys) == [m.total for m in expected]


def test_the_default_plots_are_the_patients_key_measures(view):
    rec = patient_record()
    view.set_record(rec)
    shown = [s.id for s in view.shown_series()]
    library = instruments.library()
    assert shown and all(library[i].key_measure for i in shown)
    assert {"odi", "nrs_pain", "phq9"} <= set(shown)
    assert "cpaq8" not in shown  # measured, but not a key measure
    grid = view.canvas.ci
    assert {view.plots[i].plot for i in shown} == set(grid.items)


def test_bands_baseline_and_mcid_lines(view):
    rec = patient_record()
    view.set_record(rec)
    odi = view.plot_for("odi")
    definition = instruments.get("odi")
    assert [(r.low, r.high, r.label) for r in odi.backdrop.bands] == [
        (b.low, b.high, b.label) for b in definition.bands
    ]
    first = rec.series("odi")[0]
    assert odi.backdrop.baseline == first.total
    assert odi.backdrop.mcid == timelines.mcid_threshold(definition, first.total)
    phq9 = view.plot_for("phq9")
    assert phq9.backdrop.mcid is None  # PHQ-9 has no MCID in its definition: no line rather than a guess


def test_check_ins_are_vertical_lines_labelled_with_their_date(view):
    rec = patient_record()
    view.set_record(rec)
    top = view.plots[view.shown_series()[0].id].backdrop
    assert [c.x for c in top.checkins] == epochs(c.held_on for c in rec.checkins)

    def label(checkin) -> str:
        return f"{checkin.held_on.day} {checkin.held_on:%b}"

    dated = [c.label.removeprefix("Check-in ") for c in top.dated_checkins()]
    assert dated and set(dated) <= {label(c) for c in rec.checkins}  # overlapping dates are left out
    view.range_buttons[RANGE_3M].click()  # zoomed in, every check-in in view gets its date
    recent = [label(c) for c in rec.checkins if c.held_on >= DEMO_TODAY - dt.timedelta(days=91)]
    assert [c.label.removeprefix("Check-in ") for c in top.dated_checkins()] == recent
    lower = view.plots[view.shown_series()[-1].id].backdrop
    assert lower.checkins == top.checkins and lower.dated_checkins() == []  # lower rows: lines only


def test_check_in_dates_never_overlap():
    markers = [
        timelines.CheckInMarker(i, dt.date(2026, 1, 1), float(x), "Check-in 1 Jan")
        for i, x in enumerate([0, 10, 60, 200])
    ]
    shown = timelines_labels(markers, 0.0, 200.0, 200.0)
    assert [m.checkin_id for m in shown] == [0, 2, 3]  # 10 px after the first: left out
    # By the right edge a date goes left of its line: it must clear the date before it.
    near_edge = [
        timelines.CheckInMarker(i, dt.date(2026, 1, 1), float(x), "Check-in 1 Jan") for i, x in enumerate([0, 150, 190])
    ]
    assert [m.checkin_id for m in timelines_labels(near_edge, 0.0, 200.0, 200.0, 48.0)] == [0, 1]


def test_sessions_are_ticks_on_their_disciplines_plots(view):
    rec = patient_record()
    view.set_record(rec)
    xs, _ys = view.plot_for("odi").markers.sessions.getData()
    assert list(xs) == epochs(s.held_at for s in rec.sessions if s.discipline == "pt")
    xs, _ys = view.plot_for("phq9").markers.sessions.getData()
    assert list(xs) == epochs(s.held_at for s in rec.sessions if s.discipline == "psychology")


def test_goal_targets_are_dashed_lines_to_the_due_date(view):
    rec = patient_record()
    goal = next(g for g in rec.goals if g.instrument and g.target_value is not None)
    view.set_record(rec)
    plot = view.plot_for(goal.instrument)
    line = next(item for item in plot.goal_lines if item.isVisible())
    xs, ys = line.getData()
    assert list(ys) == [goal.target_value, goal.target_value]
    assert list(xs) == epochs([goal.set_on, goal.due_on])
    assert line.opts["pen"].style() == Qt.PenStyle.DashLine


def test_missing_data_leaves_a_gap_and_same_day_repeats_are_separate_points(view):
    rec = patient_record()
    odi = rec.series("odi")
    repeat = dataclasses.replace(
        odi[2], id=10_000_001, taken_at=odi[2].taken_at + dt.timedelta(hours=4), total=odi[2].total + 6
    )
    late = dataclasses.replace(odi[-1], id=10_000_002, taken_at=odi[-1].taken_at + dt.timedelta(days=200), total=12.0)
    others = [m for m in rec.measurements if m.instrument != "odi"]
    view.set_record(dataclasses.replace(rec, measurements=tuple(others + odi[:3] + [repeat] + odi[3:] + [late])))
    plot = view.plot_for("odi")
    xs, ys = plot.values()
    assert len(xs) == len(odi) + 2
    assert xs[3] - xs[2] == 4 * 3600 and ys[3] == ys[2] + 6  # two points on one day
    line_x, line_y = plot.curve.getData()
    assert math.isnan(line_y[-2]) and line_y[-1] == 12.0  # 200 days without an ODI: the line breaks


def test_hovering_a_point_shows_date_value_band_and_who_entered_it(qtbot, view):
    rec = patient_record()
    view.set_record(rec)
    plot = view.plot_for("odi")
    measurement = rec.series("odi")[1]
    vb = plot.plot.getViewBox()

    def hover() -> bool:  # pyqtgraph drops moves closer together than a frame: move, wait, move back
        pos = view.canvas.mapFromScene(vb.mapViewToScene(QPointF(measurement.taken_at.timestamp(), measurement.total)))
        QTest.mouseMove(view.canvas.viewport(), pos - QPoint(6, 6))
        qtbot.wait(40)
        QTest.mouseMove(view.canvas.viewport(), pos)
        return bool(vb.toolTip())

    qtbot.waitUntil(hover, timeout=3000)
    tip = vb.toolTip()
    assert f"ODI: {measurement.total:.0f} %" in tip
    assert f"{measurement.taken_at:%d %b %Y, %H:%M}" in tip
    assert f"Band: {measurement.band}" in tip
    assert f"Entered by {measurement.entered_by_name}" in tip


def test_hovering_a_session_tick_says_which_session_it_was(qtbot, view):
    rec = patient_record()
    view.set_record(rec)
    plot = view.plot_for("odi")
    ticks = plot.markers.sessions
    session = next(s for s in rec.sessions if s.discipline == "pt" and s.attendance == "no_show")
    vb = plot.plot.getViewBox()
    x = dt.datetime.timestamp(session.held_at)

    def hover() -> bool:
        pos = view.canvas.mapFromScene(vb.mapViewToScene(QPointF(x, ticks.y)))
        QTest.mouseMove(view.canvas.viewport(), pos - QPoint(0, 30))
        qtbot.wait(40)
        QTest.mouseMove(view.canvas.viewport(), pos)
        return "session" in vb.toolTip()

    qtbot.waitUntil(hover, timeout=3000)
    assert f"{session.held_at:%d %b %Y, %H:%M}" in vb.toolTip() and "no-show" in vb.toolTip()
    assert ticks.ticks_at(QPointF(x, ticks.y + 1000)) == []  # far above the lane: nothing


def test_clicking_a_point_selects_that_measurement(qtbot, view):
    rec = patient_record()
    view.set_record(rec)
    plot = view.plot_for("odi")
    measurement = rec.series("odi")[2]
    qtbot.waitExposed(view)
    scene_pos = plot.plot.getViewBox().mapViewToScene(QPointF(measurement.taken_at.timestamp(), measurement.total))
    with qtbot.waitSignal(view.measurement_selected, timeout=3000) as selected:
        QTest.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view.canvas.mapFromScene(scene_pos))
    assert selected.args == [measurement.id]
    xs, ys = plot.selected.getData()
    assert (list(xs), list(ys)) == ([measurement.taken_at.timestamp()], [measurement.total])


def test_safety_positive_measurements_stand_out(view):
    rec = patient_record()
    view.set_record(rec)
    plot = view.plot_for("phq9")
    flagged = list(plot.safety.points())
    assert flagged and all(p.data().safety and p.symbol() == "star" for p in flagged)
    assert [p.data().measurement_id for p in flagged] == [m.id for m in rec.series("phq9") if m.safety]
    assert all(not p.data().safety and p.symbol() == "o" for p in plot.points.points())


def test_range_buttons_show_the_last_3_and_12_months_and_everything(qtbot, view):
    view.set_record(patient_record())
    view.range_buttons[RANGE_3M].click()
    lo, hi = view.x_range()
    assert (lo, hi) == pytest.approx(timelines.last_months(DEMO_TODAY, 3))
    assert all(
        tuple(view.plots[s.id].plot.getViewBox().viewRange()[0]) == pytest.approx((lo, hi)) for s in view.shown_series()
    )
    view.range_buttons[RANGE_12M].click()
    assert view.x_range() == pytest.approx(timelines.last_months(DEMO_TODAY, 12))
    view.range_buttons["all"].click()
    assert view.x_range() == pytest.approx(view.timeline.fit_range)


def test_dragging_one_plot_pans_them_all(qtbot, view):
    view.set_record(patient_record())
    qtbot.waitExposed(view)
    shown = view.shown_series()
    first, last = view.plots[shown[0].id].plot.getViewBox(), view.plots[shown[-1].id].plot.getViewBox()
    before = tuple(first.viewRange()[0])
    start = view.canvas.mapFromScene(first.mapToScene(first.boundingRect().center()))
    viewport = view.canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 9):  # a drag, as a hand makes it (pyqtgraph ignores moves closer than a frame)
        qtbot.wait(20)
        QTest.mouseMove(viewport, start + QPoint(15 * step, 0))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(120, 0))
    after = tuple(first.viewRange()[0])
    assert after[0] < before[0]  # dragged right: earlier dates come into view
    assert tuple(last.viewRange()[0]) == pytest.approx(after)
    assert view.range_group.checkedButton() is None  # no preset describes a custom range


def test_switching_mode_keeps_the_preset(view):
    view.set_record(patient_record())
    view.set_mode(MODE_NORMALISED)
    assert view.range_group.checkedButton() is view.range_buttons["all"]
    assert view.x_range() == pytest.approx(view.timeline.fit_range)


def test_switching_patient_updates_the_same_plot_items(view):
    view.set_record(patient_record(SAFETY_PATIENT))
    odi = view.plot_for("odi")
    items = (odi.plot, odi.curve, odi.points, odi.backdrop)
    other = patient_record(1)
    view.set_record(other)
    assert view.plot_for("odi") is odi
    assert (odi.plot, odi.curve, odi.points, odi.backdrop) == items
    xs, ys = odi.values()
    assert list(ys) == [m.total for m in other.series("odi") if m.total is not None]


def test_normalised_view_puts_measures_on_one_worse_to_better_axis(view):
    rec = patient_record()
    view.set_record(rec)
    view.set_mode(MODE_NORMALISED)
    assert set(view.canvas.ci.items) == {view.normalised.plot, view.normalised.legend}
    _curve, points, _goals = view.normalised.curves["odi"]
    xs, ys = points.getData()
    odi = instruments.get("odi")
    assert list(ys) == pytest.approx([timelines.normalise(odi, m.total) for m in rec.series("odi")])
    assert "bmi" not in view.normalised.series  # BMI has no better direction
    legend = [label.text for _sample, label in view.normalised.legend.items]
    assert "ODI" in legend and "PHQ-9" in legend


def test_choosing_measures_from_the_menu(view):
    view.set_record(patient_record())
    actions = {a.data(): a for a in view.measures_menu.actions() if a.isCheckable()}
    actions["cpaq8"].setChecked(True)
    assert "cpaq8" in [s.id for s in view.shown_series()]
    actions["odi"].setChecked(False)
    assert "odi" not in [s.id for s in view.shown_series()]
    assert view.custom_selection is not None and "cpaq8" in view.custom_selection


def test_a_patient_without_measurements_shows_a_message(view):
    rec = patient_record()
    view.set_record(dataclasses.replace(rec, measurements=()))
    assert view.stack.currentWidget() is view.empty
    assert "No measurements" in view.empty.text()


def test_plot_data_are_float_arrays(view):
    view.set_record(patient_record())
    xs, ys = view.plot_for("nrs_pain").curve.getData()
    assert isinstance(xs, np.ndarray) and xs.dtype == float
    assert isinstance(view.plot_for("nrs_pain").plot.getAxis("bottom"), pg.DateAxisItem)


def test_a_title_too_wide_for_its_plot_gives_up_the_band_first_and_is_never_cut_mid_word(qtbot, view):
    """On a projector at 150 % or in a meeting's column the title keeps the measure, its
    value and the change with its MCID and reliable-change verdict; the band's name
    (shown by the shading too) goes first; whatever still does not fit ends in …."""
    rec = patient_record()
    view.set_record(rec)
    plot = view.plot_for("odi")
    label = plot.plot.title_label
    series = plot.series
    runs = plot.title(series)
    assert [r[0] for r in runs][:3] == ["ODI", f"{series.latest.value:g} %", series.latest.band]
    change = runs[3][0]
    assert " · MCID " in change or "MCID" not in change
    assert change.endswith((" · reliable", " · not reliable"))  # the RCI verdict beside MCID
    assert label.toolTip() == label.text() == "  ".join(r[0] for r in runs)
    label.max_width = label._width(runs) + 1
    assert label.shown_runs() == list(runs)  # wide enough: everything
    label.max_width = label._width([runs[0], runs[1], runs[3]]) + 1
    assert label.shown_runs() == [runs[0], runs[1], runs[3]]  # the band gave way, the verdict stayed
    short = (plot.short_change(series), runs[3][1], False)
    assert short[0] == change.replace(" · MCID met", " MCID")  # the cards' wording
    label.max_width = label._width([runs[0], runs[1], short]) + 1
    assert label.shown_runs() == [runs[0], runs[1], short]
    label.max_width = label._width([runs[0], runs[1], short]) * 0.9
    assert label.shown_runs() == [runs[0], runs[1], short]  # in type a little smaller
    assert 0.85 <= label.painted_font(False).pointSizeF() / label.font.pointSizeF() < 0.9
    label.max_width = label._width(runs[:2]) + 80
    shown = label.shown_runs()
    assert shown[:2] == list(runs[:2]) and shown[2][0].endswith("…") and len(shown) == 3
    assert short[0].startswith(shown[2][0][:-1])
