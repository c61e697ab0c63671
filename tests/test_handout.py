"""The patient's handout: plain language from resources/handout.toml, no scale names or
abbreviations, their goals and the agreed plan, flare advice, contacts; supporters only
when the patient chose it; no name in privacy mode."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from teamdash.clinical import instruments
from teamdash.services import checkin_summary, handout, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.checkin_summary import Signoff
from tests.demo_facts import DEMO_TODAY

IMPROVER = "TD-00008"
RELAPSE = "TD-00006"
# Words on the handout that look like abbreviations but are explained or plain English.
ALLOWED_CAPITALS = {"I"}


def _summary(clinic_id: str) -> checkin_summary.CheckinSummary:
    return checkin_summary.build_summary(SYSTEM, patients.find_by_clinic_id(SYSTEM, clinic_id).id)


SIGNOFF = Signoff(DEMO_TODAY, (), "x", "- Walk 35 minutes a day\n- Use the flare plan early\n\n", dt.date(2027, 1, 8))


def test_what_changed_in_words(clinic):
    s = _summary(IMPROVER)
    h = handout.build_handout(s, SIGNOFF)
    walk = next(m for m in h.measures if m.instrument == "six_minute_walk")
    row = s.measure("six_minute_walk")
    assert walk.sentence == (
        f"You can now walk {row.current.value:.0f} metres in six minutes, up from {row.baseline.value:.0f} metres."
    )
    assert (walk.before, walk.now, walk.higher_is_better, walk.direction) == (
        row.baseline.value,
        row.current.value,
        True,
        "better",
    )
    pain = next(m for m in h.measures if m.instrument == "nrs_pain")
    assert pain.title == "Pain" and "down from" in pain.sentence and pain.chart_max == 10
    # Only measures with plain wording and two values: no body mass index, no screening tool;
    # the secondary questionnaires only when they changed meaningfully or reliably.
    shown = {m.instrument for m in h.measures}
    assert shown <= set(handout.wording()["measure"]) and "bmi" not in shown
    assert s.measure("pcs").since_baseline.reliable == "reliable improvement" and "pcs" in shown
    cpaq = s.measure("cpaq8").since_baseline
    assert (cpaq.mcid, cpaq.reliable) == (None, None) and "cpaq8" not in shown


def test_no_scale_names_or_unexplained_abbreviations(clinic):
    for clinic_id in (IMPROVER, RELAPSE):
        text = handout.build_handout(_summary(clinic_id), SIGNOFF).text()
        for inst in instruments.library().values():
            assert inst.short_name not in text, inst.short_name
            assert inst.name not in text, inst.name
        for word in ("MCID", "RCI", "NRS", "PT", "CBT", "RTW"):
            assert re.search(rf"\b{word}\b", text) is None, word
        capitals = set(re.findall(r"\b[A-Z]{2,}\b", text)) - ALLOWED_CAPITALS
        assert not capitals, capitals


def test_a_relapse_is_worded_gently(clinic):
    h = handout.build_handout(_summary(RELAPSE), SIGNOFF)
    pain = next(m for m in h.measures if m.instrument == "nrs_pain")
    assert pain.direction == "worse" and "we will look at this together" in pain.sentence


def test_goals_plan_flare_advice_and_contacts(clinic):
    s = _summary(IMPROVER)
    h = handout.build_handout(s, SIGNOFF)
    assert [g.text for g in h.goals] == [g.text for g in s.goals if g.status != "discontinued"]
    assert {g.status for g in h.goals} <= {"Working on it", "Achieved", "Partly achieved", "Not reached yet"}
    assert h.next_steps == ("Walk 35 minutes a day", "Use the flare plan early")
    assert h.next_review == "Your next review with the team is planned for Friday 08 January 2027."
    assert len(h.flare_advice) >= 4 and "emergency" in h.urgent
    assert h.contacts[0] == f"Your case manager: {s.patient.case_manager}."
    unplanned = handout.build_handout(s, dataclasses.replace(SIGNOFF, plan=None))
    assert unplanned.next_steps == (handout.wording()["next_steps"]["empty"],)


def test_supporters_are_named_only_when_the_patient_chose_it(clinic):
    s = _summary(IMPROVER)
    assert s.supporters
    assert not any("supporting you" in line for line in handout.build_handout(s, SIGNOFF).contacts)
    chosen = dataclasses.replace(
        s, supporters=(dataclasses.replace(s.supporters[0], on_handout=True), *s.supporters[1:])
    )
    lines = handout.build_handout(chosen, SIGNOFF).contacts
    assert lines[-1] == f"People supporting you: {s.supporters[0].name} ({s.supporters[0].relationship})."
    assert all(other.name not in lines[-1] for other in s.supporters[1:])
    private = handout.build_handout(chosen, SIGNOFF, privacy=True).contacts
    assert private[-1] == f"People supporting you: your {s.supporters[0].relationship}."


@pytest.mark.parametrize("privacy", [False, True])
def test_the_name_only_outside_privacy_mode(clinic, privacy):
    s = _summary(IMPROVER)
    h = handout.build_handout(s, SIGNOFF, privacy=privacy)
    assert h.clinic_id == s.patient.clinic_id
    assert h.patient_name == (None if privacy else s.patient.full_name)
