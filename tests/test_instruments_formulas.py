"""The named formulas that definitions refer to, tested on their own."""

from __future__ import annotations

import pytest

from teamdash.clinical.instruments import (
    FORMULAS,
    FormulaInputError,
    bmi,
    minutes_between,
    psqi_sleep_efficiency,
    sleep_diary,
    wpai,
)


@pytest.mark.parametrize(
    "start, end, minutes",
    [
        ("23:00", "07:00", 480),
        ("22:30", "23:15", 45),
        ("00:00", "00:00", 0),
        ("23:59", "00:01", 2),
        ("06:00", "05:59", 1439),
    ],
)
def test_minutes_between_crosses_midnight(start, end, minutes):
    assert minutes_between(start, end) == minutes


@pytest.mark.parametrize(
    "weight, height, expected",
    # 70 / 1.75^2 = 70 / 3.0625 = 22.857...; 100 / 2^2 = 25; 50 / 1.6^2 = 19.53125
    [(70, 175, 22.857142857), (100, 200, 25.0), (50, 160, 19.53125)],
)
def test_bmi(weight, height, expected):
    assert bmi([weight, height])["bmi"] == pytest.approx(expected)


def test_bmi_takes_weight_then_height():
    assert bmi([80, 180])["bmi"] != bmi([180, 80])["bmi"]


@pytest.mark.parametrize(
    "args, expected",
    [
        # employed: 8 h missed, 32 worked: 8 / 40 = 20 %; Q5 3 -> 30 %;
        # overall 0.2 + 0.8 x 0.3 = 0.44 -> 44 %; activity 70 %
        ((1, 8, 0, 32, 3, 7), (20.0, 30.0, 44.0, 70.0)),
        # no hours missed: absenteeism 0, overall = presenteeism
        ((1, 0, 0, 40, 2, 2), (0.0, 20.0, 20.0, 20.0)),
        # not employed: only activity impairment
        ((0, None, None, None, None, 10), (None, None, None, 100.0)),
        # employed, worked nothing and missed nothing: undefined work scores
        ((1, 0, 0, 0, None, 0), (None, None, None, 0.0)),
    ],
)
def test_wpai(args, expected):
    out = wpai(list(args))
    got = (out["absenteeism_pct"], out["presenteeism_pct"], out["work_impairment_pct"], out["activity_impairment_pct"])
    assert got == pytest.approx(expected) if None not in expected else got == expected


def test_sleep_diary_formula():
    # bed 22:45, lights 23:15, SOL 30, WASO 45, wake 06:15, out 06:45:
    # TIB = 8 h = 480; window 23:15 -> 06:15 = 420; TST = 420 - 30 - 45 = 345; SE 71.875 %
    out = sleep_diary(["22:45", "23:15", 30, 3, 45, "06:15", "06:45", 2])
    assert out == {"tib_min": 480.0, "tst_min": 345.0, "se_pct": 71.875, "sol_min": 30.0, "waso_min": 45.0}


def test_sleep_diary_zero_sleep_is_possible():
    # awake all night: window 420, SOL 400 + WASO 20 = 420 -> TST 0, SE 0
    out = sleep_diary(["23:00", "23:00", 400, 0, 20, "06:00", "06:00", 1])
    assert (out["tst_min"], out["se_pct"]) == (0.0, 0.0)


def test_sleep_diary_impossible_night_names_the_waso_input():
    with pytest.raises(FormulaInputError) as info:
        sleep_diary(["23:00", "23:00", 400, 0, 21, "06:00", "06:00", 1])
    assert info.value.position == 4


@pytest.mark.parametrize(
    "bed, rise, asleep, in_bed, efficiency",
    [("22:00", "06:00", 6.8, 8.0, 85.0), ("23:30", "06:30", 7, 7.0, 100.0), ("00:15", "08:15", 4, 8.0, 50.0)],
)
def test_psqi_sleep_efficiency(bed, rise, asleep, in_bed, efficiency):
    out = psqi_sleep_efficiency([bed, rise, asleep])
    assert out["hours_in_bed"] == in_bed
    assert out["sleep_efficiency_pct"] == pytest.approx(efficiency)


def test_psqi_sleep_efficiency_missing_input():
    assert psqi_sleep_efficiency(["22:00", None, 7]) == {"hours_in_bed": None, "sleep_efficiency_pct": None}


def test_registry_declares_inputs_and_outputs():
    for name, formula in FORMULAS.items():
        assert formula.inputs >= 1, name
        assert formula.outputs, name
