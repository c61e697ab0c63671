"""Property tests: any valid response list scores inside the instrument's range, and any
out-of-range item raises naming its item number."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teamdash.clinical import instruments
from teamdash.errors import InvalidResponse

LIBRARY = instruments.library()
# Instruments whose inputs must agree with each other get their own strategies below.
SPECIAL = {"psqi", "sleep_diary"}


def times() -> st.SearchStrategy[str]:
    return st.builds(lambda m: f"{m // 60:02d}:{m % 60:02d}", st.integers(0, 1439))


def answer(item: instruments.Item) -> st.SearchStrategy:
    if item.kind == "bool":
        return st.sampled_from([0, 1, "yes", "no"])
    if item.kind == "time":
        return times()
    if item.kind == "int":
        return st.integers(int(item.minimum), int(item.maximum))
    return st.floats(item.minimum, item.maximum, allow_nan=False)


def valid_responses(inst: instruments.Instrument) -> st.SearchStrategy[list]:
    """Every item answered, except optional ones, which may be blank."""
    parts = [st.one_of(st.none(), answer(i)) if i.optional else answer(i) for i in inst.items]
    return st.tuples(*parts).map(list)


@st.composite
def psqi_responses(draw) -> list:
    bed = draw(st.integers(0, 1439))
    in_bed = draw(st.integers(1, 1439))  # minutes, so getting up differs from bed time
    rise = (bed + in_bed) % 1440
    asleep = draw(st.floats(0, in_bed / 60, allow_nan=False))
    clock = lambda m: f"{m // 60:02d}:{m % 60:02d}"  # noqa: E731
    rest = draw(st.lists(st.integers(0, 3), min_size=14, max_size=14))
    q5j = draw(st.one_of(st.none(), st.integers(0, 3)))
    q10 = draw(st.one_of(st.none(), st.integers(0, 3)))
    return [clock(bed), draw(st.integers(0, 720)), clock(rise), asleep, *rest[:9], q5j, *rest[9:13], q10]


@st.composite
def diary_responses(draw) -> list:
    clock = lambda m: f"{m // 60:02d}:{m % 60:02d}"  # noqa: E731
    bed = draw(st.integers(0, 1439))
    to_lights = draw(st.integers(0, 120))
    window = draw(st.integers(1, 720))
    sol = draw(st.integers(0, window))
    waso = draw(st.integers(0, window - sol))
    to_rise = draw(st.integers(0, 120))
    lights, wake = bed + to_lights, bed + to_lights + window
    return [
        clock(bed),
        clock(lights % 1440),
        sol,
        draw(st.one_of(st.none(), st.integers(0, 50))),
        waso,
        clock(wake % 1440),
        clock((wake + to_rise) % 1440),
        draw(st.one_of(st.none(), st.integers(1, 5))),
    ]


@st.composite
def psfs_responses(draw) -> list:
    """1-5 rated activities in any of the five slots (the names go alongside)."""
    ratings = draw(st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=5, max_size=5))
    if all(r is None for r in ratings):
        ratings[draw(st.integers(0, 4))] = draw(st.integers(0, 10))
    return ratings


def names_for(instrument_id: str, responses: list) -> list | None:
    if not LIBRARY[instrument_id].named_items:
        return None
    return [None if r is None else f"Activity {n}" for n, r in enumerate(responses, 1)]


def strategy_for(instrument_id: str) -> st.SearchStrategy[list]:
    if instrument_id == "psqi":
        return psqi_responses()
    if instrument_id == "sleep_diary":
        return diary_responses()
    if instrument_id == "psfs":
        return psfs_responses()
    return valid_responses(LIBRARY[instrument_id])


@pytest.mark.parametrize("instrument_id", sorted(LIBRARY))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_valid_response_list_scores_inside_the_range(instrument_id, data):
    inst = LIBRARY[instrument_id]
    responses = data.draw(strategy_for(instrument_id))
    result = instruments.score(instrument_id, responses, names_for(instrument_id, responses))
    assert result.total is not None
    assert inst.total_min - 1e-9 <= result.total <= inst.total_max + 1e-9
    if inst.subgroup_labels:
        assert result.band in inst.subgroup_labels  # every response set falls in a subgroup
    else:
        expected = inst.band_for(result.total)
        assert result.band == (expected.label if expected else None)
    if inst.bands and instrument_id != "pcs":  # PCS labels only 30 and over
        assert result.band is not None, "the bands must cover every possible total"
    for value in (*result.subscales.values(), *result.components.values()):
        assert value is None or value >= 0
    if instrument_id == "psqi":
        assert all(0 <= c <= 3 for c in result.components.values())


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_out_of_range_item_raises_naming_its_item(data):
    instrument_id = data.draw(st.sampled_from(sorted(LIBRARY)))
    inst = LIBRARY[instrument_id]
    numeric = [i for i in inst.items if i.kind in ("int", "float", "bool")]
    item = data.draw(st.sampled_from(numeric))
    responses = data.draw(strategy_for(instrument_id))
    if item.kind == "bool":
        bad = data.draw(st.integers(2, 99) | st.integers(-99, -1))
    else:
        step = data.draw(st.integers(1, 1000))
        bad = data.draw(st.sampled_from([item.maximum + step, item.minimum - step]))
        bad = int(bad) if item.kind == "int" else bad
    responses[item.number - 1] = bad
    with pytest.raises(InvalidResponse) as info:
        instruments.score(instrument_id, responses, names_for(instrument_id, responses))
    assert info.value.item == item.number
    assert str(info.value).startswith(f"item {item.number} of {inst.short_name}: ")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_phq9_safety_flag_iff_item9_positive(responses):
    result = instruments.score("phq9", responses)
    assert result.has_safety_flag == (responses[8] > 0)
    assert result.total == sum(responses)
    assert not result.prorated


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=10, max_size=10), st.integers(0, 9))
def test_odi_one_missing_section_is_the_mean_of_the_rest(responses, missing):
    responses[missing] = None
    answered = [r for r in responses if r is not None]
    assert instruments.score("odi", responses).total == pytest.approx(sum(answered) * 100 / 45)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=8, max_size=8))
def test_cpaq8_total_is_engagement_plus_reversed_willingness(responses):
    # printed-form positions of CPAQ-20 items 1, 6, 9, 15 (AE) and 13, 14, 17, 18 (PW)
    result = instruments.score("cpaq8", responses)
    ae = sum(responses[i - 1] for i in (1, 3, 5, 6))
    pw = sum(6 - responses[i - 1] for i in (2, 4, 7, 8))
    assert (result.subscales["activity_engagement"], result.subscales["pain_willingness"], result.total) == (
        ae,
        pw,
        ae + pw,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=9, max_size=9), st.sets(st.integers(0, 7), max_size=3))
def test_phq9_prorated_total_keeps_bands_caseness_and_safety(responses, blanks):
    """Up to 3 of items 1-8 blank: total = sum / answered x 9 rounded half up; the band is
    the band of that whole number; item 9 still decides the safety flag."""
    for n in blanks:
        responses[n] = None
    result = instruments.score("phq9", responses)
    answered = [r for r in responses if r is not None]
    exact = sum(answered) * 9 / len(answered)
    assert result.total == float(int(exact + 0.5))  # half up: 4.5 -> 5
    assert result.total.is_integer() and 0 <= result.total <= 27
    assert result.prorated is bool(blanks)
    assert result.band == instruments.get("phq9").band_for(result.total).label
    assert result.has_safety_flag == (responses[8] > 0)


# Cells as a spreadsheet or a form gives them: text, numbers, yes/no, blanks, nonsense.
CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "0", "1", "2", "3", " 3 ", "3,5", "2.5", "10", "-1", "yes", "no", "07:30", "24:00", "x"]),
    st.sampled_from(["١", "１", "1e400", "nan"]),
    st.integers(-2, 12),
    st.sampled_from([0.0, 1.0, 2.0, 2.5, 7.5, 45.0, 1.75, math.inf, math.nan]),
    st.booleans(),
)


def _outcome(inst: instruments.Instrument, cells: list) -> object:
    try:
        return instruments.result_json(instruments.score_with(inst, cells))
    except InvalidResponse as refusal:
        return (str(refusal), refusal.item)


@pytest.mark.parametrize("instrument_id", sorted(LIBRARY))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_cell_read_before_scores_as_it_did_the_first_time(instrument_id, data):
    """The scorer remembers what each item's cells read as (an import meets the same
    cells thousands of times). A definition that has read many cells scores any cells,
    valid or not, exactly as a fresh copy of it that has read none: True is never taken
    for 1, nor 2.0 read differently from 2."""
    seasoned = LIBRARY[instrument_id]
    for _ in range(3):  # the library's copy reads a few sets first
        _outcome(seasoned, data.draw(st.lists(CELLS, min_size=len(seasoned.items), max_size=len(seasoned.items))))
    cells = data.draw(st.lists(CELLS, min_size=len(seasoned.items), max_size=len(seasoned.items)))
    fresh = dataclasses.replace(seasoned)  # the same definition, nothing remembered
    assert _outcome(seasoned, cells) == _outcome(fresh, cells)
    assert _outcome(seasoned, cells) == _outcome(seasoned, cells)  # and again, now remembered


def test_true_is_refused_for_a_number_after_1_was_read():
    inst = dataclasses.replace(LIBRARY["phq9"])
    assert instruments.score_with(inst, [1, 0, 0, 0, 0, 0, 0, 0, 0]).total == 1
    with pytest.raises(InvalidResponse, match="item 1 of PHQ-9: True is not a number"):
        instruments.score_with(inst, [True, 0, 0, 0, 0, 0, 0, 0, 0])
    assert instruments.score_with(inst, [1.0, 0, 0, 0, 0, 0, 0, 0, 0]).responses[0] == 1


NAMES = st.one_of(
    st.none(), st.sampled_from(["", "Walking", "walking ", "Gardening", "Sitting\tdown", "x" * 81, "Cycling"])
)


@settings(max_examples=300, deadline=None)
@given(
    ratings=st.lists(st.one_of(CELLS, st.integers(0, 10)), min_size=5, max_size=5), names=st.lists(NAMES, max_size=6)
)
def test_the_names_of_the_items_never_change_the_score(ratings, names):
    """An import scores a patient-named instrument's ratings once and adds each patient's
    names (``read`` then ``score_read``): what it stores must be what ``score_with``
    gives, refusals included, in the same order, and a score without names the same
    apart from the names."""
    psfs = LIBRARY["psfs"]
    try:
        whole = instruments.result_json(instruments.score_with(psfs, ratings, names))
    except InvalidResponse as refusal:
        with pytest.raises(InvalidResponse) as split:
            values, checked = instruments.read(psfs, ratings, names)
            instruments.score_read(psfs, values, checked)
        assert (str(split.value), split.value.item) == (str(refusal), refusal.item)
        return
    values, checked = instruments.read(psfs, ratings, names)
    unnamed = instruments.result_json(instruments.score_read(psfs, values, None))
    assert {**unnamed, "item_names": whole["item_names"]} == whole
