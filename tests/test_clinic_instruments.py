"""Measures a clinic adds without code: definitions in the clinic folder load beside the
shipped ones, a definition with a mistake is refused (file, key, reason) while the rest
loads, ``teamdash instruments check`` validates a file and scores its boundary cases, and
a clinic measure goes from file to entry, timeline and workbooks like any other. Also the
definition format's newer keys (recall, unverified, source numbering, prorating, named
items, MDC90 reliability)."""

from __future__ import annotations

import datetime as dt
import math
import re
import textwrap
from pathlib import Path

import pytest
from openpyxl import load_workbook

from teamdash import resources
from teamdash.cli.main import main
from teamdash.clinical import disciplines, instruments
from teamdash.clinical.instruments import DefinitionError
from teamdash.exchange.export import ExportOptions, export
from teamdash.services import chart, measurements, patients, timelines
from teamdash.services.auth import SYSTEM

README = resources.path("instruments", "README.md")


def readme_block(language: str, index: int = 0) -> str:
    """The text of the README's ``index``-th fenced block in ``language`` ("" = none)."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in README.read_text(encoding="utf-8").splitlines():
        if current is None and line.startswith("```"):
            current = []
            blocks.append((line[3:].strip(), current))
        elif current is not None and line == "```":
            current = None
        elif current is not None:
            current.append(line)
    return ["\n".join(lines) + "\n" for lang, lines in blocks if lang == language][index]


PEG = readme_block("toml")  # the worked example of the README, tested as written


@pytest.fixture
def clinic_folder(tmp_path, monkeypatch):
    """An empty clinic folder, configured by the environment variable; the library is
    read again from it (and again after the test)."""
    folder = tmp_path / "clinic-instruments"
    folder.mkdir()
    monkeypatch.setenv("TEAMDASH_INSTRUMENTS_DIR", str(folder))
    instruments.reload()
    yield folder
    instruments.reload()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    instruments.reload()
    return path


# --- loading and refusing ----------------------------------------------------------------------


def test_the_default_clinic_folder_is_in_the_user_data_directory(monkeypatch):
    from teamdash import paths

    monkeypatch.delenv("TEAMDASH_INSTRUMENTS_DIR", raising=False)
    assert paths.clinic_instruments_dir() == paths.data_dir() / "instruments"


def test_a_clinic_definition_loads_beside_the_shipped_ones(clinic_folder):
    write(clinic_folder, "peg.toml", PEG)
    library = instruments.library()
    assert len(library) == 20 and "phq9" in library
    peg = library["peg"]
    assert (peg.origin, peg.path, peg.discipline, peg.recall) == (
        "clinic",
        str(clinic_folder / "peg.toml"),
        "pt",
        "the past week",
    )
    assert instruments.refusals() == ()
    # (7 + 8 + 6) / 3 = 7.0
    assert instruments.score("peg", [7, 8, 6]).total == 7.0
    # listed in its discipline's panel after the discipline's own measures
    assert disciplines.measures("pt")[-1] == "peg"
    assert disciplines.measures("pt")[:7] == disciplines.get("pt").key_instruments


@pytest.mark.parametrize(
    "name, text, key, reason",
    [
        ("peg.toml", PEG.replace('discipline = "pt"', 'discipline = "physio"'), "discipline", "must be one of pt"),
        (
            "peg.toml",
            PEG.replace("min = 0\nmax = 10", "min = 0\nmaximum = 12"),
            "items.maximum",
            "is not a known key here",
        ),
        ("peg.toml", PEG.replace('method = "mean"', 'method = "median"'), "scoring.method", "must be one of value"),
        ("other.toml", PEG, "id", "must match the file name ('other'), not 'peg'"),
        ("phq9.toml", PEG.replace('id = "peg"', 'id = "phq9"'), "id", "'phq9' is a shipped instrument"),
        ("broken.toml", PEG.replace("[items]", "[items"), None, "is not valid TOML"),
    ],
)
def test_a_definition_with_a_mistake_is_refused_and_the_rest_loads(clinic_folder, name, text, key, reason):
    write(clinic_folder, "good.toml", PEG.replace('id = "peg"', 'id = "good"'))
    write(clinic_folder, name, text)
    library = instruments.library()
    assert "good" in library and "nrs_pain" in library  # the rest of the library loads
    assert library.get("phq9") is None or library["phq9"].origin == "shipped"
    [refusal] = instruments.refusals()
    assert refusal.file == clinic_folder / name
    assert refusal.key == key
    assert reason in refusal.reason
    assert str(refusal).startswith(f"{clinic_folder / name}: ")


def test_cli_lists_clinic_measures_and_refusals(clinic_folder, capsys):
    write(clinic_folder, "peg.toml", PEG)
    write(clinic_folder, "bad.toml", PEG.replace('id = "peg"', 'id = "bad"').replace("count = 3", "count = 0"))
    assert main(["instruments"]) == 2
    out, err = capsys.readouterr()
    assert re.search(r"^peg +Pain, Enjoyment .* pt +3 items  clinic ", out, flags=re.M)
    assert f"refused: {clinic_folder / 'bad.toml'}: key 'items.count' must be at least 1" in err
    assert "1 definition in" in err and "refused; the rest of the library loaded" in err


# --- teamdash instruments check -----------------------------------------------------------------


def test_check_prints_what_the_readme_shows(tmp_path, capsys):
    path = tmp_path / "peg.toml"
    path.write_text(PEG, encoding="utf-8")
    assert main(["instruments", "check", str(path)]) == 0
    printed = capsys.readouterr().out
    expected = readme_block("", 1)  # the README's printed example
    assert printed.replace(str(path), "peg.toml") == expected


def test_check_refuses_a_mistake_with_file_key_and_reason(tmp_path, capsys):
    path = tmp_path / "peg.toml"
    path.write_text(PEG.replace('discipline = "pt"', 'discipline = "physio"'), encoding="utf-8")
    assert main(["instruments", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == readme_block("", 2).strip()
    assert "\n" not in err


def test_check_of_a_missing_file_or_another_extension(tmp_path, capsys):
    assert main(["instruments", "check", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: does not exist" in capsys.readouterr().err
    (tmp_path / "peg.txt").write_text(PEG, encoding="utf-8")
    assert main(["instruments", "check", str(tmp_path / "peg.txt")]) == 2
    assert "must be a .toml file" in capsys.readouterr().err


def test_check_scores_band_edges_through_the_scorer(tmp_path, capsys):
    banded = PEG.replace('short_name = "PEG"', 'short_name = "PEG-B"') + textwrap.dedent(
        """
        [[bands]]
        label = "Low"
        low = 0
        high = 4
        severity = 0

        [[bands]]
        label = "High"
        low = 4
        high = 10
        severity = 1
        """
    )
    path = tmp_path / "peg.toml"
    path.write_text(banded, encoding="utf-8")
    assert main(["instruments", "check", str(path)]) == 0
    out = capsys.readouterr().out
    # 4.0 is the shared boundary: the lower band holds it (band_ties = "lower")
    assert "band 'Low' to 4: [10, 2, 0] → 4.0 Low" in out
    assert "band 'High' from 4: [10, 2, 0] → 4.0 Low" in out
    assert "band 'High' to 10: [10, 10, 10] → 10.0 High" in out


def test_boundary_cases_of_the_shipped_cpaq8_show_the_corrected_key():
    cases = {c.label: c for c in instruments.boundary_cases(instruments.get("cpaq8"))}
    # every item 0 or every item 6 gives 24 (half the items are reversed) ...
    assert cases["all items at minimum"].result.total == 24.0
    assert cases["all items at maximum"].result.total == 24.0
    # ... and the extremes come from answering the reversed (pain willingness) items the other way
    assert cases["lowest total"].responses == (0, 6, 0, 6, 0, 0, 6, 6)
    assert (cases["lowest total"].result.total, cases["highest total"].result.total) == (0.0, 48.0)


def test_checking_a_shipped_definition_in_place_is_allowed(capsys):
    assert main(["instruments", "check", str(resources.path("instruments", "phq9.toml"))]) == 0
    out = capsys.readouterr().out
    assert "band 'Mild' from 5: [3, 2, 0, 0, 0, 0, 0, 0, 0] → 5 Mild" in out
    assert "recall period: the last 2 weeks" in out


# --- the format's keys ---------------------------------------------------------------------------


def parse(text: str, name: str = "demo.toml") -> instruments.Instrument:
    import tomllib

    return instruments._parse_file(name, tomllib.loads(textwrap.dedent(text)))


BASE = """
id = "demo"
name = "Demo"
short_name = "Demo"
discipline = "pt"
key_measure = false
licence = "Free."
sources = ["Made up for a test."]

[items]
count = 4
min = 0
max = 3

[scoring]
method = "sum"
"""


def test_mdc90_is_converted_to_an_sem_and_judged_at_95_percent():
    inst = parse(BASE + "[reliability]\nmdc90 = 5\n")
    assert inst.sem == pytest.approx(5 / (1.645 * math.sqrt(2)))  # 2.149
    assert inst.reliable_change == pytest.approx(1.96 * math.sqrt(2) * 5 / (1.645 * math.sqrt(2)))  # 5.957
    assert inst.reliability_basis == "MDC90 5"


@pytest.mark.parametrize(
    "table, message",
    [
        (
            "[reliability]\nmdc90 = 5\nsem = 2\n",
            "give exactly one of sem, sd (with retest_r), mdc95, mdc90 or min_change",
        ),
        ("[reliability]\nmdc90 = 0\n", "key 'reliability.mdc90' must be positive"),
        ("[reliability]\nsem = 1\nretest_r = 0.8\n", "key 'reliability.retest_r' only applies with sd"),
        ("[reliability]\nsem = 1\nitem_mdc90 = 3\n", "only applies to patient-named items"),
        ("[reliability]\nmin_change = -2\n", "must be positive"),
    ],
)
def test_bad_reliability_tables(table, message):
    with pytest.raises(DefinitionError) as info:
        parse(BASE + table)
    assert message in str(info.value)


def test_prorating_a_sum_with_a_mandatory_item():
    inst = parse(
        BASE.replace('method = "sum"', 'method = "sum"\nmax_missing = 2\nprorate = true')
        + "[[item]]\nnumber = 4\nmandatory = true\n"
    )
    # 3 + 2 + (blank) + 1 = 6 over 3 answered -> 6 x 4 / 3 = 8
    result = instruments.score_with(inst, [3, 2, None, 1])
    assert (result.total, result.prorated, result.missing_items) == (8.0, True, (3,))
    # 1 + (blank) + (blank) + 0 = 1 over 2 answered -> 2.0; 1 + 0 + 0 + blank is refused: item 4
    assert instruments.score_with(inst, [1, None, None, 0]).total == 2.0
    with pytest.raises(instruments.InvalidResponse, match="item 4 must always be answered"):
        instruments.score_with(inst, [1, 0, 0, None])


@pytest.mark.parametrize(
    "change, message",
    [
        ('method = "sum"\nmax_missing = 1', "prorate it (prorate = true)"),
        ('method = "mean"\nprorate = true', "applies to a sum that allows missing items"),
        ('method = "sum"\nprorate = true', "applies to a sum that allows missing items"),
    ],
)
def test_prorating_rules_are_checked(change, message):
    with pytest.raises(DefinitionError) as info:
        parse(BASE.replace('method = "sum"', change))
    assert message in str(info.value)


def test_source_numbering_writes_the_key_in_the_source_instrument_numbers():
    inst = parse(
        BASE.replace("max = 3", 'max = 3\nsource = "LONG-20"\nsource_numbers = [2, 11, 5, 19]').replace(
            'method = "sum"', 'method = "sum"\nnumbering = "source"\nreverse = [11, 19]'
        )
        + "[scoring.subscales]\nfirst = [2, 5]\n"
    )
    assert [i.label for i in inst.items] == ["LONG-20 item 2", "LONG-20 item 11", "LONG-20 item 5", "LONG-20 item 19"]
    assert inst.scoring.reverse == (2, 4)
    assert inst.scoring.subscales == {"first": (1, 3)}
    # 1 + (3 - 0) + 2 + (3 - 3) = 6
    assert instruments.score_with(inst, [1, 0, 2, 3]).total == 6.0


@pytest.mark.parametrize(
    "change, message",
    [
        ("source_numbers = [2, 11, 5]", "must list 4 different item numbers of LONG-20"),
        ("source_numbers = [2, 2, 5, 19]", "must list 4 different item numbers"),
        ("source_numbers = [2, 11, 5, 19]\nnumbering_typo = 1", "is not a known key here"),
    ],
)
def test_bad_source_numbers(change, message):
    with pytest.raises(DefinitionError) as info:
        parse(BASE.replace("max = 3", f'max = 3\nsource = "LONG-20"\n{change}'))
    assert message in str(info.value)


def test_source_numbering_refuses_positions_outside_the_source_list():
    text = BASE.replace("max = 3", 'max = 3\nsource = "LONG-20"\nsource_numbers = [2, 11, 5, 19]').replace(
        'method = "sum"', 'method = "sum"\nnumbering = "source"\nreverse = [3]'
    )
    with pytest.raises(DefinitionError, match=r"must list LONG-20 item numbers \(2, 5, 11, 19\), not \[3\]"):
        parse(text)
    with pytest.raises(DefinitionError, match="'source' needs"):
        parse(BASE.replace('method = "sum"', 'method = "sum"\nnumbering = "source"'))


def test_recall_and_unverified_keys():
    inst = parse(
        BASE.replace('licence = "Free."', 'licence = "Free."\nrecall = "  the past   week "\nunverified = ["A rule."]')
    )
    assert (inst.recall, inst.unverified) == ("the past week", ("A rule.",))
    with pytest.raises(DefinitionError, match="key 'recall' must not be empty"):
        parse(BASE.replace('licence = "Free."', 'licence = "Free."\nrecall = " "'))
    with pytest.raises(DefinitionError, match="key 'unverified' must be a non-empty list of texts"):
        parse(BASE.replace('licence = "Free."', 'licence = "Free."\nunverified = []'))


def test_named_items_need_numeric_ratings_and_a_mean_sum_or_value():
    named = BASE.replace("max = 3", "max = 3\nnamed = true\noptional = true").replace(
        'method = "sum"', 'method = "mean"'
    )
    inst = parse(named)
    assert inst.named_items and inst.item_name_label == "Activity"
    assert instruments.score_with(inst, [2, None, None, 3], ["a", None, None, "b"]).total == 2.5
    with pytest.raises(DefinitionError, match="only applies with named = true"):
        parse(BASE.replace("max = 3", 'max = 3\nname_label = "Goal"'))
    with pytest.raises(DefinitionError, match="scored by mean, sum or value"):
        parse(named.replace('method = "mean"', 'method = "percent_of_max"'))


def test_every_shipped_definition_states_recall_where_the_issue_lists_it():
    expected = {
        "phq9": "the last 2 weeks",
        "gad7": "the last 2 weeks",
        "isi": "the last 2 weeks (the current severity of the insomnia problem)",
        "startback": "the last 2 weeks",
        "psqi": "the past month (usual sleep habits)",
        "wpai": "the past 7 days, not including today",
    }
    for instrument_id, recall in expected.items():
        assert instruments.get(instrument_id).recall == recall
    assert instruments.get("rmdq").recall.startswith("today")
    assert instruments.get("odi").recall.startswith("today")


def test_unverified_rules_are_stated_in_the_definitions():
    assert "Q5j" in instruments.get("psqi").unverified[0]
    assert "WASO" in instruments.get("sleep_diary").unverified[0]
    assert "'30 or more' or 'above 30'" in instruments.get("pcs").unverified[0]


@pytest.mark.parametrize("instrument_id", ["pcs", "pseq", "cpaq8", "odi", "rmdq"])
def test_no_item_wording_where_the_terms_are_unverified(instrument_id):
    for item in instruments.get(instrument_id).items:
        assert item.label is None or re.fullmatch(r"(CPAQ-20 item \d+)", item.label), item.label


# --- a clinic measure from file to timeline and workbook --------------------------------------------


def test_a_clinic_measure_goes_from_file_to_timeline_and_workbooks(clinic_folder, clinic, tmp_path):
    write(clinic_folder, "peg.toml", PEG)
    patient = patients.find_by_clinic_id(SYSTEM, "TD-00001")
    base = dt.datetime(2026, 10, 1, 10, 0)
    for weeks, answers in ((0, [8, 7, 9]), (4, [6, 6, 7]), (8, [4, 5, 3])):
        measurements.record_measurement(SYSTEM, patient.id, "peg", answers, taken_at=base + dt.timedelta(weeks=weeks))
    record = chart.get_record(SYSTEM, patient.id)
    # progress row: 8.0 -> 4.0, no MCID or reliability figure, so no verdicts
    progress = record.progress("peg")
    assert (progress.baseline.value, progress.latest.value, progress.from_baseline.points) == (8.0, 4.0, -4.0)
    assert (progress.mcid_met, progress.rci_verdict) == (None, None)
    # timeline: a series of its own, shown by default (a key measure of the patient's PT)
    built = timelines.build(record)
    assert [p.value for p in built.series["peg"].points] == [8.0, pytest.approx(19 / 3), 4.0]
    assert "peg" in built.default_selection
    # per-patient workbook: its progress row and its rows on the PT sheet
    path = tmp_path / "patient.xlsx"
    export(SYSTEM, path, ExportOptions(kind="patient", patient_id=patient.id))
    wb = load_workbook(path)
    summary = wb["Summary"]
    table = summary.tables["KeyMeasures"]
    rows = list(summary[table.ref])
    headers = [c.value for c in rows[0]]
    peg_row = next(dict(zip(headers, (c.value for c in r))) for r in rows[1:] if r[0].value == "PEG")
    assert (peg_row["Baseline"], peg_row["Latest"], peg_row["Change"]) == (8.0, 4.0, -4.0)
    pt = wb["Physical therapy"]
    assert sum(1 for row in pt.iter_rows(values_only=True) if row[0] == "PEG") == 3
    about = [row for row in wb["About"].iter_rows(values_only=True) if row[0] == "Instrument PEG"]
    assert ("Instrument PEG", "Recall period", "the past week") in about
    assert any(r[1] == "Name" and "clinic definition" in r[2] for r in about)
    # cohort workbook: a key measure, so it has its columns
    path = tmp_path / "cohort.xlsx"
    export(SYSTEM, path, ExportOptions(kind="cohort"))
    cohort = load_workbook(path, read_only=True)["Cohort"]
    header = next(cohort.iter_rows(min_row=1, max_row=1, values_only=True))
    assert "PEG baseline" in header and "PEG reliable change" in header
    values = next(
        dict(zip(header, row)) for row in cohort.iter_rows(min_row=2, values_only=True) if row[0] == "TD-00001"
    )
    assert (values["PEG baseline"], values["PEG latest"], values["PEG change"]) == (8.0, 4.0, -4.0)
    # long workbook: every administration with its items
    path = tmp_path / "long.xlsx"
    export(SYSTEM, path, ExportOptions(kind="long", patient_id=patient.id))
    sheet = load_workbook(path, read_only=True)["Measurements"]
    header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True))
    pegs = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True) if r[1] == "peg"]
    assert [(r["Total"], r["Item 1"], r["Item 2"], r["Item 3"]) for r in pegs] == [
        (8.0, 8, 7, 9),
        (pytest.approx(19 / 3), 6, 6, 7),
        (4.0, 4, 5, 3),
    ]


def test_score_command_takes_activity_names_and_marks_prorated_totals(capsys):
    assert main(["score", "psfs", "--responses", "4,6,,,", "--names", "Walking 30 minutes,Gardening,,,"]) == 0
    assert capsys.readouterr().out.startswith("Patient-Specific Functional Scale: 5.0\n")
    assert main(["score", "psfs", "--responses", "4,6,,,", "--names", "Walking,,,,"]) == 2
    assert "item 2 of PSFS: rated 6 but the activity has no name" in capsys.readouterr().err
    assert main(["score", "phq9", "--responses", "1,2,1,0,,1,0,0,0"]) == 0
    out = capsys.readouterr().out
    # 5 over 8 answered items x 9 = 5.6 -> 6
    assert out.startswith("Patient Health Questionnaire-9: 6 (Mild) [prorated from 8 of 9 items]\n")


def test_instruments_json_marks_clinic_measures(clinic_folder, capsys):
    import json

    write(clinic_folder, "peg.toml", PEG)
    assert main(["instruments", "--json"]) == 0
    listed = {i["id"]: i for i in json.loads(capsys.readouterr().out)}
    assert (listed["peg"]["origin"], listed["phq9"]["origin"]) == ("clinic", "shipped")
