"""``teamdash patients`` and ``teamdash score`` as scripts and people use them: every
patient reachable page by page, output that says when it is cut, and scores refused
with the allowed range instead of silently accepted."""

from __future__ import annotations

import json

import pytest

from tests.databases import url_of
from tests.demo_facts import DEMO_PATIENTS
from ui.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def listed(clinic, capsys, *argv) -> tuple[list[dict], str]:
    code, out, err = run(capsys, "--db", url_of(clinic), "patients", "--json", "--status", "active", *argv)
    assert code == 0, err
    return json.loads(out), err


def test_a_limited_list_says_it_is_cut_and_how_to_go_on(clinic, capsys):
    rows, err = listed(clinic, capsys)
    total = len(rows)
    page, err = listed(clinic, capsys, "--limit", "5")
    assert [r["clinic_id"] for r in page] == [r["clinic_id"] for r in rows[:5]]
    assert f"showing patients 1–5 of {total}" in err and "--offset 5" in err
    rest, err = listed(clinic, capsys, "--offset", str(total - 2), "--limit", "5")
    assert [r["clinic_id"] for r in rest] == [r["clinic_id"] for r in rows[-2:]] and err == ""


def test_limit_0_lists_everyone_page_by_page(clinic, capsys, monkeypatch):
    from teamdash.services import patients

    monkeypatch.setattr(patients, "MAX_PAGE", 7)  # several service pages for one listing
    code, out, err = run(capsys, "--db", url_of(clinic), "patients", "--json", "--limit", "0")
    ids = [r["clinic_id"] for r in json.loads(out)]
    assert code == 0 and len(ids) == DEMO_PATIENTS == len(set(ids)) and err == ""


def test_plain_output_has_a_header_and_each_flag_kind_once(clinic, capsys):
    code, out, _ = run(capsys, "--db", url_of(clinic), "patients", "--flagged", "--sort", "flags")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:2] == ["CLINIC", "ID"] and "FLAGS" in lines[0]
    for line in lines[1:]:
        kinds = line.split()[-1].split(",")
        assert len(kinds) == len(set(kinds)), line


def test_case_manager_by_username_or_full_name(clinic, capsys):
    by_name, _ = listed(clinic, capsys, "--case-manager", "Morgan Quillfeather")
    by_username, _ = listed(clinic, capsys, "--case-manager", "mquillfeather")
    assert by_name and by_name == by_username
    assert {r["case_manager"] for r in by_name} == {"Morgan Quillfeather"}


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--limit", "-1"], "--limit cannot be negative"),
        (["--offset", "-3"], "--offset cannot be negative"),
        (["--search", " ".join(["x"] * 20)], "search has 20 words; use at most 8"),
        (["--search", "y" * 50_000], "search is 50,000 characters long"),
    ],
)
def test_bad_listing_options_are_named(clinic, capsys, argv, words):
    code, _, err = run(capsys, "--db", url_of(clinic), "patients", *argv)
    assert code == 2 and words in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["score", "phq9", "--responses", "١,2,1,0,2,1,0,1,0"], "'١' is not a number written with the digits 0–9"),
        (["score", "phq9", "--responses", "２,2,1,0,2,1,0,1,0"], "'２' is not a number written with the digits 0–9"),
        (
            ["score", "phq9", "--responses", "9" * 309 + ",2,1,0,2,1,0,1,0"],
            "'999999999999'… (309 characters) is outside 0–3",
        ),
        (["score", "nrs_pain", "--responses", "1" * 40], "1.11e+39 is outside 0–10"),
        (["score", "phq9", "--responses", "-1,2,1,0,2,1,0,1,0"], "--responses=VALUE"),
        (["score", "phq9", "--responses=-1,2,1,0,2,1,0,1,0"], "item 1 of PHQ-9: -1 is outside 0–3"),
    ],
)
def test_score_refuses_what_a_form_could_not_hold(capsys, argv, words):
    code, _, err = run(capsys, *argv)
    assert code == 2 and words in err, err
    assert err.count("\n") == 1 and len(err) < 300


def test_score_takes_instrument_ids_in_any_case(capsys):
    code, out, _ = run(capsys, "score", "PHQ9", "--responses", "1,2,1,0,2,1,0,1,0", "--json")
    assert code == 0 and json.loads(out)["total"] == 8
