"""Worked scoring examples for every instrument and the boundaries of every band.

Each expected value is worked by hand in the comment beside it, from the scoring rules
cited in the instrument's definition file.
"""

from __future__ import annotations

import pytest

from teamdash.clinical import instruments


def fill(count: int, item_max: int, total: int, item_min: int = 0) -> list[int]:
    """Responses adding up to ``total``, filling items from the first one."""
    out, left = [], total - item_min * count
    for _ in range(count):
        take = min(item_max - item_min, left)
        out.append(item_min + take)
        left -= take
    assert left == 0, "total out of reach"
    return out


def total(instrument_id, responses):
    return instruments.score(instrument_id, responses).total


def band(instrument_id, responses):
    return instruments.score(instrument_id, responses).band


# --- worked examples -------------------------------------------------------------------

WORKED = [
    # (instrument, responses, total)
    ("nrs_pain", [7], 7.0),
    ("nrs_pain", ["0"], 0.0),
    ("nrs_pain", [" 10 "], 10.0),
    # ODI 3+2+2+1+3+2+1+0+2+2 = 18; 18 / (5 x 10) x 100 = 36
    ("odi", [3, 2, 2, 1, 3, 2, 1, 0, 2, 2], 36.0),
    # section 3 missing: 3+2+1+3+2+1+0+2+2 = 16; 16 / 45 x 100 = 35.555...
    ("odi", [3, 2, None, 1, 3, 2, 1, 0, 2, 2], 35.555555556),
    ("odi", [5] * 10, 100.0),
    ("odi", [0] * 10, 0.0),
    # RMDQ: nine statements ticked
    ("rmdq", [1] * 9 + [0] * 15, 9.0),
    ("rmdq", ["yes", "no"] * 12, 12.0),
    ("rmdq", [1] * 24, 24.0),
    # PHQ-9 1+2+3+0+1+2+3+0+1 = 13
    ("phq9", [1, 2, 3, 0, 1, 2, 3, 0, 1], 13.0),
    ("phq9", [3] * 9, 27.0),
    # GAD-7 2+2+1+0+3+1+2 = 11
    ("gad7", [2, 2, 1, 0, 3, 1, 2], 11.0),
    ("gad7", [0] * 7, 0.0),
    # PCS 1+2+3+4+0+1+2+3+4+0+1+2+3 = 26
    ("pcs", [1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3], 26.0),
    # TSK-11 1+2+3+4+1+2+3+4+1+2+3 = 26
    ("tsk11", [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3], 26.0),
    ("tsk11", [1] * 11, 11.0),
    ("tsk11", [4] * 11, 44.0),
    # PSEQ 6+5+4+3+2+1+0+6+5+4 = 36
    ("pseq", [6, 5, 4, 3, 2, 1, 0, 6, 5, 4], 36.0),
    # CPAQ-8 in printed-form order (CPAQ-20 items 1, 13, 6, 14, 9, 15, 17, 18):
    # AE = form items 1, 3, 5, 6 (CPAQ-20 1, 6, 9, 15) = 5+6+2+5 = 18;
    # PW = form items 2, 4, 7, 8 (CPAQ-20 13, 14, 17, 18) reversed = (6-4)+(6-3)+(6-1)+(6-0) = 16;
    # total 34 (the old key, reversing form items 4, 5, 7, 8, gave 38)
    ("cpaq8", [5, 4, 6, 3, 2, 5, 1, 0], 34.0),
    # all 6: AE 24, PW 0 -> 24; all 0: AE 0, PW 24 -> 24
    ("cpaq8", [6] * 8, 24.0),
    ("cpaq8", [0] * 8, 24.0),
    # most accepting: AE items 6, PW items 0 -> 24 + 24 = 48
    ("cpaq8", [6, 0, 6, 0, 6, 6, 0, 0], 48.0),
    # least accepting: AE items 0, PW items 6 -> 0
    ("cpaq8", [0, 6, 0, 6, 0, 0, 6, 6], 0.0),
    # ISI 3+2+2+1+3+2+1 = 14
    ("isi", [3, 2, 2, 1, 3, 2, 1], 14.0),
    # STarT Back: items 1,2,5,6,7 agree = 5, item 9 'very much' (3) positive = 6
    ("startback", [1, 1, 0, 0, 1, 1, 1, 0, 3], 6.0),
    # item 9 'moderately' (2) is not positive: 5
    ("startback", [1, 1, 0, 0, 1, 1, 1, 0, 2], 5.0),
    ("startback", ["agree"] * 8 + [4], 9.0),
    # WPAI total is activity impairment: Q6 6 / 10 = 60 %
    ("wpai", [1, 4, 2, 36, 5, 6], 60.0),
    ("wpai", [0, None, None, None, None, 3], 30.0),
    ("chair_stand_30s", [12], 12.0),
    ("six_minute_walk", ["412.5"], 412.5),
    # BMI 72.25 kg / 1.70 m^2 = 72.25 / 2.89 = 25.0
    ("bmi", [72.25, 170], 25.0),
    # 80 kg / 1.80^2 = 80 / 3.24 = 24.691358...
    ("bmi", [80, 180], 24.691358025),
    ("waist", [94.5], 94.5),
    # sleep diary: TIB 23:00 -> 07:00 = 480; lights out 23:30 -> wake 06:30 = 420;
    # TST = 420 - 20 - 30 = 370; SE = 370 / 480 x 100 = 77.083...
    ("sleep_diary", ["23:00", "23:30", 20, 2, 30, "06:30", "07:00", 4], 77.083333333),
]


@pytest.mark.parametrize("instrument_id, responses, expected", WORKED)
def test_worked_example_total(instrument_id, responses, expected):
    assert total(instrument_id, responses) == pytest.approx(expected, abs=1e-6)


def test_phq9_worked_example_in_full():
    result = instruments.score("phq9", [1, 2, 3, 0, 1, 2, 3, 0, 1])
    assert (result.total, result.band, result.band_severity) == (13.0, "Moderate", 2)
    assert result.missing_items == ()
    assert result.responses == (1, 2, 3, 0, 1, 2, 3, 0, 1)


def test_pcs_subscales():
    # rumination 8-11: 3+4+0+1 = 8; magnification 6,7,13: 1+2+3 = 6;
    # helplessness 1-5,12: 1+2+3+4+0+2 = 12; 8 + 6 + 12 = 26 = total
    result = instruments.score("pcs", [1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3])
    assert result.subscales == {"rumination": 8.0, "magnification": 6.0, "helplessness": 12.0}
    assert sum(result.subscales.values()) == result.total


def test_cpaq8_subscales_and_reverse_scoring():
    result = instruments.score("cpaq8", [5, 4, 6, 3, 2, 5, 1, 0])
    assert result.subscales == {"activity_engagement": 18.0, "pain_willingness": 16.0}
    # Raw answers are kept as given: reversal happens only in the scores.
    assert result.responses == (5, 4, 6, 3, 2, 5, 1, 0)


def test_cpaq8_items_keep_their_cpaq20_numbers_in_printed_order():
    cpaq8 = instruments.get("cpaq8")
    assert cpaq8.item_source == "CPAQ-20"
    assert [i.source_number for i in cpaq8.items] == [1, 13, 6, 14, 9, 15, 17, 18]
    # The key, written in CPAQ-20 numbers, lands on these form positions.
    assert cpaq8.scoring.subscales == {"activity_engagement": (1, 3, 5, 6), "pain_willingness": (2, 4, 7, 8)}
    assert cpaq8.scoring.reverse == (2, 4, 7, 8)
    assert cpaq8.item_role(2) == "pain willingness, reverse-scored"
    assert cpaq8.item_role(3) == "activity engagement"
    assert cpaq8.items[1].label == "CPAQ-20 item 13"  # a number, never the wording


@pytest.mark.parametrize(
    "form_item, cpaq20, answer, pw",
    # PW items reversed: with every answer 0 each PW item scores 6 (PW 24); answering 6 on
    # one of them takes 6 off, answering 3 takes 3 off.
    [(2, 13, 6, 18.0), (4, 14, 6, 18.0), (7, 17, 6, 18.0), (8, 18, 6, 18.0), (4, 14, 3, 21.0)],
)
def test_cpaq8_each_pain_willingness_item_is_reversed(form_item, cpaq20, answer, pw):
    responses = [0] * 8
    responses[form_item - 1] = answer
    assert instruments.get("cpaq8").items[form_item - 1].source_number == cpaq20
    assert instruments.score("cpaq8", responses).subscales["pain_willingness"] == pw


@pytest.mark.parametrize("form_item, cpaq20", [(1, 1), (3, 6), (5, 9), (6, 15)])
def test_cpaq8_activity_engagement_items_are_not_reversed(form_item, cpaq20):
    responses = [0] * 8
    responses[form_item - 1] = 6
    assert instruments.get("cpaq8").items[form_item - 1].source_number == cpaq20
    result = instruments.score("cpaq8", responses)
    assert result.subscales["activity_engagement"] == 6.0
    assert result.subscales["pain_willingness"] == 24.0


# --- PSFS: 1-5 patient-named activities ------------------------------------------------

PSFS = [
    # (ratings, total): the mean of the rated activities
    ([3, None, None, None, None], 3.0),  # one activity is a valid PSFS
    ([3, 5, None, None, None], 4.0),
    ([3, 5, 4, None, None], 4.0),  # (3 + 5 + 4) / 3
    ([2, 3, 3, "", ""], 2.666666667),  # 8 / 3
    ([2, 3, 3, 8, None], 4.0),  # 16 / 4
    ([3, 5, 4, 6, 7], 5.0),  # 25 / 5
    ([None, 7, None, 2, None], 4.5),  # any slots: (7 + 2) / 2
]


@pytest.mark.parametrize("ratings, expected", PSFS)
def test_psfs_mean_of_one_to_five_named_activities(ratings, expected):
    names = [f"Activity {n}" if r not in (None, "") else None for n, r in enumerate(ratings, 1)]
    result = instruments.score("psfs", ratings, names)
    assert result.total == pytest.approx(expected, abs=1e-6)
    assert result.item_names == tuple(names)


def test_psfs_names_are_tidied_and_kept_for_unrated_activities():
    result = instruments.score(
        "psfs", [4, None, 6, None, None], ["  Walking   30 min ", "Gardening", "Lifting\nboxes", None, ""]
    )
    assert result.item_names == ("Walking 30 min", "Gardening", "Lifting boxes", None, None)
    assert result.total == 5.0  # Gardening is named but not rated this time


def test_other_instruments_take_no_item_names():
    assert instruments.score("phq9", [0] * 9).item_names is None


def test_psqi_worked_example():
    # Q1 23:30, Q2 45 min, Q3 06:30, Q4 5.5 h, Q5a 2, Q5b-j 2,1,0,1,0,2,1,3,(blank),
    # Q6 2, Q7 1, Q8 1, Q9 2, Q10 blank.
    # C1 = Q6 = 2; C2: 45 min -> 2, + Q5a 2 = 4 -> 2; C3: 5.5 h -> 2;
    # C4: in bed 23:30 -> 06:30 = 7 h, 5.5 / 7 = 78.6 % -> 1;
    # C5: 2+1+0+1+0+2+1+3+0 = 10 -> 2; C6 = Q7 = 1; C7: 1 + 2 = 3 -> 2.
    # Global 2+2+2+1+2+1+2 = 12 -> poor sleeper.
    responses = ["23:30", 45, "06:30", 5.5, 2, 2, 1, 0, 1, 0, 2, 1, 3, None, 2, 1, 1, 2, None]
    result = instruments.score("psqi", responses)
    assert result.components == {
        "subjective_quality": 2.0,
        "latency": 2.0,
        "duration": 2.0,
        "efficiency": 1.0,
        "disturbances": 2.0,
        "medication": 1.0,
        "daytime_dysfunction": 2.0,
    }
    assert result.total == 12.0
    assert result.band == "Poor sleeper"
    assert result.derived["hours_in_bed"] == 7.0
    assert result.derived["sleep_efficiency_pct"] == pytest.approx(78.571428571)
    assert result.missing_items == (14, 19)


def test_wpai_worked_example():
    # employed; missed 4 h for back pain, worked 36 h: absenteeism 4 / 40 = 10 %;
    # presenteeism 5 / 10 = 50 %; overall 0.10 + 0.90 x 0.50 = 0.55 = 55 %; activity 60 %
    result = instruments.score("wpai", [1, 4, 2, 36, 5, 6])
    assert result.derived == {
        "absenteeism_pct": 10.0,
        "presenteeism_pct": 50.0,
        "work_impairment_pct": 55.0,
        "activity_impairment_pct": 60.0,
    }


def test_wpai_not_employed_has_no_work_scores():
    result = instruments.score("wpai", [0, None, None, None, None, 3])
    assert result.derived["absenteeism_pct"] is None
    assert result.derived["presenteeism_pct"] is None
    assert result.derived["work_impairment_pct"] is None
    assert result.derived["activity_impairment_pct"] == 30.0


def test_wpai_not_employed_ignores_work_answers_in_scores():
    result = instruments.score("wpai", [0, 5, 0, 30, 4, 3])
    assert result.derived["work_impairment_pct"] is None
    assert result.responses == (0, 5.0, 0.0, 30.0, 4, 3)


def test_wpai_employed_but_missed_every_hour():
    # 16 h missed, 0 worked: absenteeism 100 %; Q5 skipped (no hours worked); overall 100 %
    result = instruments.score("wpai", [1, 16, 0, 0, None, 8])
    assert result.derived["absenteeism_pct"] == 100.0
    assert result.derived["presenteeism_pct"] is None
    assert result.derived["work_impairment_pct"] == 100.0


def test_wpai_employed_on_leave_has_undefined_work_scores():
    # employed, 0 h missed and 0 h worked (on holiday): no denominator, no work scores
    result = instruments.score("wpai", [1, 0, 40, 0, None, 2])
    assert result.derived["absenteeism_pct"] is None
    assert result.derived["work_impairment_pct"] is None


def test_bmi_derived_and_band():
    result = instruments.score("bmi", [72.25, 170])
    assert result.derived == {"bmi": 25.0}
    assert (result.band, result.band_severity) == ("Pre-obesity", 1)


def test_sleep_diary_derived_values():
    result = instruments.score("sleep_diary", ["23:00", "23:30", 20, 2, 30, "06:30", "07:00", 4])
    assert result.derived["tib_min"] == 480.0
    assert result.derived["tst_min"] == 370.0
    assert result.derived["se_pct"] == pytest.approx(77.083333333)
    assert result.derived["sol_min"] == 20.0
    assert result.derived["waso_min"] == 30.0


def test_sleep_diary_after_midnight_bed_time():
    # into bed 00:30, lights out 00:45, wake 07:45, out 08:00: TIB 450, window 420,
    # TST = 420 - 10 - 0 = 410; SE = 410 / 450 = 91.1 %
    result = instruments.score("sleep_diary", ["0:30", "00:45", 10, None, 0, "07:45", "08:00", None])
    assert result.derived["tib_min"] == 450.0
    assert result.derived["tst_min"] == 410.0
    assert result.total == pytest.approx(91.111111111)
    assert result.responses[0] == "00:30"


def test_sleep_diary_daytime_sleep_window():
    # a night-shift worker: bed 08:00, lights 08:00, wake 15:00, out 15:30:
    # TIB 450, TST = 420 - 0 - 0 = 420, SE 93.3 %
    result = instruments.score("sleep_diary", ["08:00", "08:00", 0, 0, 0, "15:00", "15:30", 3])
    assert result.derived["tst_min"] == 420.0
    assert result.total == pytest.approx(93.333333333)


def test_single_item_instruments_total_is_the_value():
    for instrument_id, value in [("nrs_pain", 4), ("chair_stand_30s", 9), ("six_minute_walk", 350), ("waist", 101.2)]:
        assert instruments.score(instrument_id, [value]).total == float(value)


# --- band boundaries: the last value of one band and the first of the next -------------

PHQ9 = [
    (0, "Minimal"),
    (4, "Minimal"),
    (5, "Mild"),
    (9, "Mild"),
    (10, "Moderate"),
    (14, "Moderate"),
    (15, "Moderately severe"),
    (19, "Moderately severe"),
    (20, "Severe"),
    (27, "Severe"),
]
GAD7 = [
    (0, "Minimal"),
    (4, "Minimal"),
    (5, "Mild"),
    (9, "Mild"),
    (10, "Moderate"),
    (14, "Moderate"),
    (15, "Severe"),
    (21, "Severe"),
]
ISI = [
    (0, "No clinically significant insomnia"),
    (7, "No clinically significant insomnia"),
    (8, "Subthreshold insomnia"),
    (14, "Subthreshold insomnia"),
    (15, "Moderate clinical insomnia"),
    (21, "Moderate clinical insomnia"),
    (22, "Severe clinical insomnia"),
    (28, "Severe clinical insomnia"),
]
PSEQ = [
    (0, "Severe"),
    (19, "Severe"),
    (20, "Moderate"),
    (30, "Moderate"),
    (31, "Mild"),
    (40, "Mild"),
    (41, "Minimal"),
    (60, "Minimal"),
]
PCS = [(0, None), (29, None), (30, "Clinically relevant"), (52, "Clinically relevant")]


@pytest.mark.parametrize("points, label", PHQ9)
def test_phq9_band_boundaries(points, label):
    # fill from item 1 so item 9 stays 0 until the total needs it
    assert band("phq9", fill(9, 3, points)) == label


@pytest.mark.parametrize("points, label", GAD7)
def test_gad7_band_boundaries(points, label):
    assert band("gad7", fill(7, 3, points)) == label


@pytest.mark.parametrize("points, label", ISI)
def test_isi_band_boundaries(points, label):
    assert band("isi", fill(7, 4, points)) == label


@pytest.mark.parametrize("points, label", PSEQ)
def test_pseq_band_boundaries(points, label):
    assert band("pseq", fill(10, 6, points)) == label


@pytest.mark.parametrize("points, label", PCS)
def test_pcs_clinically_relevant_threshold(points, label):
    assert band("pcs", fill(13, 4, points)) == label


ODI = [
    # all ten answered: sum / 50 x 100
    ([0] * 10, 0.0, "Minimal disability"),
    (fill(10, 5, 10), 20.0, "Minimal disability"),
    (fill(10, 5, 11), 22.0, "Moderate disability"),
    (fill(10, 5, 20), 40.0, "Moderate disability"),
    (fill(10, 5, 21), 42.0, "Severe disability"),
    (fill(10, 5, 30), 60.0, "Severe disability"),
    (fill(10, 5, 31), 62.0, "Crippled"),
    (fill(10, 5, 40), 80.0, "Crippled"),
    (fill(10, 5, 41), 82.0, "Bed-bound"),
    ([5] * 10, 100.0, "Bed-bound"),
    # one section missing: sum / 45 x 100 on the unrounded value
    # 9 / 45 x 100 = 20.0 exactly -> Minimal; 10 / 45 x 100 = 22.2 -> Moderate
    (fill(9, 5, 9) + [None], 20.0, "Minimal disability"),
    (fill(9, 5, 10) + [None], 22.222222222, "Moderate disability"),
    # 18 / 45 = 40.0 -> Moderate; 19 / 45 = 42.2 -> Severe
    ([None] + fill(9, 5, 18), 40.0, "Moderate disability"),
    ([None] + fill(9, 5, 19), 42.222222222, "Severe disability"),
    # 27 / 45 = 60.0 -> Severe; 28 / 45 = 62.2 -> Crippled
    (fill(9, 5, 27)[:4] + [None] + fill(9, 5, 27)[4:], 60.0, "Severe disability"),
    (fill(9, 5, 28)[:4] + [None] + fill(9, 5, 28)[4:], 62.222222222, "Crippled"),
    # 36 / 45 = 80.0 -> Crippled; 37 / 45 = 82.2 -> Bed-bound
    (fill(9, 5, 36) + [None], 80.0, "Crippled"),
    (fill(9, 5, 37) + [None], 82.222222222, "Bed-bound"),
]


@pytest.mark.parametrize("responses, expected_total, label", ODI)
def test_odi_bands_apply_to_the_unrounded_value(responses, expected_total, label):
    result = instruments.score("odi", responses)
    assert result.total == pytest.approx(expected_total, abs=1e-6)
    assert result.band == label


def test_odi_totals_are_exact_not_float_noise():
    # 9 / 45 x 100 is exactly 20.0 (Minimal, not Moderate); 7 / 50 x 100 computed naively
    # is 14.000000000000002, and stored totals must compare equal to what the team reads.
    assert instruments.score("odi", fill(9, 5, 9) + [None]).total == 20.0
    assert instruments.score("odi", fill(10, 5, 7)).total == 14.0


BMI = [
    # height 200 cm -> m^2 = 4: BMI = weight / 4. Classes apply to the value as displayed
    # (one decimal): 18.49 is shown as 18.5 and is Normal weight, never "18.5 Underweight".
    (73.76, 18.44, "Underweight"),
    (73.96, 18.49, "Normal weight"),
    (74.0, 18.5, "Normal weight"),
    (99.76, 24.94, "Normal weight"),
    (99.96, 24.99, "Pre-obesity"),
    (100.0, 25.0, "Pre-obesity"),
    (119.76, 29.94, "Pre-obesity"),
    (120.0, 30.0, "Obesity class I"),
    (139.76, 34.94, "Obesity class I"),
    (140.0, 35.0, "Obesity class II"),
    (159.76, 39.94, "Obesity class II"),
    (159.96, 39.99, "Obesity class III"),
    (160.0, 40.0, "Obesity class III"),
    (40.0, 10.0, "Underweight"),
]


@pytest.mark.parametrize("weight, expected_bmi, label", BMI)
def test_bmi_who_class_boundaries(weight, expected_bmi, label):
    result = instruments.score("bmi", [weight, 200])
    assert result.total == pytest.approx(expected_bmi, abs=1e-9)
    assert result.band == label
    bmi = instruments.get("bmi")
    assert bmi.band_for(float(bmi.format(result.total))).label == label  # the band of the number shown


def test_bmi_18_4998_is_not_shown_as_18_5_underweight():
    result = instruments.score("bmi", [73.9992, 200])  # 18.4998
    assert instruments.get("bmi").format(result.total) == "18.5"
    assert result.band == "Normal weight"


@pytest.mark.parametrize(
    "weight, height, label",
    # 18.5 x 1.55^2 = 44.44625 kg, which binary floating point turns into a BMI of
    # 18.499999999999996; likewise 25.0 x 1.55^2 = 60.0625 kg -> 24.999999999999996.
    [(44.44625, 155, "Normal weight"), (60.0625, 155, "Pre-obesity"), (96.1, 155, "Obesity class III")],
)
def test_bmi_boundary_survives_float_noise(weight, height, label):
    assert instruments.score("bmi", [weight, height]).band == label


STARTBACK = [
    # (responses, total, distress, subgroup)
    ([0] * 9, 0, 0, "Low risk"),
    # total 3 -> low whatever the subscale
    ([0, 0, 0, 0, 1, 1, 1, 0, 0], 3, 3, "Low risk"),
    # total 4 with distress 3 -> medium
    ([1, 0, 0, 0, 1, 1, 1, 0, 0], 4, 3, "Medium risk"),
    ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, 0, "Medium risk"),
    # distress 4 -> high
    ([0, 0, 0, 0, 1, 1, 1, 1, 0], 4, 4, "High risk"),
    # item 9 'very much' (3) counts in both total and distress
    ([0, 0, 0, 0, 1, 1, 1, 0, 3], 4, 4, "High risk"),
    # item 9 'moderately' (2) counts in neither
    ([1, 0, 0, 0, 1, 1, 1, 0, 2], 4, 3, "Medium risk"),
    ([1, 1, 1, 1, 1, 1, 1, 1, 4], 9, 5, "High risk"),
    ([1, 1, 1, 1, 1, 1, 1, 0, 0], 7, 3, "Medium risk"),
]


@pytest.mark.parametrize("responses, expected_total, distress, label", STARTBACK)
def test_startback_subgroups(responses, expected_total, distress, label):
    result = instruments.score("startback", responses)
    assert result.total == expected_total
    assert result.subscales["distress"] == distress
    assert result.band == label


def test_startback_severity_orders_the_subgroups():
    low = instruments.score("startback", [0] * 9).band_severity
    medium = instruments.score("startback", [1, 1, 1, 1, 0, 0, 0, 0, 0]).band_severity
    high = instruments.score("startback", [0, 0, 0, 0, 1, 1, 1, 1, 0]).band_severity
    assert low < medium < high


@pytest.mark.parametrize("item9, positive", [(0, 0), (1, 0), (2, 0), (3, 1), (4, 1)])
def test_startback_item9_positive_from_very_much(item9, positive):
    assert instruments.score("startback", [0] * 8 + [item9]).total == positive


def _psqi_with_global(points: int) -> list:
    # Everything 'no difficulty' (components 0) except C1 (Q6) and C6 (Q7) and C7,
    # which add up to ``points``: C1 = Q6, C6 = Q7 (each 0-3).
    q6, q7 = min(points, 3), min(max(points - 3, 0), 3)
    q8 = points - q6 - q7  # C7: Q8 + Q9 of 1-2 -> 1, 3-4 -> 2
    q8_answer = {0: 0, 1: 1, 2: 3}[q8]
    return ["22:00", 10, "06:00", 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, q6, q7, q8_answer, 0, 0]


@pytest.mark.parametrize(
    "points, label", [(0, "Good sleeper"), (5, "Good sleeper"), (6, "Poor sleeper"), (8, "Poor sleeper")]
)
def test_psqi_poor_sleeper_above_five(points, label):
    result = instruments.score("psqi", _psqi_with_global(points))
    assert result.total == points
    assert result.band == label


def test_psqi_maximum_global():
    # every component 3: Q2 90 min (3) + Q5a 3 = 6 -> 3; 4 h -> 3; 4 / 10 h = 40 % -> 3;
    # disturbances 27 -> 3; Q6 3, Q7 3; Q8 3 + Q9 3 = 6 -> 3. Global 21.
    responses = ["21:00", 90, "07:00", 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]
    result = instruments.score("psqi", responses)
    assert set(result.components.values()) == {3.0}
    assert result.total == 21.0


# --- PSQI component rules, boundaries pinned to the Pittsburgh scoring instructions ----


def psqi(q1="22:00", q2=10, q3="06:00", q4=8.0, q5=(0,) * 10, q6=0, q7=0, q8=0, q9=0, q10=None):
    return instruments.score("psqi", [q1, q2, q3, q4, *q5, q6, q7, q8, q9, q10])


@pytest.mark.parametrize(
    "hours, component",
    # >= 7 -> 0; < 7 and >= 6 -> 1; < 6 and >= 5 -> 2; < 5 -> 3
    [(8, 0), (7.0, 0), (6.99, 1), (6.5, 1), (6.0, 1), (5.99, 2), (5.0, 2), (4.99, 3), (0, 3)],
)
def test_psqi_duration_boundaries(hours, component):
    assert psqi(q4=hours).components["duration"] == component


@pytest.mark.parametrize(
    "hours_asleep, efficiency, component",
    # in bed 22:00 -> 06:00 = 8 h; SE = hours asleep / 8 x 100
    # >= 85 -> 0; < 85 and >= 75 -> 1; < 75 and >= 65 -> 2; < 65 -> 3
    [
        (8.0, 100.0, 0),
        (6.8, 85.0, 0),
        (6.79, 84.875, 1),
        (6.0, 75.0, 1),
        (5.99, 74.875, 2),
        (5.2, 65.0, 2),
        (5.19, 64.875, 3),
        (2.0, 25.0, 3),
    ],
)
def test_psqi_efficiency_boundaries(hours_asleep, efficiency, component):
    result = psqi(q4=hours_asleep)
    assert result.derived["sleep_efficiency_pct"] == pytest.approx(efficiency)
    assert result.components["efficiency"] == component


@pytest.mark.parametrize(
    "minutes, q5a, component",
    # Q2 <= 15 -> 0, 16-30 -> 1, 31-60 -> 2, > 60 -> 3; + Q5a; 0 -> 0, 1-2 -> 1, 3-4 -> 2, 5-6 -> 3
    [
        (0, 0, 0),
        (15, 0, 0),
        (16, 0, 1),
        (30, 0, 1),
        (31, 0, 1),
        (60, 0, 1),
        (61, 0, 2),
        (15, 1, 1),
        (16, 1, 1),
        (31, 1, 2),
        (61, 1, 2),
        (61, 2, 3),
        (31, 3, 3),
        (120, 3, 3),
    ],
)
def test_psqi_latency(minutes, q5a, component):
    q5 = (q5a,) + (0,) * 9
    assert psqi(q2=minutes, q5=q5).components["latency"] == component


@pytest.mark.parametrize(
    "disturbance_sum, component",
    [(0, 0), (1, 1), (9, 1), (10, 2), (18, 2), (19, 3), (27, 3)],
)
def test_psqi_disturbances(disturbance_sum, component):
    q5 = (0,) + tuple(fill(9, 3, disturbance_sum))
    assert psqi(q5=q5).components["disturbances"] == component


@pytest.mark.parametrize(
    "q8, q9, component", [(0, 0, 0), (1, 0, 1), (1, 1, 1), (2, 1, 2), (2, 2, 2), (3, 2, 3), (3, 3, 3)]
)
def test_psqi_daytime_dysfunction(q8, q9, component):
    assert psqi(q8=q8, q9=q9).components["daytime_dysfunction"] == component


def test_psqi_quality_and_medication_are_the_answers():
    result = psqi(q6=2, q7=3)
    assert (result.components["subjective_quality"], result.components["medication"]) == (2, 3)


def test_psqi_efficiency_across_midnight():
    # 23:30 -> 06:30 = 7 h in bed
    assert psqi(q1="23:30", q3="06:30", q4=7).derived["hours_in_bed"] == 7.0
    # 01:00 -> 09:00 = 8 h (both after midnight)
    assert psqi(q1="01:00", q3="09:00", q4=8).derived["sleep_efficiency_pct"] == 100.0


def test_psqi_q5j_blank_scores_zero():
    # Q5b-Q5i sum 9 -> component 1; a blank Q5j adds 0 (Pittsburgh instructions)
    q5 = (0,) + tuple(fill(8, 3, 9)) + (None,)
    result = psqi(q5=q5)
    assert result.components["disturbances"] == 1
    assert 14 in result.missing_items


def test_psqi_missing_item_leaves_component_and_global_empty():
    result = psqi(q6=None)
    assert result.components["subjective_quality"] is None
    assert result.components["duration"] == 0
    assert result.total is None
    assert result.band is None
    assert result.missing_items == (15, 19)


def test_psqi_missing_q4_empties_duration_and_efficiency():
    result = psqi(q4=None)
    assert result.components["duration"] is None
    assert result.components["efficiency"] is None
    assert result.derived["sleep_efficiency_pct"] is None
    assert result.total is None


def test_psqi_q10_is_not_scored():
    assert psqi(q10=3).total == psqi(q10=None).total == 0.0


# --- safety flag ------------------------------------------------------------------------


@pytest.mark.parametrize("item9, flagged", [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item9_safety_flag_whatever_the_total(item9, flagged):
    result = instruments.score("phq9", [0] * 8 + [item9])
    assert result.has_safety_flag is flagged
    assert result.band == "Minimal"  # the total is low; the flag does not depend on it
    if flagged:
        (flag,) = result.flags
        assert (flag.kind, flag.item) == ("safety", 9)
        assert "item 9" in flag.reason


def test_phq9_safety_reason_names_the_answer():
    (flag,) = instruments.score("phq9", [0] * 8 + [2]).flags
    assert "'More than half the days' (2)" in flag.reason


def test_no_other_instrument_raises_flags_on_maximum_answers():
    assert instruments.score("gad7", [3] * 7).flags == ()
    assert instruments.score("pcs", [4] * 13).flags == ()


# --- normalisation -------------------------------------------------------------------------


def test_responses_are_normalised():
    result = instruments.score("phq9", ["1", " 2 ", 3.0, "0", 1, 2, 3, 0, "1.0"])
    assert result.responses == (1, 2, 3, 0, 1, 2, 3, 0, 1)
    assert all(type(v) is int for v in result.responses)


@pytest.mark.parametrize(
    "answer, stored",
    [("yes", 1), ("No", 0), ("TRUE", 1), ("false", 0), (True, 1), (False, 0), ("1", 1), (0, 0), (1.0, 1)],
)
def test_bool_answers(answer, stored):
    assert instruments.score("rmdq", [answer] + [0] * 23).responses[0] == stored


def test_decimal_comma_is_accepted_for_float_items():
    assert instruments.score("waist", ["94,5"]).total == 94.5


def test_missing_markers_are_none():
    result = instruments.score("odi", [1, 1, "  ", 1, 1, 1, 1, 1, 1, 1])
    assert result.responses[2] is None
    assert result.missing_items == (3,)
