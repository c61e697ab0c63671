"""The command line: outputs people and scripts rely on, one-line errors with exit 2,
never a traceback for a user's mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import url_of
from tests.demo_facts import CASE_MANAGER, DEMO_PATIENTS
from ui.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_patients_json_lists_objects(clinic, capsys):
    code, out, err = run(capsys, "--db", url_of(clinic), "patients", "--json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert len(rows) == DEMO_PATIENTS
    assert {"clinic_id", "name", "status", "flags"} <= set(rows[0])


def test_patients_search_and_filters(clinic, capsys):
    code, out, _ = run(capsys, "--db", url_of(clinic), "patients", "--search", "TD-00012", "--json")
    assert code == 0 and [r["clinic_id"] for r in json.loads(out)] == ["TD-00012"]
    code, out, _ = run(capsys, "--db", url_of(clinic), "patients", "--status", "dropped_out", "--json")
    assert code == 0 and json.loads(out) and all(r["status"] == "dropped_out" for r in json.loads(out))
    code, out, _ = run(capsys, "--db", url_of(clinic), "patients", "--case-manager", CASE_MANAGER, "--json")
    assert code == 0 and all(r["case_manager"] == CASE_MANAGER for r in json.loads(out))


def test_db_option_after_the_subcommand_works_too(clinic, capsys):
    code, out, _ = run(capsys, "patients", "--db", url_of(clinic), "--json", "--limit", "3")
    assert code == 0 and len(json.loads(out)) == 3


def test_environment_variable_selects_the_database(clinic, capsys, monkeypatch):
    monkeypatch.setenv("TEAMDASH_DATABASE_URL", url_of(clinic))
    code, out, _ = run(capsys, "patients", "--json", "--limit", "2")
    assert code == 0 and len(json.loads(out)) == 2


def test_score_json(capsys):
    code, out, err = run(capsys, "score", "phq9", "--responses", "1,2,1,1,2,1,1,1,0", "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert (result["instrument"], result["total"], result["band"]) == ("phq9", 10, "Moderate")


def test_score_with_a_missing_item(capsys):
    code, out, _ = run(capsys, "score", "odi", "--responses", "1,2,3,2,1,,2,1,3,2", "--json")
    assert code == 0
    result = json.loads(out)
    assert round(result["total"], 2) == round(17 / 45 * 100, 2) and result["band"] == "Moderate disability"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["score", "phq9", "--responses", "1,2,9,1,2,1,1,1,0"], "item 3 of PHQ-9: 9 is outside 0–3"),
        (["score", "phq10", "--responses", "1"], "unknown instrument 'phq10'"),
        (["score", "phq9", "--responses", "1,2"], "expected 9 responses"),
        (["--db", "mysql://x/y", "patients"], "unsupported database URL"),
        (["patients", "--sort", "shoe_size"], "invalid choice: 'shoe_size'"),
        (["patients", "--case-manager", "Nobody Atall"], "no staff member with the name or username 'Nobody Atall'"),
        (["frobnicate"], "invalid choice"),
        (["demo", "--patients", "0"], "patients: must be between 1 and"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(clinic, capsys, argv, words):
    if "--db" not in argv and argv[0] != "score":
        argv = ["--db", url_of(clinic), *argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("teamdash: error: ") and words in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_backup_writes_a_copy_and_refuses_to_overwrite(clinic, capsys, tmp_path):
    dest = tmp_path / "b.sqlite3"
    code, out, _ = run(capsys, "--db", url_of(clinic), "backup", "--out", str(dest))
    assert code == 0 and dest.exists() and str(dest) in out
    code, _, err = run(capsys, "--db", url_of(clinic), "backup", "--out", str(dest))
    assert code == 2 and "already exists" in err


def test_instruments_lists_the_library(capsys):
    code, out, _ = run(capsys, "instruments", "--json")
    assert code == 0
    ids = {i["id"] for i in json.loads(out)}
    assert {
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
    } == ids


def test_demo_command_fills_a_new_file(tmp_path, capsys):
    target = tmp_path / "demo.sqlite3"
    code, out, _ = run(capsys, "--db", f"sqlite:///{target}", "demo", "--patients", "4", "--today", "2026-11-27")
    assert code == 0 and "4 patients" in out
    code, out, _ = run(capsys, "--db", f"sqlite:///{target}", "patients", "--json")
    assert len(json.loads(out)) == 4


def test_a_bug_is_logged_not_shown(capsys, monkeypatch, tmp_path):
    import dataclasses

    from teamdash import logs
    from teamdash.cli.registry import COMMANDS

    def explode(args):
        raise RuntimeError("internal detail that users should not see")

    monkeypatch.setitem(COMMANDS, "instruments", dataclasses.replace(COMMANDS["instruments"], run=explode))
    code, out, err = run(capsys, "instruments")
    assert code == 1
    assert "unexpected error" in err and "internal detail" not in err and "Traceback" not in err
    assert str(logs.log_file()) in err
    assert "internal detail that users should not see" in logs.log_file().read_text()


def test_console_script_runs_in_a_fresh_process(clinic):
    script = Path(sys.executable).parent / "teamdash"
    done = subprocess.run([str(script), "--db", url_of(clinic), "check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "integrity: ok" in done.stdout
