"""The timeline's data shaping: normalisation, the MCID line, gaps, ranges, markers."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from teamdash.clinical import analytics, instruments
from teamdash.services import chart, checkins, goals, measurements, patients, sessions, timelines
from teamdash.services.auth import SYSTEM

TODAY = dt.date(2026, 11, 27)


def test_epoch_is_local_midnight_for_a_date_and_the_moment_for_a_datetime():
    assert timelines.epoch(dt.date(2026, 3, 4)) == dt.datetime(2026, 3, 4).timestamp()
    assert timelines.epoch(dt.datetime(2026, 3, 4, 10, 30)) == dt.datetime(2026, 3, 4, 10, 30).timestamp()


@pytest.mark.parametrize(
    ("instrument", "value", "expected"),
    [
        ("odi", 0, 100.0),  # higher is worse: no disability is the best score
        ("odi", 100, 0.0),
        ("odi", 25, 75.0),
        ("pseq", 60, 100.0),  # higher is better
        ("pseq", 15, 25.0),
        ("tsk11", 11, 100.0),  # a range that does not start at 0
        ("tsk11", 44, 0.0),
        ("nrs_pain", 4, 60.0),
    ],
)
def test_normalise_runs_from_worst_0_to_best_100(instrument, value, expected):
    assert timelines.normalise(instruments.get(instrument), value) == pytest.approx(expected)


def test_normalise_gives_nothing_without_a_better_direction():
    assert timelines.normalise(instruments.get("bmi"), 24.0) is None
    assert timelines.normalise(instruments.get("odi"), None) is None


@pytest.mark.parametrize(
    ("instrument", "baseline", "expected"),
    [
        ("odi", 58, 48.0),  # 10 points comes before 30 % (17.4)
        ("nrs_pain", 4, 2.8),  # 30 % of 4 (1.2) comes before 2 points
        ("pseq", 20, 25.5),  # higher is better: the line is above the baseline
        ("tsk11", 26, 22.0),
        ("isi", 10, 4.0),
    ],
)
def test_mcid_threshold_is_on_the_better_side_at_the_first_mcid_reached(instrument, baseline, expected):
    assert timelines.mcid_threshold(instruments.get(instrument), baseline) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("instrument", "baseline"), [("odi", 58), ("nrs_pain", 4), ("nrs_pain", 9), ("pseq", 20), ("rmdq", 3)]
)
def test_mcid_threshold_agrees_with_the_analytics_verdict(instrument, baseline):
    """Reaching the line is a clinically meaningful improvement; stopping short is not."""
    definition = instruments.get(instrument)
    line = timelines.mcid_threshold(definition, baseline)
    better = -1 if definition.direction == "higher_worse" else 1
    assert analytics.change(definition, baseline, line).mcid_met is True
    assert analytics.change(definition, baseline, line - better * 0.01).mcid_met is False


def test_no_mcid_line_without_an_mcid_a_direction_or_a_baseline():
    assert timelines.mcid_threshold(instruments.get("phq9"), 13) is None  # no MCID in its definition
    assert timelines.mcid_threshold(instruments.get("bmi"), 24) is None
    assert timelines.mcid_threshold(instruments.get("odi"), None) is None


def _point(day: dt.datetime, value: float | None, mid: int = 1) -> timelines.MeasurePoint:
    return timelines.MeasurePoint(mid, day, timelines.epoch(day), value, None, None, None, None, False, None)


def test_the_line_breaks_where_measurements_are_missing():
    weekly = [_point(dt.datetime(2026, 1, d), v) for d, v in ((1, 5.0), (8, 4.0), (15, None), (22, 3.0))]
    later = [_point(dt.datetime(2026, 3, 1), 2.0)]  # five weeks after the last: more than twice the 7-day interval
    xs, ys = timelines.line_with_gaps(weekly + later, interval_days=7)
    assert len(xs) == 6 and math.isnan(xs[4]) and math.isnan(ys[4])  # the break sits before March
    assert math.isnan(ys[2])  # a measurement without a total is a gap too
    assert ys[:2] == (5.0, 4.0) and ys[3] == 3.0 and ys[5] == 2.0


def test_rating_scales_use_their_full_range_physical_measures_their_data():
    assert timelines.display_range(instruments.get("odi"), [20, 40]) == (0.0, 100.0)
    assert timelines.display_range(instruments.get("nrs_pain"), [3, 4]) == (0.0, 10.0)
    lo, hi = timelines.display_range(instruments.get("six_minute_walk"), [400, 520])
    assert 300 < lo < 400 and 520 < hi < 650


def test_last_months_ends_just_after_today():
    lo, hi = timelines.last_months(TODAY, 3)
    assert dt.datetime.fromtimestamp(lo).date() == dt.date(2026, 8, 28)
    assert dt.datetime.fromtimestamp(hi).date() == dt.date(2026, 12, 1)


# --- a whole record -------------------------------------------------------------------------


@pytest.fixture
def patient(database):
    return patients.create_patient(
        SYSTEM,
        today=TODAY,
        clinic_id="T-1",
        given_name="Test",
        family_name="Person",
        date_of_birth=dt.date(1980, 1, 1),
        referral_date=dt.date(2026, 2, 1),
        programme_start=dt.date(2026, 2, 10),
        episode_start=dt.date(2026, 3, 1),
    )


def _odi(percent: int) -> list[int]:
    """ODI responses (10 items of 0–5) whose total is ``percent``."""
    points = percent // 2
    return [min(5, max(0, points - 5 * i)) for i in range(10)]


def test_build_shapes_a_patients_record(patient):
    now = dt.datetime(2026, 11, 27, 12)
    before_episode = measurements.record_measurement(
        SYSTEM, patient.id, "odi", _odi(70), taken_at=dt.datetime(2026, 2, 15, 9), now=now
    )
    first = measurements.record_measurement(
        SYSTEM, patient.id, "odi", _odi(60), taken_at=dt.datetime(2026, 3, 2, 9), now=now
    )
    morning = measurements.record_measurement(
        SYSTEM, patient.id, "odi", _odi(40), taken_at=dt.datetime(2026, 5, 4, 9), now=now
    )
    evening = measurements.record_measurement(
        SYSTEM, patient.id, "odi", _odi(44), taken_at=dt.datetime(2026, 5, 4, 17), now=now
    )
    measurements.record_measurement(SYSTEM, patient.id, "phq9", [1] * 9, taken_at=dt.datetime(2026, 3, 2, 10), now=now)
    goal = goals.GOALS.add(
        SYSTEM,
        patient.id,
        discipline="pt",
        text="Lift the shopping",
        instrument="odi",
        baseline_value=60,
        target_value=30,
        set_on=dt.date(2026, 3, 2),
        due_on=dt.date(2026, 9, 1),
    )
    session = sessions.add_session(
        SYSTEM, patient.id, discipline="pt", held_at=dt.datetime(2026, 3, 9, 10), kind="Assessment", minutes=45, now=now
    )
    checkin = checkins.record_checkin(SYSTEM, patient.id, held_on=dt.date(2026, 4, 10), attendees=[])

    built = timelines.build(chart.get_record(SYSTEM, patient.id, today=TODAY))

    odi = built.series["odi"]
    assert [p.measurement_id for p in odi.points] == [before_episode.id, first.id, morning.id, evening.id]
    assert [p.x for p in odi.points] == [timelines.epoch(m.taken_at) for m in (before_episode, first, morning, evening)]
    assert [p.value for p in odi.points] == [70.0, 60.0, 40.0, 44.0]  # same-day repeats are separate points
    assert [p.normalised for p in odi.points] == [30.0, 40.0, 60.0, 56.0]
    assert odi.baseline.measurement_id == first.id  # the episode starts on 1 March
    assert odi.mcid_threshold == pytest.approx(50.0)
    assert odi.latest.measurement_id == evening.id and odi.change.points == -16.0
    assert [b.label for b in odi.bands][:2] == ["Minimal disability", "Moderate disability"]
    assert odi.goals[0].goal_id == goal.id and odi.goals[0].value == 30.0
    assert odi.goals[0].end_x == timelines.epoch(dt.date(2026, 9, 1))
    assert odi.y_range == (0.0, 100.0)

    assert list(built.series) == ["odi", "phq9"]  # PT before psychology
    assert built.default_selection == ("odi", "phq9")
    assert [(c.checkin_id, c.x, c.label) for c in built.checkins] == [
        (checkin.id, timelines.epoch(dt.date(2026, 4, 10)), "Check-in 10 Apr")
    ]
    assert [(s.session_id, s.discipline, s.x) for s in built.sessions] == [
        (session.id, "pt", timelines.epoch(session.held_at))
    ]
    assert built.fit_range[0] < odi.points[0].x and built.fit_range[1] > timelines.epoch(TODAY)


def test_default_selection_is_the_key_measures_of_the_patients_disciplines(patient):
    now = dt.datetime(2026, 11, 27, 12)
    measurements.record_measurement(SYSTEM, patient.id, "odi", _odi(40), taken_at=dt.datetime(2026, 3, 2, 9), now=now)
    measurements.record_measurement(SYSTEM, patient.id, "cpaq8", [3] * 8, taken_at=dt.datetime(2026, 3, 2, 9), now=now)
    built = timelines.build(chart.get_record(SYSTEM, patient.id, today=TODAY))
    assert set(built.series) == {"odi", "cpaq8"}
    assert built.default_selection == ("odi",)  # CPAQ-8 is not a key measure: chosen by hand only


def test_a_patient_without_measurements_has_an_empty_timeline(patient):
    built = timelines.build(chart.get_record(SYSTEM, patient.id, today=TODAY))
    assert built.series == {} and built.default_selection == ()
    assert built.fit_range[0] < built.today_x < built.fit_range[1]
