"""Patient statuses have one source, resources/disciplines.toml, read through
teamdash.clinical.disciplines by the services and the command line alike."""

from __future__ import annotations

import pytest

from teamdash import resources
from teamdash.clinical import disciplines
from teamdash.errors import ValidationError
from teamdash.services import patients
from teamdash.services.auth import SYSTEM
from teamdash.services.patients import PatientQuery
from tests.databases import url_of
from ui.cli import main


def test_statuses_and_labels_come_from_the_disciplines_file():
    listed = resources.load_toml(disciplines.FILE)["vocabularies"]["patient_status"]
    assert disciplines.patient_statuses() == tuple(listed) == ("active", "on_hold", "discharged", "dropped_out")
    assert disciplines.ACTIVE_STATUS in disciplines.patient_statuses()
    assert disciplines.patient_status_choices() == (
        ("active", "Active"),
        ("on_hold", "On hold"),
        ("discharged", "Discharged"),
        ("dropped_out", "Dropped out"),
    )


@pytest.fixture
def transferred(monkeypatch):
    """A clinic whose file adds a status of its own."""
    vocabulary = disciplines.vocabulary

    def with_transferred(name: str) -> tuple[str, ...]:
        found = vocabulary(name)
        return (*found, "transferred") if name == "patient_status" else found

    monkeypatch.setattr(disciplines, "vocabulary", with_transferred)
    disciplines.patient_statuses.cache_clear()
    yield "transferred"
    disciplines.patient_statuses.cache_clear()


def test_a_status_added_to_the_file_reaches_the_services(clinic, transferred):
    # The list filter accepts the clinic's own status (nobody holds it yet) and names it
    # among the allowed ones when a status is mistyped.
    assert patients.list_patients(SYSTEM, PatientQuery(status=transferred)).rows == ()
    with pytest.raises(ValidationError, match="not one of: active, on_hold, discharged, dropped_out, transferred"):
        patients.list_patients(SYSTEM, PatientQuery(status="moved"))


@pytest.mark.parametrize("command", [["patients"], ["export", "--out", "x.xlsx"]])
def test_a_status_added_to_the_file_reaches_the_command_line(clinic, transferred, capsys, command):
    code = main(["--db", url_of(clinic), *command, "--status", "nonsense"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "invalid choice: 'nonsense' (choose from 'active', 'on_hold', 'discharged', 'dropped_out', 'transferred')"
        in err
    )


def test_the_command_line_filters_by_a_status_from_the_file(clinic, capsys):
    assert main(["--db", url_of(clinic), "patients", "--status", "discharged", "--json"]) == 0
    assert '"status": "discharged"' in capsys.readouterr().out
