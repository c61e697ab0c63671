"""Every kind of bad input raises a domain error whose message says what and where:
the item number and the allowed values."""

from __future__ import annotations

import pytest

from teamdash.clinical import instruments
from teamdash.errors import InvalidItemName, InvalidResponse, UnknownInstrument, ValidationError


def raises(instrument_id, responses) -> InvalidResponse:
    with pytest.raises(InvalidResponse) as info:
        instruments.score(instrument_id, responses)
    return info.value


# --- out of range ------------------------------------------------------------------------

OUT_OF_RANGE = [
    # (instrument, responses, item, shown value, allowed)
    ("phq9", [0, 0, 4, 0, 0, 0, 0, 0, 0], 3, "4", "0–3"),
    ("phq9", [0, 0, 0, 0, 0, 0, 0, 0, -1], 9, "-1", "0–3"),
    ("gad7", [0, 0, 0, 0, 0, 0, 7], 7, "7", "0–3"),
    ("odi", [0, 6, 0, 0, 0, 0, 0, 0, 0, 0], 2, "6", "0–5"),
    ("nrs_pain", [11], 1, "11", "0–10"),
    ("pcs", [0] * 12 + [5], 13, "5", "0–4"),
    ("tsk11", [0] + [1] * 10, 1, "0", "1–4"),
    ("tsk11", [1] * 10 + [5], 11, "5", "1–4"),
    ("pseq", [7] + [0] * 9, 1, "7", "0–6"),
    ("cpaq8", [0] * 7 + [7], 8, "7", "0–6"),
    ("isi", [0] * 6 + [5], 7, "5", "0–4"),
    ("psfs", [11, 5, 5, None, None], 1, "11", "0–10"),
    ("startback", [0] * 8 + [5], 9, "5", "0–4"),
    ("wpai", [1, 4, 0, 200, 5, 6], 4, "200", "0–168 h"),
    ("wpai", [1, 4, 0, 36, 11, 6], 5, "11", "0–10 points"),
    ("bmi", [500, 170], 1, "500", "20–400 kg"),
    ("bmi", [70, 99], 2, "99", "100–250 cm"),
    ("waist", [30], 1, "30", "40–200 cm"),
    ("six_minute_walk", [1200], 1, "1200", "0–1000 m"),
    ("chair_stand_30s", [61], 1, "61", "0–60 stands"),
    ("psqi", ["23:00", 800, "07:00", 7] + [0] * 15, 2, "800", "0–720 min"),
    ("psqi", ["23:00", 10, "07:00", 25] + [0] * 15, 4, "25", "0–24 h"),
    ("sleep_diary", ["23:00", "23:30", 20, 2, 30, "06:30", "07:00", 6], 8, "6", "1–5 points"),
]


@pytest.mark.parametrize("instrument_id, responses, item, shown, allowed", OUT_OF_RANGE)
def test_out_of_range_names_item_and_range(instrument_id, responses, item, shown, allowed):
    error = raises(instrument_id, responses)
    short = instruments.get(instrument_id).short_name
    assert str(error) == f"item {item} of {short}: {shown} is outside {allowed}"
    assert (error.item, error.allowed, error.instrument) == (item, allowed, instrument_id)
    assert error.field == f"item {item}"


def test_error_is_a_validation_error_with_a_one_line_message():
    error = raises("phq9", [0, 0, 4, 0, 0, 0, 0, 0, 0])
    assert isinstance(error, ValidationError)
    assert "\n" not in str(error)


# --- not a number / not the right kind ----------------------------------------------------

NOT_A_VALUE = [
    ("phq9", ["x", 0, 0, 0, 0, 0, 0, 0, 0], 1, "'x' is not a number (allowed 0–3)"),
    ("odi", [0, 0, 0, 0, "two", 0, 0, 0, 0, 0], 5, "'two' is not a number (allowed 0–5)"),
    ("phq9", [0, 1.5, 0, 0, 0, 0, 0, 0, 0], 2, "1.5 is not a whole number (allowed 0–3)"),
    ("nrs_pain", ["7.5"], 1, "7.5 is not a whole number (allowed 0–10)"),
    ("nrs_pain", ["nan"], 1, "'nan' is not a number (allowed 0–10)"),
    ("waist", ["inf"], 1, "'inf' is not a number (allowed 40–200 cm)"),
    ("nrs_pain", [[3]], 1, "[3] is not a number (allowed 0–10)"),
    ("rmdq", ["maybe"] + [0] * 23, 1, "'maybe' is not yes/no (allowed 1 (yes) or 0 (no))"),
    ("rmdq", [0, 2] + [0] * 22, 2, "2 is not yes/no (allowed 1 (yes) or 0 (no))"),
    ("psqi", ["25:00", 10, "07:00", 7] + [0] * 15, 1, "'25:00' is not a time of day HH:MM (00:00–23:59)"),
    ("psqi", ["23:00", 10, "7.30", 7] + [0] * 15, 3, "'7.30' is not a time of day HH:MM (00:00–23:59)"),
    (
        "sleep_diary",
        [2300, "23:30", 20, 2, 30, "06:30", "07:00", 4],
        1,
        "2300 is not a time of day HH:MM (00:00–23:59)",
    ),
    (
        "sleep_diary",
        ["23:00", "23:61", 20, 2, 30, "06:30", "07:00", 4],
        2,
        "'23:61' is not a time of day HH:MM (00:00–23:59)",
    ),
]


@pytest.mark.parametrize("instrument_id, responses, item, message", NOT_A_VALUE)
def test_non_numeric_or_wrong_kind(instrument_id, responses, item, message):
    error = raises(instrument_id, responses)
    assert str(error) == f"item {item} of {instruments.get(instrument_id).short_name}: {message}"
    assert error.item == item


# --- wrong number of responses -------------------------------------------------------------


@pytest.mark.parametrize(
    "instrument_id, responses, got",
    [("phq9", [0] * 8, 8), ("phq9", [0] * 10, 10), ("odi", [], 0), ("bmi", [70], 1), ("nrs_pain", [1, 2], 2)],
)
def test_wrong_count(instrument_id, responses, got):
    error = raises(instrument_id, responses)
    inst = instruments.get(instrument_id)
    assert str(error) == (
        f"responses for {inst.short_name}: expected {len(inst.items)} responses "
        f"(one per item, blank for a missing item), got {got}"
    )
    assert error.item is None
    assert error.field == "responses"


def test_a_string_is_not_a_response_list():
    error = raises("phq9", "000000000")
    assert "expected a list of 9 responses" in str(error)


def test_all_blank_is_rejected():
    error = raises("odi", [None] * 10)
    assert str(error) == "responses for ODI: no item was answered"


# --- missing beyond the rule ---------------------------------------------------------------


def test_phq9_a_fourth_missing_item_is_rejected_naming_it():
    # DC/TMD scoring manual: up to 3 PHQ-9 items may be missing
    error = raises("phq9", [0, None, 0, None, 0, None, None, 0, 0])
    assert str(error) == (
        "item 7 of PHQ-9: missing — at most 3 of 9 items may be missing (missing items: 2, 4, 6, 7; allowed 0–3)"
    )
    assert error.item == 7


@pytest.mark.parametrize("others_missing", [0, 1, 3])
def test_phq9_item9_cannot_be_left_blank(others_missing):
    # an unanswered safety item must not pass silently as 'no flag', even when the
    # missing-item rule would allow another blank
    responses = [1] * 8 + [None]
    for n in range(others_missing):
        responses[n] = None
    error = raises("phq9", responses)
    assert error.item == 9
    assert "item 9 must always be answered" in str(error)


def test_gad7_a_third_missing_item_is_rejected():
    error = raises("gad7", [None, 1, None, 1, None, 1, 1])
    assert error.item == 5
    assert "at most 2 of 7 items may be missing" in str(error)


def test_odi_second_missing_section_is_rejected_naming_it():
    error = raises("odi", [0, 0, None, 0, 0, 0, None, 0, 0, 0])
    assert (
        str(error) == "item 7 of ODI: missing — at most 1 of 10 items may be missing (missing items: 3, 7; allowed 0–5)"
    )
    assert error.item == 7


def test_psfs_needs_at_least_one_rated_activity():
    error = raises("psfs", [None] * 5)
    assert "no item was answered" in str(error)


def test_psfs_rated_activity_needs_its_name():
    with pytest.raises(InvalidItemName) as info:
        instruments.score("psfs", [5, 6, None, None, None], ["Walking", None, None, None, None])
    error = info.value
    assert str(error) == ("item 2 of PSFS: rated 6 but the activity has no name (write the activity the patient rated)")
    assert (error.item, error.field) == (2, "name 2")


def test_psfs_same_activity_twice_is_refused():
    with pytest.raises(InvalidItemName) as info:
        instruments.score("psfs", [5, 6, None, None, None], ["Walking 30 min", " walking  30 MIN", None, None, None])
    assert "'walking 30 MIN' is already activity 1" in str(info.value)
    assert info.value.field == "name 2"


@pytest.mark.parametrize(
    "name, message",
    [("x" * 81, "at most 80 characters"), ("bell\x07", "one line"), (7, "must be text")],
)
def test_psfs_unusable_names_are_refused(name, message):
    with pytest.raises(InvalidItemName) as info:
        instruments.score("psfs", [5, None, None, None, None], [name, None, None, None, None])
    assert message in str(info.value)


def test_names_for_an_instrument_without_named_items_are_refused():
    with pytest.raises(InvalidResponse, match="not named by the patient"):
        instruments.score("nrs_pain", [5], ["Walking"])


def test_more_names_than_items_are_refused():
    with pytest.raises(InvalidResponse, match="6 activity names for 5 items"):
        instruments.score("psfs", [5, None, None, None, None], ["a", "b", "c", "d", "e", "f"])


@pytest.mark.parametrize(
    "instrument_id, count",
    [("pcs", 13), ("tsk11", 11), ("pseq", 10), ("cpaq8", 8), ("isi", 7), ("rmdq", 24), ("startback", 9)],
)
def test_no_missing_item_allowed(instrument_id, count):
    responses = [1] * count
    responses[-1] = None
    assert raises(instrument_id, responses).item == count


def test_wpai_employed_needs_hours_worked():
    error = raises("wpai", [1, 4, 0, None, 5, 6])
    assert error.item == 4
    assert str(error).startswith("item 4 of WPAI: missing")


def test_wpai_productivity_needed_when_hours_were_worked():
    assert raises("wpai", [1, 0, 0, 30, None, 6]).item == 5


def test_wpai_activity_always_needed():
    assert raises("wpai", [0, None, None, None, None, None]).item == 6


def test_bmi_needs_both_inputs():
    assert raises("bmi", [70, None]).item == 2


def test_sleep_diary_needs_its_times():
    assert raises("sleep_diary", ["23:00", None, 20, 2, 30, "06:30", "07:00", 4]).item == 2


# --- impossible combinations --------------------------------------------------------------


def test_psqi_more_sleep_than_time_in_bed():
    error = raises("psqi", ["23:00", 10, "06:00", 8] + [0] * 15)
    assert str(error) == "item 4 of PSQI: 8 hours asleep is more than the 7 hours in bed (items 1 and 3)"


def test_psqi_bed_time_equal_to_rising_time():
    assert raises("psqi", ["23:00", 10, "23:00", 7] + [0] * 15).item == 3


def test_sleep_diary_latency_and_waso_exceed_the_night():
    # lights out 23:30 -> wake 00:30 is 60 min; 40 + 30 = 70 min awake cannot fit
    error = raises("sleep_diary", ["23:00", "23:30", 40, 1, 30, "00:30", "01:00", 3])
    assert error.item == 5
    assert "exceed the 60 min from lights out (23:30) to final wake (00:30)" in str(error)


def test_sleep_diary_no_time_in_bed():
    assert raises("sleep_diary", ["23:00", "23:00", 0, 0, 0, "23:00", "23:00", 3]).item == 7


def test_sleep_diary_times_out_of_order():
    # lights out before getting into bed wraps round to almost a day
    error = raises("sleep_diary", ["23:00", "22:50", 0, 0, 0, "06:00", "06:30", 3])
    assert error.item == 7
    assert "check their order" in str(error)


# --- unknown instrument ---------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["phq-9", "PHQ 9", "", "unknown", None])
def test_unknown_instrument(bad_id):
    with pytest.raises(UnknownInstrument) as info:
        instruments.score(bad_id, [1])
    assert repr(str(bad_id)) in str(info.value)
    assert "phq9" in str(info.value)  # the message lists the known IDs


@pytest.mark.parametrize("typed", ["PHQ9", "Phq9", " phq9 "])
def test_instrument_ids_are_case_insensitive(typed):
    assert instruments.get(typed).id == "phq9"
    assert instruments.score(typed, [1, 2, 1, 0, 2, 1, 0, 1, 0]).total == 8


def test_get_unknown_instrument():
    with pytest.raises(UnknownInstrument):
        instruments.get("nope")


def test_text_read_as_a_number_before_is_still_checked_against_each_item():
    # "7" and "2.5" are read once and remembered; each item still checks its own range and kind.
    assert instruments.score("nrs_pain", ["7"]).total == 7
    error = raises("phq9", ["7", "0", "0", "0", "0", "0", "0", "0", "0"])
    assert str(error) == "item 1 of PHQ-9: 7 is outside 0–3"
    assert instruments.score("bmi", ["80.5", "180"]).responses[:2] == (80.5, 180.0)
    error = raises("nrs_pain", ["2.5"])
    assert str(error) == "item 1 of NRS pain: 2.5 is not a whole number (allowed 0–10)"
    error = raises("bmi", ["7", "180"])
    assert str(error) == "item 1 of BMI: 7 is outside 20–400 kg"
