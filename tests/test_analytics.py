"""Clinical analytics: change, MCID, reliable change, band movement, NHS Talking Therapies
outcomes, flags, and baseline/latest among repeated measurements."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teamdash.clinical import analytics, instruments
from teamdash.clinical.analytics import Acknowledgement, Point, SafetyFact
from teamdash.errors import ValidationError


def inst(instrument_id):
    return instruments.get(instrument_id)


def change(instrument_id, before, after, **kw):
    return analytics.change(inst(instrument_id), before, after, **kw)


# --- points, percent, verdict ------------------------------------------------------------


def test_change_points_and_percent():
    c = change("odi", 40, 30)
    assert (c.points, c.percent, c.improvement, c.verdict) == (-10.0, -25.0, 10.0, "better")


def test_percent_is_none_from_a_zero_baseline():
    c = change("nrs_pain", 0, 3)
    assert c.points == 3 and c.percent is None and c.verdict == "worse"


def test_unchanged():
    assert change("phq9", 12, 12).verdict == "unchanged"


def test_missing_value_gives_no_change():
    c = change("phq9", None, 12)
    assert (c.points, c.verdict, c.mcid_met, c.rci_verdict) == (None, None, None, None)
    assert c.band_to == "Moderate"


@pytest.mark.parametrize(
    "instrument_id, before, after, verdict",
    [
        # higher is better: a rise is an improvement
        ("pseq", 20, 30, "better"),
        ("pseq", 30, 20, "worse"),
        ("psfs", 3.0, 6.5, "better"),
        ("psfs", 6.5, 3.0, "worse"),
        ("cpaq8", 18, 30, "better"),
        ("cpaq8", 30, 18, "worse"),
        ("chair_stand_30s", 8, 12, "better"),
        ("chair_stand_30s", 12, 8, "worse"),
        ("six_minute_walk", 350, 420, "better"),
        ("six_minute_walk", 420, 350, "worse"),
        # higher is worse: a fall is an improvement
        ("nrs_pain", 7, 4, "better"),
        ("nrs_pain", 4, 7, "worse"),
        ("phq9", 15, 9, "better"),
        ("odi", 20, 30, "worse"),
    ],
)
def test_direction_aware_verdict(instrument_id, before, after, verdict):
    assert change(instrument_id, before, after).verdict == verdict


def test_no_direction_has_no_verdict_but_keeps_points():
    c = change("bmi", 31.0, 29.5)
    assert (c.points, c.verdict, c.mcid_met) == (-1.5, None, None)
    assert c.band_movement == "Obesity class I → Pre-obesity"
    assert c.band_direction == "better"


# --- MCID --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "instrument_id, before, after, met",
    [
        # NRS: 2 points or 30 % (Ostelo 2008)
        ("nrs_pain", 6, 4, True),  # -2 points
        ("nrs_pain", 6, 5, False),  # -1 point, 16.7 %
        ("nrs_pain", 3, 2, True),  # -1 point but 33 % of baseline
        ("nrs_pain", 10, 8, True),  # -2 points (20 %)
        # ODI: 10 points or 30 %
        ("odi", 30, 21, True),  # -9 points = 30 % exactly
        ("odi", 30, 22, False),  # -8 points = 26.7 %
        ("odi", 60, 50, True),  # -10 points (16.7 %)
        ("odi", 60, 51, False),  # -9 points (15 %)
        # RMDQ: 5 points or 30 %
        ("rmdq", 10, 7, True),  # -3 = 30 %
        ("rmdq", 10, 8, False),  # -2 = 20 %
        ("rmdq", 20, 15, True),  # -5 points (25 %)
        ("rmdq", 20, 16, False),  # -4 points (20 %)
        # absolute MCID only
        ("tsk11", 30, 26, True),
        ("tsk11", 30, 27, False),
        ("isi", 20, 14, True),
        ("isi", 20, 15, False),
        # higher is better: PSEQ MIC 5.5 (Chiarotto 2016)
        ("pseq", 20, 26, True),
        ("pseq", 20, 25, False),
    ],
)
def test_mcid_for_improvement(instrument_id, before, after, met):
    assert change(instrument_id, before, after).mcid_met is met


@pytest.mark.parametrize(
    "instrument_id, before, after, deterioration",
    [
        ("nrs_pain", 4, 6, True),
        ("nrs_pain", 4, 5, False),
        # +1 point from 2 is +50 % but not a meaningful worsening: the absolute MCID decides
        ("nrs_pain", 2, 3, False),
        ("odi", 20, 30, True),
        ("odi", 20, 29, False),
        ("pseq", 30, 24, True),
        ("pseq", 30, 25, False),
    ],
)
def test_meaningful_deterioration_is_separate(instrument_id, before, after, deterioration):
    c = change(instrument_id, before, after)
    assert c.meaningful_deterioration is deterioration
    assert c.mcid_met is False  # a worsening is never a meaningful improvement


@pytest.mark.parametrize("instrument_id", ["psfs", "cpaq8", "chair_stand_30s", "six_minute_walk", "phq9"])
def test_no_mcid_known_gives_none(instrument_id):
    c = change(instrument_id, 5, 9)
    assert c.mcid_met is None and c.meaningful_deterioration is None


def test_percent_only_mcid():
    pct_only = dataclasses.replace(inst("nrs_pain"), mcid_abs=None)
    assert analytics.change(pct_only, 10, 7).mcid_met is True  # 30 %
    assert analytics.change(pct_only, 10, 8).mcid_met is False  # 20 %
    assert analytics.change(pct_only, 10, 13).meaningful_deterioration is True
    assert analytics.change(pct_only, 0, 0).mcid_met is False


# --- reliable change index ---------------------------------------------------------------


def with_sdiff(instrument_id, s_diff):
    """The instrument with an SEM giving the wanted S_diff = sqrt(2) x SEM."""
    return dataclasses.replace(inst(instrument_id), sem=s_diff / math.sqrt(2), reliable_change=1.96 * s_diff)


def test_rci_exactly_196_is_not_reliable():
    # S_diff = 5: a change of 9.8 is RCI = 9.8 / 5 = 1.96 exactly -> not reliable
    c = analytics.change(with_sdiff("pcs", 5), 30, 20.2)
    assert c.rci == pytest.approx(-1.96)
    assert c.rci_verdict == "no reliable change"


def test_rci_just_above_196_is_reliable():
    # 9.81 / 5 = 1.962
    c = analytics.change(with_sdiff("pcs", 5), 30, 20.19)
    assert c.rci == pytest.approx(-1.962)
    assert c.rci_verdict == "reliable improvement"
    assert c.reliable_improvement and not c.reliable_deterioration


def test_rci_exactly_196_upwards_is_not_reliable_either():
    c = analytics.change(with_sdiff("pcs", 5), 20, 29.8)
    assert c.rci == pytest.approx(1.96)
    assert c.rci_verdict == "no reliable change"
    assert analytics.change(with_sdiff("pcs", 5), 20, 29.81).rci_verdict == "reliable deterioration"


def test_pseq_mdc95_is_the_threshold():
    # MDC95 11.52 = 1.96 x S_diff, so a rise of exactly 11.52 is RCI 1.96: not reliable
    at = change("pseq", 20, 31.52)
    assert at.rci == pytest.approx(1.96)
    assert at.rci_verdict == "no reliable change"
    assert change("pseq", 20, 31.53).rci_verdict == "reliable improvement"


@pytest.mark.parametrize(
    "instrument_id, before, after, rci, verdict",
    [
        # PCS SEM 4.6: S_diff = 6.505; 13 / 6.505 = 1.998
        ("pcs", 35, 22, -1.998, "reliable improvement"),
        ("pcs", 35, 23, -1.845, "no reliable change"),
        ("pcs", 22, 35, 1.998, "reliable deterioration"),
        # TSK-11 SEM 2.54: S_diff = 3.592; 8 / 3.592 = 2.227; 7 / 3.592 = 1.949
        ("tsk11", 34, 26, -2.227, "reliable improvement"),
        ("tsk11", 34, 27, -1.949, "no reliable change"),
        # PSEQ (higher is better) S_diff = 5.878: +15 -> 2.552 improvement, -15 deterioration
        ("pseq", 20, 35, 2.552, "reliable improvement"),
        ("pseq", 35, 20, -2.552, "reliable deterioration"),
    ],
)
def test_rci_value_and_direction(instrument_id, before, after, rci, verdict):
    c = change(instrument_id, before, after)
    assert c.rci == pytest.approx(rci, abs=1e-3)
    assert c.rci_verdict == verdict


@pytest.mark.parametrize(
    "instrument_id, before, after, verdict",
    [
        # NHS Talking Therapies: 6 or more on PHQ-9, 4 or more on GAD-7 (inclusive)
        ("phq9", 15, 9, "reliable improvement"),
        ("phq9", 15, 10, "no reliable change"),
        ("phq9", 9, 15, "reliable deterioration"),
        ("phq9", 10, 15, "no reliable change"),
        ("gad7", 12, 8, "reliable improvement"),
        ("gad7", 12, 9, "no reliable change"),
        ("gad7", 8, 12, "reliable deterioration"),
    ],
)
def test_published_threshold_reliable_change(instrument_id, before, after, verdict):
    c = change(instrument_id, before, after)
    assert c.rci_verdict == verdict
    assert c.rci is None  # no S_diff behind a published threshold: no index value
    assert c.reliable_threshold == inst(instrument_id).reliable_change


@pytest.mark.parametrize("instrument_id", ["cpaq8", "six_minute_walk"])
def test_no_reliability_known(instrument_id):
    c = change(instrument_id, 10, 40)
    assert (c.rci, c.rci_verdict) == (None, None)


PRIMARY_RCI = [
    # NRS, SEM 1.02 (Childs 2005): S_diff = sqrt 2 x 1.02 = 1.4425; reliable beyond 2.83
    ("nrs_pain", 7, 4, -3 / 1.4425, "reliable improvement"),  # RCI -2.08
    ("nrs_pain", 4, 7, 3 / 1.4425, "reliable deterioration"),
    ("nrs_pain", 6, 4, -2 / 1.4425, "no reliable change"),  # RCI -1.39: MCID met, not reliable
    # ODI, SEM 6 (Davidson & Keating 2002): S_diff 8.485; reliable beyond 16.63
    ("odi", 40, 22, -18 / 8.4853, "reliable improvement"),  # RCI -2.12
    ("odi", 30, 46, 16 / 8.4853, "no reliable change"),  # RCI 1.89
    ("odi", 20, 38, 18 / 8.4853, "reliable deterioration"),
    # RMDQ, MDC90 5 (Stratford 1996): SEM 5 / (1.645 x sqrt 2) = 2.149; S_diff = 5 / 1.645 = 3.04;
    # reliable beyond 5.96, so 6 points
    ("rmdq", 14, 8, -6 / 3.0395, "reliable improvement"),  # RCI -1.97
    ("rmdq", 14, 9, -5 / 3.0395, "no reliable change"),  # RCI -1.65: MCID 5 met, not reliable
    ("rmdq", 6, 12, 6 / 3.0395, "reliable deterioration"),
]


@pytest.mark.parametrize("instrument_id, before, after, rci, verdict", PRIMARY_RCI)
def test_reliable_change_of_the_primary_outcomes(instrument_id, before, after, rci, verdict):
    c = change(instrument_id, before, after)
    assert c.rci == pytest.approx(rci, abs=1e-3)
    assert c.rci_verdict == verdict


@pytest.mark.parametrize(
    "instrument_id, before, after",
    # the 30 % rule calls these meaningful at low baselines; the reliable-change verdict
    # beside it says they are inside measurement error
    [("nrs_pain", 3, 2), ("odi", 10, 7), ("rmdq", 4, 2)],
)
def test_low_baseline_mcid_is_not_reliable_change(instrument_id, before, after):
    c = change(instrument_id, before, after)
    assert c.mcid_met is True
    assert c.rci_verdict == "no reliable change"


@pytest.mark.parametrize(
    "instrument_id, before, after",
    [("nrs_pain", 3, 6), ("odi", 20, 38), ("rmdq", 6, 12)],
)
def test_primary_outcomes_raise_reliable_deterioration_flags(instrument_id, before, after):
    flag = analytics.reliable_deterioration(change(instrument_id, before, after))
    assert flag is not None and flag.kind == "deterioration"
    assert flag.reason.startswith(f"{inst(instrument_id).short_name} reliably worse")


def test_mcid_and_rci_answer_different_questions():
    # ODI -12: meaningful (>= 10) but within measurement error (< 16.6); PCS -13 is
    # reliable but PCS has no MCID: both are reported, neither implies the other
    odi, pcs = change("odi", 42, 30), change("pcs", 35, 22)
    assert (odi.mcid_met, odi.rci_verdict) == (True, "no reliable change")
    assert (pcs.mcid_met, pcs.rci_verdict) == (None, "reliable improvement")


# --- band movement -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "instrument_id, before, after, movement, direction",
    [
        ("phq9", 12, 7, "Moderate → Mild", "better"),
        ("phq9", 7, 12, "Mild → Moderate", "worse"),
        ("phq9", 12, 13, None, "same"),
        ("gad7", 16, 3, "Severe → Minimal", "better"),
        ("odi", 20, 22, "Minimal disability → Moderate disability", "worse"),
        ("isi", 15, 14, "Moderate clinical insomnia → Subthreshold insomnia", "better"),
        # PSEQ is higher-better: severity still ranks 0 = best
        ("pseq", 25, 35, "Moderate → Mild", "better"),
        ("pseq", 41, 40, "Minimal → Mild", "worse"),
        ("tsk11", 30, 20, None, None),  # no bands
    ],
)
def test_band_movement(instrument_id, before, after, movement, direction):
    c = change(instrument_id, before, after)
    assert (c.band_movement, c.band_direction) == (movement, direction)


def test_band_movement_from_stored_subgroups():
    # STarT Back subgroups depend on the subscale, not the total: pass the stored labels
    c = change("startback", 6, 2, band_from="High risk", band_to="Low risk")
    assert (c.band_movement, c.band_direction) == ("High risk → Low risk", "better")
    assert analytics.band_severity(inst("startback"), "Medium risk") == 1


# --- baseline, latest, check-in value ------------------------------------------------------

D = dt.date
T = dt.datetime


def test_latest_by_time_taken_not_entry_order():
    points = [(D(2024, 3, 1), 5, 3), (D(2024, 1, 1), 8, 1), (D(2024, 2, 1), 6, 2)]
    assert analytics.latest(points) == Point(D(2024, 3, 1), 5, 3)
    assert analytics.baseline(points) == Point(D(2024, 1, 1), 8, 1)


def test_same_day_repeat_later_time_wins():
    points = [Point(T(2024, 3, 1, 16, 0), 4, 7), Point(T(2024, 3, 1, 9, 0), 6, 8)]
    assert analytics.latest(points).value == 4  # taken at 16:00, though entered first
    assert analytics.baseline(points).value == 6


def test_identical_time_later_entry_wins():
    points = [Point(T(2024, 3, 1, 9), 6, 10), Point(T(2024, 3, 1, 9), 5, 11)]
    assert analytics.latest(points).id == 11
    assert analytics.baseline(points).id == 11


def test_dates_and_datetimes_mix():
    points = [Point(D(2024, 3, 1), 5, 1), Point(T(2024, 3, 1, 10, 30), 4, 2)]
    assert analytics.latest(points).id == 2


def test_baseline_is_first_in_the_episode():
    points = [Point(D(2023, 6, 1), 9, 1), Point(D(2024, 1, 10), 7, 2), Point(D(2024, 2, 10), 5, 3)]
    assert analytics.baseline(points, D(2024, 1, 1)).id == 2
    assert analytics.baseline(points, T(2024, 1, 10, 23, 0)).id == 2  # the start day counts whole
    assert analytics.baseline(points, D(2024, 3, 1)) is None


def test_missing_values_are_skipped_and_empty_gives_none():
    points = [Point(D(2024, 1, 1), None, 1), Point(D(2024, 1, 2), 3, 2), Point(D(2024, 1, 3), None, 3)]
    assert analytics.latest(points).id == 2
    assert analytics.baseline(points).id == 2
    assert analytics.latest([]) is None and analytics.baseline([]) is None


@st.composite
def measurement_series(draw) -> list[Point]:
    """Points as a patient's record holds them: dates and times, some at the same
    moment, some without a value or an id; never two at the same moment without ids
    to tell them apart (which of those is later, no order can say)."""
    points, keys = [], set()
    for n in range(draw(st.integers(0, 12))):
        day = D(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 40)))
        when = day if draw(st.booleans()) else T.combine(day, dt.time(draw(st.sampled_from([0, 9, 15]))))
        value = draw(st.one_of(st.none(), st.integers(0, 50)))
        point = Point(when, value, draw(st.one_of(st.none(), st.just(n + 1))))
        key = (when if isinstance(when, T) else T.combine(when, dt.time.min), point.id)
        if key not in keys:
            keys.add(key)
            points.append(point)
    return points


@settings(max_examples=400, deadline=None)
@given(measurement_series(), st.sampled_from([None, D(2024, 1, 10), T(2024, 1, 20, 12)]), st.randoms())
def test_points_in_time_order_give_what_any_order_gives(points, when, shuffle):
    """A series in time order (as queries return it) is read without a search: its
    baseline, latest, value at a check-in, progress and deterioration flag are those of
    the same points in any order."""
    ordered = sorted(
        points,
        key=lambda p: (p.taken_at if isinstance(p.taken_at, T) else T.combine(p.taken_at, dt.time.min), p.id or -1),
    )
    mixed = list(points)
    shuffle.shuffle(mixed)
    pcs = instruments.get("pcs")

    def read(pts):
        return (
            analytics.latest(pts),
            analytics.baseline(pts),
            analytics.baseline(pts, when),
            analytics.at_or_before(pts, when or D(2024, 1, 15)),
            analytics.progress(pcs, pts, episode_start=when, last_checkin_at=D(2024, 1, 25)),
            analytics.deterioration_flag(pcs, pts, episode_start=when, last_checkin_at=D(2024, 1, 25)),
        )

    assert read(ordered) == read(mixed) == read(analytics.series(ordered))


def test_value_at_last_checkin():
    points = [
        Point(T(2024, 1, 5, 9), 8, 1),
        Point(T(2024, 2, 5, 9), 6, 2),
        Point(T(2024, 2, 5, 15), 5, 3),
        Point(T(2024, 3, 5, 9), 4, 4),
    ]
    assert analytics.at_or_before(points, D(2024, 2, 5)).id == 3  # a date includes the whole day
    assert analytics.at_or_before(points, T(2024, 2, 5, 12)).id == 2
    assert analytics.at_or_before(points, D(2024, 1, 1)) is None


def test_progress_from_baseline_and_from_last_checkin():
    points = [Point(D(2024, 1, 5), 40, 1), Point(D(2024, 2, 5), 30, 2), Point(D(2024, 3, 5), 24, 3)]
    p = analytics.progress(inst("odi"), points, episode_start=D(2024, 1, 1), last_checkin_at=D(2024, 2, 10))
    assert (p.baseline.value, p.last_checkin.value, p.latest.value) == (40, 30, 24)
    assert (p.from_baseline.points, p.from_baseline.mcid_met) == (-16, True)  # -16 points, 40 %
    assert (p.from_checkin.points, p.from_checkin.mcid_met) == (-6, False)  # -6 points, 20 %
    # 40 is still Moderate disability (a shared boundary belongs to the lower band)
    assert (p.from_baseline.band_movement, p.from_baseline.band_direction) == (None, "same")


def test_progress_without_checkin():
    p = analytics.progress(inst("nrs_pain"), [(D(2024, 1, 5), 7, 1)])
    assert p.from_checkin is None
    # one measurement: baseline and latest are the same, there is no change to judge
    assert (p.from_baseline.points, p.from_baseline.verdict, p.from_baseline.reason) == (None, None, "baseline only")
    assert (p.count, p.due_on) == (1, D(2024, 1, 12))


def test_progress_row_carries_verdicts_bands_and_due_date():
    # ODI 40 (stored band Moderate) -> 22 at the check-in -> 20 latest
    points = [
        Point(T(2024, 1, 5, 9), 40, 1, "Moderate disability"),
        Point(T(2024, 2, 5, 9), 22, 2, "Moderate disability"),
        Point(T(2024, 3, 5, 9), 20, 3, "Minimal disability"),
    ]
    p = analytics.progress(inst("odi"), points, D(2024, 1, 1), D(2024, 2, 10))
    assert (p.from_baseline.points, p.mcid_met, p.rci_verdict) == (-20.0, True, "reliable improvement")
    assert p.band_movement == "Moderate disability → Minimal disability"
    assert (p.from_checkin.points, p.from_checkin.rci_verdict) == (-2.0, "no reliable change")
    assert p.due_on == D(2024, 4, 16)  # 42 days after 5 Mar
    assert p.overdue_after == D(2024, 4, 23)  # + 7 days' grace
    assert p.overdue(D(2024, 4, 24)) and not p.overdue(D(2024, 4, 23))
    assert [h.id for h in p.history] == [1, 2, 3]


def test_progress_check_in_without_a_new_value():
    points = [Point(D(2024, 1, 5), 40, 1), Point(D(2024, 2, 5), 30, 2)]
    p = analytics.progress(inst("odi"), points, D(2024, 1, 1), D(2024, 2, 10))
    assert (p.from_checkin.points, p.from_checkin.reason) == (None, "no new value since the check-in")
    p = analytics.progress(inst("odi"), points, D(2024, 1, 1), D(2024, 1, 2))
    assert (p.from_checkin.points, p.from_checkin.reason) == (None, "no value at the last check-in")


# --- PSFS: change over the activities rated at both times ---------------------------------


def psfs_point(mid, day, ratings: dict[str, int | None]):
    names = list(ratings) + [None] * (5 - len(ratings))
    responses = list(ratings.values()) + [None] * (5 - len(ratings))
    result = instruments.score("psfs", responses, names)
    return Point(day, result.total, mid, None, result.responses, result.item_names)


def test_psfs_change_is_over_activities_rated_both_times():
    # baseline: walking 2, lifting 3, gardening 4 (mean 3.0); latest: walking 6, lifting 5,
    # gardening dropped, cycling 9 added (mean 6.67). The means of different activities
    # would say +3.67; over the two activities rated both times it is (2+3)/2 = 2.5 ->
    # (6+5)/2 = 5.5: +3.0.
    before = psfs_point(1, D(2024, 1, 5), {"Walking": 2, "Lifting": 3, "Gardening": 4})
    after = psfs_point(2, D(2024, 3, 5), {"Walking": 6, "Lifting": 5, "Cycling": 9})
    c = analytics.change_between(inst("psfs"), before, after)
    assert (c.baseline, c.current, c.points, c.matched_items) == (2.5, 5.5, 3.0, 2)
    # MDC90 2 for the mean -> reliable beyond 2.38: +3.0 is reliable
    assert c.rci_verdict == "reliable improvement"
    assert c.mcid_met is None  # no MCID shipped for the PSFS


def test_psfs_per_activity_change_with_single_activity_reliability():
    before = psfs_point(1, D(2024, 1, 5), {"Walking": 2, "Lifting": 3, "Gardening": 4})
    after = psfs_point(2, D(2024, 3, 5), {"walking ": 6, "Lifting": 5, "Cycling": 9})
    items = {c.name: c for c in analytics.item_changes(inst("psfs"), before, after)}
    # names match whatever the spacing and case; the later spelling is shown
    assert list(items) == ["walking", "Lifting", "Cycling", "Gardening"]
    # MDC90 3 for one activity -> reliable beyond 3.57: +4 is, +2 is not
    assert (items["walking"].points, items["walking"].rci_verdict) == (4.0, "reliable improvement")
    assert (items["Lifting"].points, items["Lifting"].rci_verdict) == (2.0, "no reliable change")
    assert (items["Cycling"].before, items["Cycling"].after, items["Cycling"].points) == (None, 9, None)
    assert (items["Gardening"].before, items["Gardening"].after, items["Gardening"].points) == (4, None, None)


def test_psfs_without_a_common_activity_has_no_change():
    before = psfs_point(1, D(2024, 1, 5), {"Walking": 2})
    after = psfs_point(2, D(2024, 3, 5), {"Cycling": 9})
    c = analytics.change_between(inst("psfs"), before, after)
    assert (c.points, c.rci_verdict, c.reason) == (None, None, "no activity rated at both times")


def test_psfs_without_names_has_no_change():
    # stored before activities had names: the means may be of different activities
    c = analytics.change_between(inst("psfs"), Point(D(2024, 1, 5), 3.0, 1), Point(D(2024, 3, 5), 6.0, 2))
    assert (c.points, c.reason) == (None, "activities not named: change not computed")


def test_psfs_progress_and_deterioration_use_matched_activities():
    points = [
        psfs_point(1, D(2024, 1, 5), {"Walking": 6, "Lifting": 7}),
        psfs_point(2, D(2024, 2, 5), {"Walking": 5, "Lifting": 6, "Swimming": 0}),
        psfs_point(3, D(2024, 3, 5), {"Walking": 2, "Lifting": 3, "Swimming": 0}),
    ]
    p = analytics.progress(inst("psfs"), points, D(2024, 1, 1), D(2024, 2, 10))
    # baseline 6.5 over walking and lifting; latest 2.5 on the same two: -4.0
    assert (p.from_baseline.points, p.from_baseline.matched_items) == (-4.0, 2)
    assert p.from_baseline.rci_verdict == "reliable deterioration"
    # since the check-in: three activities matched, (5+6+0)/3 -> (2+3+0)/3 = -2.0
    assert (p.from_checkin.points, p.from_checkin.matched_items) == (-2.0, 3)
    assert [c.name for c in p.items_from_baseline] == ["Walking", "Lifting", "Swimming"]
    flag = analytics.deterioration_flag(inst("psfs"), points, D(2024, 1, 1))
    assert flag is not None and "over the 2 activities rated both times" in flag.reason
    # the unmatched means (6.5 -> 1.67) would have said -4.83


# --- NHS Talking Therapies outcome ----------------------------------------------------------


@pytest.mark.parametrize(
    "phq, gad, case_start, case_end, improvement, deterioration, recovery, reliable_recovery, summary",
    [
        # PHQ 15 -> 8 (-7), GAD 12 -> 6 (-6): both reliable, both below caseness at the end
        ((15, 8), (12, 6), True, False, True, False, True, True, "Reliable recovery"),
        # below caseness at the end but changes of -3 / -2 are not reliable
        ((12, 9), (9, 7), True, False, False, False, True, False, "Recovery"),
        # reliable improvement but still a case (PHQ-9 13 >= 10)
        ((20, 13), (15, 14), True, True, True, False, False, False, "Reliable improvement"),
        ((10, 16), (8, 8), True, True, False, True, False, False, "Reliable deterioration"),
        # mixed: PHQ -8 reliable improvement, GAD +5 reliable deterioration -> neither
        ((18, 10), (5, 10), True, True, False, False, False, False, "No reliable change"),
        # not a case at the start: recovery does not apply
        ((6, 2), (5, 1), False, False, True, False, None, None, "Reliable improvement"),
        ((4, 4), (3, 3), False, False, False, False, None, None, "Not a case at the start"),
        # boundaries: PHQ-9 exactly 10 / GAD-7 exactly 8 are cases; -6 and -4 are reliable
        ((10, 4), (3, 3), True, False, True, False, True, True, "Reliable recovery"),
        ((9, 3), (8, 4), True, False, True, False, True, True, "Reliable recovery"),
        ((15, 10), (8, 5), True, True, False, False, False, False, "No reliable change"),
        ((14, 9), (10, 7), True, False, False, False, True, False, "Recovery"),  # -5 and -3
        ((14, 9), (11, 7), True, False, True, False, True, True, "Reliable recovery"),  # GAD -4
        ((11, 5), (7, 7), True, False, True, False, True, True, "Reliable recovery"),
        ((9, 9), (7, 7), False, False, False, False, None, None, "Not a case at the start"),
    ],
)
def test_iapt_outcome(phq, gad, case_start, case_end, improvement, deterioration, recovery, reliable_recovery, summary):
    out = analytics.iapt_outcome(phq[0], phq[1], gad[0], gad[1])
    assert (out.case_at_start, out.case_at_end) == (case_start, case_end)
    assert (out.reliable_improvement, out.reliable_deterioration) == (improvement, deterioration)
    assert (out.recovery, out.reliable_recovery) == (recovery, reliable_recovery)
    assert out.summary == summary
    assert (out.phq9_change, out.gad7_change) == (phq[1] - phq[0], gad[1] - gad[0])


def test_iapt_outcome_needs_all_four_scores():
    with pytest.raises(ValidationError):
        analytics.iapt_outcome(15, None, 12, 6)


# --- safety flags -------------------------------------------------------------------------


def phq9_fact(mid, day, item9):
    result = instruments.score("phq9", [0] * 8 + [item9])
    return SafetyFact(mid, "phq9", day, result.flags)


def test_safety_flags_from_item9_whatever_the_total():
    facts = [phq9_fact(1, D(2024, 3, 1), 0), phq9_fact(2, D(2024, 3, 8), 1), phq9_fact(3, D(2024, 3, 15), 3)]
    flags = analytics.safety_flags(facts)
    assert [f.measurement_id for f in flags] == [2, 3]
    assert all(f.kind == "safety" and f.severity == 0 and f.instrument == "phq9" for f in flags)
    assert flags[0].reason.startswith("2024-03-08: PHQ-9 item 9")
    assert "'Several days'" in flags[0].reason
    assert flags[0].since == D(2024, 3, 8)
    assert all(f.open for f in flags)


def test_acknowledged_safety_flag_is_no_longer_open():
    facts = [phq9_fact(2, D(2024, 3, 8), 1), phq9_fact(3, D(2024, 3, 15), 2)]
    assert [f.measurement_id for f in analytics.safety_flags(facts, {2})] == [3]


def test_acknowledged_safety_flag_shown_with_who_and_when_on_request():
    when = T(2024, 3, 8, 14, 5)
    facts = [phq9_fact(2, T(2024, 3, 8, 9), 1)]
    acks = {2: Acknowledgement("Dr A. Clinician", when)}
    assert analytics.safety_flags(facts, acks) == []
    (flag,) = analytics.safety_flags(facts, acks, include_acknowledged=True)
    assert (flag.acknowledged_by, flag.acknowledged_at, flag.open) == ("Dr A. Clinician", when, False)


def test_safety_flag_from_stored_boolean():
    flag = analytics.safety_flag("phq9", T(2024, 3, 8, 9, 30), 42)
    assert (flag.kind, flag.severity, flag.measurement_id) == ("safety", 0, 42)
    assert flag.reason.startswith("2024-03-08: PHQ-9 item 9 (Thoughts that you would be better off dead")


# --- deterioration ------------------------------------------------------------------------


def test_reliable_deterioration_flag():
    flag = analytics.reliable_deterioration(change("phq9", 8, 15), measurement_id=9, since=D(2024, 4, 1))
    assert (flag.kind, flag.severity, flag.instrument, flag.measurement_id) == ("deterioration", 1, "phq9", 9)
    assert (
        flag.reason == "PHQ-9 reliably worse: 8 → 15 (+7; Mild → Moderately severe); reliable change 6 points or more"
    )


def test_reliable_deterioration_flag_for_a_higher_better_measure():
    flag = analytics.reliable_deterioration(change("pseq", 40, 25))
    assert flag.reason.startswith("PSEQ reliably worse: 40 → 25 (-15; Mild → Moderate)")
    assert "11.5 points exceeded" in flag.reason


@pytest.mark.parametrize(
    "instrument_id, before, after", [("phq9", 15, 8), ("phq9", 8, 12), ("odi", 20, 36), ("pseq", 25, 40)]
)
def test_no_deterioration_flag_without_reliable_deterioration(instrument_id, before, after):
    assert analytics.reliable_deterioration(change(instrument_id, before, after)) is None


def test_deterioration_flag_from_points():
    points = [Point(D(2024, 1, 5), 9, 1), Point(D(2024, 2, 5), 7, 2), Point(D(2024, 3, 5), 16, 3)]
    flag = analytics.deterioration_flag(inst("phq9"), points)
    assert flag.measurement_id == 3 and flag.since == D(2024, 3, 5)
    assert analytics.deterioration_flag(inst("phq9"), points[:2]) is None
    assert analytics.deterioration_flag(inst("phq9"), points[:1]) is None


# --- missed sessions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "attendance, streak",
    [
        ([], 0),
        (["attended"], 0),
        (["attended", "no_show"], 1),
        (["attended", "no_show", "no_show"], 2),
        (["no_show", "no_show", "attended"], 0),
        (["no_show", "attended", "no_show"], 1),
        # a plain cancellation (often the clinic's) neither counts nor breaks the streak
        (["no_show", "cancelled", "no_show"], 2),
        (["attended", "cancelled", "cancelled"], 0),
        (["no_show", "cancelled_by_clinic"], 1),
        (["cancelled_by_patient", "no_show", "cancelled_by_patient"], 3),
    ],
)
def test_missed_session_streak(attendance, streak):
    assert analytics.missed_session_streak(attendance) == streak


def test_unknown_attendance_is_a_bug_not_a_guess():
    with pytest.raises(ValueError):
        analytics.missed_session_streak(["attended", "nope"])


def test_missed_sessions_flag_at_two():
    assert analytics.missed_sessions_flag(1) is None
    flag = analytics.missed_sessions_flag(2)
    assert (flag.kind, flag.severity) == ("missed_sessions", 3)
    assert flag.reason == "2 sessions in a row missed: no-show or cancelled by the patient"
    assert analytics.missed_sessions_flag(["attended", "no_show", "no_show"], "PT").reason.startswith(
        "2 sessions in a row missed (PT)"
    )


# --- dates ----------------------------------------------------------------------------------


def test_measure_due_date():
    assert analytics.measure_due_date(inst("phq9"), T(2024, 1, 1, 10)) == D(2024, 2, 12)  # + 42 days
    assert analytics.measure_due_date(inst("startback"), D(2024, 1, 1)) is None
    assert analytics.measure_due_date(inst("phq9"), None) is None


def test_overdue_measure_after_its_grace():
    phq9 = inst("phq9")  # every 42 days, 7 days' grace
    assert analytics.overdue_grace(phq9) == dt.timedelta(days=7)
    assert analytics.overdue_measure(phq9, D(2024, 1, 1), D(2024, 2, 12)) is None  # due today
    assert analytics.overdue_measure(phq9, D(2024, 1, 1), D(2024, 2, 19)) is None  # last day of grace
    flag = analytics.overdue_measure(phq9, D(2024, 1, 1), D(2024, 2, 20))
    assert (flag.kind, flag.instrument, flag.since) == ("overdue_measure", "phq9", D(2024, 2, 12))
    assert flag.reason == "PHQ-9 overdue by 8 days (last taken 2024-01-01; due every 42 days, by 2024-02-12)"
    assert "overdue by 9 days" in analytics.overdue_measure(phq9, T(2024, 1, 1, 15), D(2024, 2, 21)).reason


def test_weekly_measure_has_two_days_grace():
    nrs = inst("nrs_pain")  # every 7 days
    assert analytics.measure_overdue_after(nrs, D(2024, 1, 1)) == D(2024, 1, 10)
    assert analytics.overdue_measure(nrs, D(2024, 1, 1), D(2024, 1, 10)) is None
    assert analytics.overdue_measure(nrs, D(2024, 1, 1), D(2024, 1, 11)).reason.startswith("NRS pain overdue by 3 days")


def test_no_overdue_flag_without_interval_or_first_measurement():
    assert analytics.overdue_measure(inst("startback"), D(2020, 1, 1), D(2024, 1, 1)) is None
    assert analytics.overdue_measure(inst("phq9"), None, D(2024, 1, 1)) is None


def test_goal_past_due():
    assert analytics.goal_past_due(D(2024, 5, 1), "active", D(2024, 5, 1)) is None  # due today
    flag = analytics.goal_past_due(D(2024, 5, 1), "active", D(2024, 5, 4), "Walk to the shop")
    assert (flag.kind, flag.severity, flag.since) == ("goal_past_due", 5, D(2024, 5, 1))
    assert flag.reason == "Goal 'Walk to the shop' was due 2024-05-01 (3 days ago) and is still active"
    assert analytics.goal_past_due(None, "active", D(2024, 5, 4)) is None


@pytest.mark.parametrize("status", ["achieved", "partly_achieved", "not_achieved", "discontinued"])
def test_finished_goal_is_never_past_due(status):
    assert analytics.goal_past_due(D(2024, 5, 1), status, D(2024, 6, 1)) is None


def test_checkin_overdue():
    assert analytics.checkin_overdue(D(2024, 5, 1), D(2024, 5, 1)) is None
    assert analytics.checkin_overdue(None, D(2024, 5, 1)) is None
    flag = analytics.checkin_overdue(D(2024, 5, 1), D(2024, 5, 2))
    assert (flag.kind, flag.reason) == ("checkin_overdue", "Check-in overdue by 1 day (was due 2024-05-01)")


def test_review_flag():
    assert analytics.review_flag("relapse after a fall").reason == "Flagged for team review: relapse after a fall"
    assert analytics.review_flag(None).reason == "Flagged for team review"


def test_date_flags_from_stored_due_dates():
    flags = analytics.date_flags(
        today=D(2024, 5, 10),
        measure_overdue_after=D(2024, 5, 1) + analytics.overdue_grace(inst("odi")),
        measure_overdue_instrument="odi",
        goal_due_min=D(2024, 5, 9),
        next_checkin=D(2024, 5, 10),
    )
    assert [f.kind for f in flags] == ["overdue_measure", "goal_past_due"]
    assert flags[0].reason.startswith("ODI overdue by 9 days")
    assert analytics.date_flags(today=D(2024, 5, 10)) == []


# --- ordering and storage -------------------------------------------------------------------


def test_flags_sort_safety_first_then_deterioration():
    flags = [
        analytics.checkin_overdue(D(2024, 5, 1), D(2024, 5, 9)),
        analytics.missed_sessions_flag(3),
        analytics.reliable_deterioration(change("phq9", 5, 12)),
        analytics.safety_flag("phq9", D(2024, 5, 2), 1),
        analytics.overdue_measure(inst("odi"), D(2024, 1, 1), D(2024, 5, 29)),
    ]
    assert [f.kind for f in analytics.sort_flags(flags)] == [
        "safety",
        "deterioration",
        "missed_sessions",
        "checkin_overdue",
        "overdue_measure",
    ]


def test_flag_round_trips_through_json():
    flag = analytics.safety_flag("phq9", D(2024, 3, 8), 2, acknowledgement=Acknowledgement("Dr A", T(2024, 3, 8, 14)))
    stored = json.loads(json.dumps(analytics.flag_to_dict(flag)))
    assert analytics.flag_from_dict(stored) == flag


def test_flag_from_minimal_dict_takes_severity_from_kind():
    flag = analytics.flag_from_dict({"kind": "deterioration", "reason": "ODI worse"})
    assert (flag.severity, flag.since, flag.instrument) == (1, None, None)


def test_deterioration_since_the_last_checkin_after_good_progress():
    phq9 = inst("phq9")
    points = [Point(T(2026, 1, 5, 10), 18, 1), Point(T(2026, 2, 16, 10), 6, 2), Point(T(2026, 3, 30, 10), 14, 3)]
    # 18 -> 14 is an improvement from baseline, but 6 -> 14 (+8) since the check-in of 20 Feb is reliable worsening.
    assert analytics.deterioration_flag(phq9, points) is None
    flag = analytics.deterioration_flag(phq9, points, last_checkin_at=D(2026, 2, 20))
    assert flag.kind == "deterioration" and flag.measurement_id == 3
    assert flag.reason.endswith("since the check-in of 2026-02-20")
    assert "6 → 14" in flag.reason
    # A check-in before any measurement, or one whose value is the baseline, adds nothing.
    assert analytics.deterioration_flag(phq9, points, last_checkin_at=D(2026, 1, 6)) is None


# Instruments whose change is judged from two values (patient-named ones match items).
TWO_VALUE_INSTRUMENTS = sorted(i for i, inst in instruments.library().items() if not inst.named_items)


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(TWO_VALUE_INSTRUMENTS),
    st.floats(-50, 700, allow_nan=False),
    st.floats(-50, 700, allow_nan=False),
    st.sampled_from([(1, 2), (2, 1), (3, 3), (None, None)]),
)
def test_a_deterioration_is_flagged_exactly_when_the_change_says_reliably_worse(instrument_id, before, after, ids):
    """A list summary asks every series whether it deteriorated reliably, answered
    without building the whole Change when it plainly did not: the answer is the
    Change's own, whatever the instrument, the values and the entries."""
    inst = instruments.get(instrument_id)
    first = Point(T(2024, 1, 5, 9), round(before, 2), ids[0])
    last = Point(T(2024, 3, 5, 9), round(after, 2), ids[1])
    full = analytics.reliable_deterioration(
        analytics.change_between(inst, first, last), measurement_id=last.id, since=last.taken_at
    )
    assert analytics._deterioration_between(inst, first, last) == full
    assert analytics.deterioration_flag(inst, [first, last]) == (None if first == last else full)
