"""The instrument library: what ships, what each definition says, and how a bad
definition file is reported."""

from __future__ import annotations

import math
import textwrap

import pytest

from teamdash import resources
from teamdash.clinical import instruments
from teamdash.clinical.instruments import DefinitionError

IDS = [
    "nrs_pain",
    "odi",
    "rmdq",
    "psfs",
    "phq9",
    "gad7",
    "pcs",
    "tsk11",
    "pseq",
    "cpaq8",
    "isi",
    "psqi",
    "startback",
    "wpai",
    "chair_stand_30s",
    "six_minute_walk",
    "bmi",
    "waist",
    "sleep_diary",
]


def test_library_holds_exactly_the_programme_instruments():
    assert sorted(instruments.library()) == sorted(IDS)


def test_library_is_loaded_once():
    assert instruments.library() is instruments.library()


@pytest.mark.parametrize(
    "instrument_id, discipline",
    [
        ("nrs_pain", "pt"),
        ("odi", "pt"),
        ("rmdq", "pt"),
        ("psfs", "pt"),
        ("startback", "pt"),
        ("chair_stand_30s", "pt"),
        ("six_minute_walk", "pt"),
        ("phq9", "psychology"),
        ("gad7", "psychology"),
        ("pcs", "psychology"),
        ("tsk11", "psychology"),
        ("pseq", "psychology"),
        ("cpaq8", "psychology"),
        ("bmi", "nutrition"),
        ("waist", "nutrition"),
        ("isi", "sleep"),
        ("psqi", "sleep"),
        ("sleep_diary", "sleep"),
        ("wpai", "social"),
    ],
)
def test_discipline(instrument_id, discipline):
    assert instruments.get(instrument_id).discipline == discipline


KEY = {"nrs_pain", "odi", "rmdq", "psfs", "phq9", "gad7", "pseq", "isi", "six_minute_walk", "bmi", "tsk11", "pcs"}


def test_key_measures():
    assert {i for i, inst in instruments.library().items() if inst.key_measure} == KEY


@pytest.mark.parametrize(
    "instrument_id, short_name, count, low, high",
    [
        ("nrs_pain", "NRS pain", 1, 0, 10),
        ("odi", "ODI", 10, 0, 100),
        ("rmdq", "RMDQ", 24, 0, 24),
        ("psfs", "PSFS", 5, 0, 10),
        ("phq9", "PHQ-9", 9, 0, 27),
        ("gad7", "GAD-7", 7, 0, 21),
        ("pcs", "PCS", 13, 0, 52),
        ("tsk11", "TSK-11", 11, 11, 44),
        ("pseq", "PSEQ", 10, 0, 60),
        ("cpaq8", "CPAQ-8", 8, 0, 48),
        ("isi", "ISI", 7, 0, 28),
        ("psqi", "PSQI", 19, 0, 21),
        ("startback", "STarT Back", 9, 0, 9),
        ("wpai", "WPAI", 6, 0, 100),
        ("sleep_diary", "Sleep diary", 8, 0, 100),
    ],
)
def test_shape(instrument_id, short_name, count, low, high):
    inst = instruments.get(instrument_id)
    assert (inst.short_name, len(inst.items), inst.total_min, inst.total_max) == (short_name, count, low, high)
    assert [i.number for i in inst.items] == list(range(1, count + 1))


@pytest.mark.parametrize(
    "instrument_id, direction",
    [
        ("pseq", "higher_better"),
        ("psfs", "higher_better"),
        ("cpaq8", "higher_better"),
        ("chair_stand_30s", "higher_better"),
        ("six_minute_walk", "higher_better"),
        ("sleep_diary", "higher_better"),
        ("phq9", "higher_worse"),
        ("odi", "higher_worse"),
        ("nrs_pain", "higher_worse"),
        ("bmi", None),
    ],
)
def test_direction(instrument_id, direction):
    assert instruments.get(instrument_id).direction == direction


BAND_LABELS = {
    "phq9": ["Minimal", "Mild", "Moderate", "Moderately severe", "Severe"],
    "gad7": ["Minimal", "Mild", "Moderate", "Severe"],
    "odi": ["Minimal disability", "Moderate disability", "Severe disability", "Crippled", "Bed-bound"],
    "isi": [
        "No clinically significant insomnia",
        "Subthreshold insomnia",
        "Moderate clinical insomnia",
        "Severe clinical insomnia",
    ],
    "bmi": ["Underweight", "Normal weight", "Pre-obesity", "Obesity class I", "Obesity class II", "Obesity class III"],
    "pseq": ["Severe", "Moderate", "Mild", "Minimal"],
    "pcs": ["Clinically relevant"],
    "psqi": ["Good sleeper", "Poor sleeper"],
}


@pytest.mark.parametrize("instrument_id, labels", BAND_LABELS.items())
def test_band_labels_exactly(instrument_id, labels):
    assert [b.label for b in instruments.get(instrument_id).bands] == labels


def test_startback_subgroup_labels():
    inst = instruments.get("startback")
    assert inst.subgroup_labels == ("Low risk", "Medium risk", "High risk")
    assert inst.band_for(2) is None  # the total alone cannot say medium from high


@pytest.mark.parametrize(
    "instrument_id",
    ["tsk11", "waist", "chair_stand_30s", "six_minute_walk", "nrs_pain", "rmdq", "cpaq8", "wpai", "sleep_diary"],
)
def test_no_unverified_bands(instrument_id):
    assert instruments.get(instrument_id).bands == ()


def test_severity_zero_is_best_for_higher_better_pseq():
    pseq = instruments.get("pseq")
    assert pseq.band_for(60).severity == 0
    assert pseq.band_for(0).severity == 3


def test_band_for_ties():
    odi, bmi = instruments.get("odi"), instruments.get("bmi")
    assert odi.band_for(20.0).label == "Minimal disability"
    assert odi.band_for(22.2).label == "Moderate disability"
    assert bmi.band_for(25.0).label == "Pre-obesity"
    assert bmi.band_for(24.94).label == "Normal weight"
    assert odi.band_for(None) is None
    assert instruments.get("phq9").band_for(30) is None


@pytest.mark.parametrize(
    "value, shown, band",
    [
        (18.4998, "18.5", "Normal weight"),  # never "18.5 Underweight"
        (18.449, "18.4", "Underweight"),
        (24.96, "25.0", "Pre-obesity"),
        (24.94, "24.9", "Normal weight"),
        (29.96, "30.0", "Obesity class I"),
        (29.95, "29.9", "Pre-obesity"),  # 29.95 is 29.94999... in binary: shown, and classified, as 29.9
    ],
)
def test_bmi_is_classified_on_the_value_as_displayed(value, shown, band):
    bmi = instruments.get("bmi")
    assert bmi.format(value) == shown
    assert bmi.band_for(value).label == band
    # The band always belongs to the number the team reads next to it.
    assert bmi.band_for(value) == bmi.band_for(float(shown))


def test_bmi_boundary_from_weight_and_height():
    # 52.17 kg at 167.9 cm is BMI 18.5063 -> 18.5
    result = instruments.score("bmi", [52.17, 167.9])
    assert instruments.get("bmi").format(result.total) == "18.5"
    assert result.band == "Normal weight"
    result = instruments.score("bmi", [52.15, 167.9])  # 18.4992... shown 18.5
    assert instruments.get("bmi").format(result.total) == "18.5"
    assert result.band == "Normal weight"
    result = instruments.score("bmi", [52.0, 167.9])  # 18.446 shown 18.4
    assert (instruments.get("bmi").format(result.total), result.band) == ("18.4", "Underweight")


def test_odi_bands_are_unchanged_by_display_rounding():
    # ODI totals are n / 45 or n / 50 x 100: none rounds onto a boundary from the other side.
    odi = instruments.get("odi")
    for answered in (45, 50):
        for n in range(answered + 1):
            value = n * 100 / answered
            unrounded = [b for b in odi.bands if b.contains(value)]
            expected = min(unrounded, key=lambda b: b.low)
            assert odi.band_for(value) == expected, value


def test_band_named():
    assert instruments.get("phq9").band_named("Mild").severity == 1
    assert instruments.get("phq9").band_named("Nope") is None


@pytest.mark.parametrize(
    "instrument_id, mcid_abs, mcid_pct",
    [
        ("nrs_pain", 2, 30),
        ("odi", 10, 30),
        ("rmdq", 5, 30),
        ("tsk11", 4, None),
        ("isi", 6, None),
        ("pseq", 5.5, None),
        ("phq9", None, None),
        ("psfs", None, None),
        ("six_minute_walk", None, None),
    ],
)
def test_mcid(instrument_id, mcid_abs, mcid_pct):
    inst = instruments.get(instrument_id)
    assert (inst.mcid_abs, inst.mcid_pct) == (mcid_abs, mcid_pct)


@pytest.mark.parametrize(
    "instrument_id, sem, threshold, inclusive",
    [
        ("pcs", 4.6, 1.96 * math.sqrt(2) * 4.6, False),  # = 12.75
        ("tsk11", 2.54, 1.96 * math.sqrt(2) * 2.54, False),  # = 7.04
        ("pseq", 11.52 / (1.96 * math.sqrt(2)), 11.52, False),  # MDC95 -> SEM 4.16
        ("phq9", None, 6, True),
        ("gad7", None, 4, True),
        ("nrs_pain", 1.02, 1.96 * math.sqrt(2) * 1.02, False),  # Childs 2005: = 2.83
        ("odi", 6, 1.96 * math.sqrt(2) * 6, False),  # Davidson & Keating 2002: = 16.63
        ("rmdq", 5 / (1.645 * math.sqrt(2)), 5 * 1.96 / 1.645, False),  # MDC90 5 -> SEM 2.15, 5.96
        ("psfs", 2 / (1.645 * math.sqrt(2)), 2 * 1.96 / 1.645, False),  # MDC90 2 -> SEM 0.86, 2.38
        ("cpaq8", None, None, False),
        ("six_minute_walk", None, None, False),
    ],
)
def test_reliability(instrument_id, sem, threshold, inclusive):
    inst = instruments.get(instrument_id)
    assert inst.sem == (pytest.approx(sem) if sem is not None else None)
    assert inst.reliable_change == (pytest.approx(threshold) if threshold is not None else None)
    assert inst.reliable_change_inclusive is inclusive


@pytest.mark.parametrize(
    "instrument_id, loinc",
    [
        ("phq9", "44261-6"),
        ("gad7", "70274-6"),
        ("bmi", "39156-5"),
        ("nrs_pain", "72514-3"),
        ("odi", None),
        ("six_minute_walk", None),
    ],
)
def test_loinc(instrument_id, loinc):
    assert instruments.get(instrument_id).loinc == loinc


def test_every_definition_cites_sources_and_licence():
    for inst in instruments.library().values():
        assert inst.sources, inst.id
        assert inst.licence.strip(), inst.id


COPYRIGHTED = ["odi", "rmdq", "pcs", "tsk11", "pseq", "cpaq8", "isi", "psqi", "startback"]


@pytest.mark.parametrize("instrument_id", COPYRIGHTED)
def test_copyrighted_instruments_ship_no_item_wording(instrument_id):
    for item in instruments.get(instrument_id).items:
        # PSQI carries only question numbers and input formats ("Q1 usual bed time (HH:MM)")
        assert item.label is None or len(item.label) <= 45, (instrument_id, item.number, item.label)


def test_public_domain_phq9_ships_wording():
    phq9 = instruments.get("phq9")
    assert phq9.items[8].label.startswith("Thoughts that you would be better off dead")
    assert phq9.items[0].choices[3] == (3.0, "Nearly every day")


def test_interval_days():
    assert instruments.get("nrs_pain").interval_days == 7
    assert instruments.get("phq9").interval_days == 42
    assert instruments.get("startback").interval_days is None


def test_names_of_subscales_components_and_derived_values():
    assert instruments.get("pcs").subscale_names == ("rumination", "magnification", "helplessness")
    assert instruments.get("cpaq8").subscale_names == ("activity_engagement", "pain_willingness")
    assert len(instruments.get("psqi").component_names) == 7
    assert "work_impairment_pct" in instruments.get("wpai").derived_names


def test_format_uses_the_instrument_decimals():
    assert instruments.get("bmi").format(24.691358) == "24.7"
    assert instruments.get("odi").format(22.222) == "22"
    assert instruments.get("psfs").format(2.6666) == "2.7"
    assert instruments.get("odi").format(None) == "–"


def test_item_allowed_text():
    assert instruments.get("phq9").items[0].allowed() == "0–3"
    assert instruments.get("bmi").items[0].allowed() == "20–400 kg"
    assert instruments.get("rmdq").items[0].allowed() == "1 (yes) or 0 (no)"
    assert instruments.get("psqi").items[0].allowed() == "a time of day HH:MM (00:00–23:59)"


# --- parse_responses --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("1,2,,3", ["1", "2", None, "3"]),
        ("1, 2 ,3", ["1", "2", "3"]),
        ("", []),
        ("  ", []),
        ("5", ["5"]),
        (",", [None, None]),
        ("23:00,15,07:00", ["23:00", "15", "07:00"]),
    ],
)
def test_parse_responses(text, parsed):
    assert instruments.parse_responses(text) == parsed


def test_parse_then_score():
    assert instruments.score("odi", instruments.parse_responses("1,2,,1,1,1,1,1,1,0")).total == pytest.approx(20.0)


# --- bad definition files ---------------------------------------------------------------

GOOD = """
id = "demo"
name = "Demo"
short_name = "Demo"
discipline = "pt"
key_measure = false
licence = "Free."
sources = ["Made up for a test."]

[items]
count = 2
min = 0
max = 3

[scoring]
method = "sum"
"""


@pytest.fixture
def definitions(tmp_path, monkeypatch):
    """A private instruments folder; yields a function that writes one file and loads."""
    (tmp_path / "instruments").mkdir()
    monkeypatch.setattr(resources, "resources_dir", lambda: tmp_path)
    resources.load_toml.cache_clear()
    instruments.reload()

    def load(text: str, name: str = "demo.toml"):
        (tmp_path / "instruments" / name).write_text(textwrap.dedent(text), encoding="utf-8")
        resources.load_toml.cache_clear()
        instruments.reload()
        return instruments.library()

    yield load
    resources.load_toml.cache_clear()
    instruments.reload()


def test_a_good_file_loads(definitions):
    lib = definitions(GOOD)
    assert instruments.score("demo", [1, 2]).total == 3.0
    assert list(lib) == ["demo"]


@pytest.mark.parametrize(
    "change, message",
    [
        (('id = "demo"', 'id = "other"'), "key 'id' must match the file name ('demo'), not 'other'"),
        (('discipline = "pt"', 'discipline = "physio"'), "key 'discipline' must be one of pt, psychology"),
        (("key_measure = false", 'key_measure = "no"'), "key 'key_measure' must be true or false, not 'no'"),
        (("max = 3", 'max = "3"'), "key 'items.max' must be a number, not '3'"),
        (("max = 3", ""), "key 'items.max' is required"),
        (('method = "sum"', 'method = "median"'), "key 'scoring.method' must be one of value, sum"),
        (("count = 2", "count = 0"), "key 'items.count' must be at least 1"),
        (('licence = "Free."', ""), "key 'licence' is required"),
        (('sources = ["Made up for a test."]', "sources = []"), "key 'sources' must be a non-empty list of texts"),
        # a key written below [items] belongs to that table in TOML: rejected, not ignored
        (("[scoring]", 'colour = "red"\n[scoring]'), "key 'items.colour' is not a known key here"),
    ],
)
def test_bad_file_names_file_and_key(definitions, change, message):
    old, new = change
    with pytest.raises(DefinitionError) as info:
        definitions(GOOD.replace(old, new))
    assert str(info.value).startswith("instrument definition demo.toml: ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    "extra, message",
    [
        ("reverse = [3]", "key 'scoring.reverse' must list item numbers 1–2, not [3]"),
        ("max_missing = 1", "a sum cannot allow missing items"),
        ('[[scoring.derived]]\nformula = "eval"\ninputs = [1]', "names no known formula"),
        ("[scoring.subscales]\nfirst = [1, 5]", "key 'scoring.subscales.first' must list item numbers"),
        (
            '[scoring.recode.1]\nrule = "below"\nsteps = []\notherwise = 0',
            "key 'scoring.recode.1.rule' must be 'at_least' or 'above'",
        ),
    ],
)
def test_bad_scoring_rules(definitions, extra, message):
    with pytest.raises(DefinitionError) as info:
        definitions(GOOD + extra + "\n")
    assert message in str(info.value)


@pytest.mark.parametrize(
    "tail, message",
    [
        (
            '[[bands]]\nlabel = "A"\nlow = 0\nhigh = 4\nseverity = 0\n[[bands]]\nlabel = "B"\nlow = 3\nhigh = 6\nseverity = 1\n',
            "'A' and 'B' overlap",
        ),
        (
            '[[bands]]\nlabel = "A"\nlow = 5\nhigh = 4\nseverity = 0\n',
            "key 'bands[0].low' (5) must not exceed high (4)",
        ),
        ("[reliability]\nsem = 1\nmdc95 = 2\n", "give exactly one of sem"),
        ("[reliability]\nsd = 4\nretest_r = 1.5\n", "key 'reliability.retest_r' must be between 0 and 1"),
        (
            '[[flags]]\nitem = 3\nwhen = [">", 0]\nkind = "safety"\nreason = "x"\n',
            "key 'flags[0].item' must be one of the item numbers 1–2",
        ),
        (
            '[[flags]]\nitem = 1\nwhen = ["~", 0]\nkind = "safety"\nreason = "x"\n',
            "must be [subject, operator, number]",
        ),
        (
            '[[subgroups]]\nlabel = "Low"\nseverity = 0\nwhen = [["distress", "<=", 3]]\n',
            "tests 'distress', which is not total or a subscale",
        ),
    ],
)
def test_bad_bands_reliability_flags(definitions, tail, message):
    with pytest.raises(DefinitionError) as info:
        definitions(GOOD + tail)
    assert message in str(info.value)


def test_reliability_from_sd_and_retest(definitions):
    definitions(GOOD + "[reliability]\nsd = 5\nretest_r = 0.84\n")
    inst = instruments.get("demo")
    assert inst.sem == pytest.approx(5 * math.sqrt(1 - 0.84))  # 2.0
    assert inst.reliable_change == pytest.approx(1.96 * math.sqrt(2) * 2.0)


def test_a_new_questionnaire_of_a_known_kind_is_a_file(definitions):
    # a mean-scored, reverse-keyed questionnaire with a subscale and a safety item
    definitions(
        GOOD.replace("count = 2", "count = 4").replace(
            'method = "sum"', 'method = "mean"\nreverse = [2]\nmax_missing = 1'
        )
        + "[scoring.subscales]\nfirst = [1, 2]\n"
        + '[[flags]]\nitem = 4\nwhen = [">=", 2]\nkind = "safety"\nreason = "item 4 is {value}"\n'
    )
    # item 2 reversed: 3 - 1 = 2; mean of 3, 2, 2 (item 3 missing) ... of 3, 2, 2 = 7 / 3
    result = instruments.score("demo", [3, 1, None, 2])
    assert result.total == pytest.approx(7 / 3)
    assert result.subscales == {"first": 5.0}
    assert result.flags[0].reason == "item 4 is 2"


def test_result_json_is_plain_data():
    import json

    data = instruments.result_json(instruments.score("phq9", [1, 2, 3, 0, 1, 2, 3, 0, 1]))
    assert json.loads(json.dumps(data)) == data
    assert (data["instrument"], data["total"], data["band"]) == ("phq9", 13.0, "Moderate")
    assert data["flags"] == [{"kind": "safety", "item": 9, "reason": data["flags"][0]["reason"]}]
    assert data["responses"] == [1, 2, 3, 0, 1, 2, 3, 0, 1]
