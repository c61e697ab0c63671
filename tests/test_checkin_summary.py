"""The check-in summary on the demo clinic: verdicts follow the patients' known
trajectories (improver, plateau, relapse), the period runs from the last check-in, a
saved check-in is frozen and says where today's data differs, and every produced
summary is an audit event."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from teamdash import demo
from teamdash.clinical import instruments
from teamdash.errors import PermissionDenied, ValidationError
from teamdash.services import (
    audit,
    chart,
    checkin_summary,
    checkin_text,
    checkins,
    measurements,
    patients,
    plans,
    staff,
)
from teamdash.services.auth import SYSTEM, Actor, actor_for
from teamdash.services.checkin_summary import Signoff
from teamdash.storage.models import CheckIn
from tests.demo_facts import DEMO_PATIENTS, DEMO_TODAY

IMPROVER = "TD-00008"  # 37 weeks in; also the demo's open PHQ-9 item 9 safety patient
PLATEAU = "TD-00056"
RELAPSE = "TD-00006"  # relapsed after good early progress


@pytest.fixture(scope="module")
def kinds() -> dict[str, str]:
    return demo.trajectories(DEMO_PATIENTS, today=DEMO_TODAY)


def _summary(clinic_id: str, **kw) -> checkin_summary.CheckinSummary:
    patient = patients.find_by_clinic_id(SYSTEM, clinic_id)
    return checkin_summary.build_summary(SYSTEM, patient.id, **kw)


def test_the_chosen_patients_have_the_trajectories_the_tests_assume(kinds):
    assert (kinds[IMPROVER], kinds[PLATEAU], kinds[RELAPSE]) == ("improver", "plateau", "relapse")


def test_an_improver_improves_meaningfully_and_reliably(clinic):
    s = _summary(IMPROVER)
    pain, odi, phq9, pseq = (s.measure(i) for i in ("nrs_pain", "odi", "phq9", "pseq"))
    for row in (pain, odi):
        assert (row.since_baseline.direction, row.since_baseline.mcid) == ("better", "met")
        assert row.current.value < row.baseline.value
    assert odi.since_baseline.band_direction == "better"
    assert odi.since_baseline.band_movement == f"{odi.baseline.band} → {odi.current.band}"
    assert phq9.since_baseline.reliable == "reliable improvement"
    assert (pseq.since_baseline.mcid, pseq.since_baseline.reliable) == ("met", "reliable improvement")
    # ODI's reliability figure (SEM 6, Davidson & Keating 2002) decides its verdict.
    threshold = instruments.get("odi").reliable_change
    expected = "reliable improvement" if abs(odi.since_baseline.points) > threshold else "no reliable change"
    assert threshold is not None and odi.since_baseline.reliable == expected


def test_every_long_standing_improver_shows_it_and_no_plateau_shows_reliable_change(clinic, kinds):
    improvers = plateaus = 0
    for clinic_id, kind in kinds.items():
        if kind not in ("improver", "plateau"):
            continue
        s = _summary(clinic_id)
        phq9, pcs = s.measure("phq9"), s.measure("pcs")
        if kind == "improver" and (s.patient.weeks_in_programme or 0) >= 20:
            improvers += 1
            assert s.measure("nrs_pain").since_baseline.mcid == "met", clinic_id
            assert phq9.since_baseline.reliable == "reliable improvement", clinic_id
            assert all(
                m.since_baseline is None or m.since_baseline.reliable != "reliable deterioration" for m in s.measures
            ), clinic_id
        if kind == "plateau":
            plateaus += 1
            assert phq9.since_baseline.reliable == "no reliable change", clinic_id
            assert pcs.since_baseline.reliable == "no reliable change", clinic_id
    assert improvers >= 10 and plateaus >= 8


def test_a_plateau_changes_little(clinic):
    s = _summary(PLATEAU)
    pain = s.measure("nrs_pain")
    assert pain.since_baseline.mcid == "not met"
    assert pain.since_baseline.direction in ("unchanged", "better")
    assert s.measure("odi").since_baseline.mcid == "not met"
    assert s.measure("pcs").since_baseline.reliable == "no reliable change"


def test_a_relapse_is_worse_meaningfully_and_is_flagged(clinic):
    s = _summary(RELAPSE)
    pain, odi, pseq = s.measure("nrs_pain"), s.measure("odi"), s.measure("pseq")
    assert (pain.since_baseline.direction, pain.since_baseline.mcid) == ("worse", "meaningful worsening")
    assert (odi.since_baseline.direction, odi.since_baseline.mcid) == ("worse", "meaningful worsening")
    assert odi.since_baseline.band_direction == "worse"
    assert pseq.since_baseline.reliable == "reliable deterioration"
    assert any(f.kind == "deterioration" and "PSEQ" in f.reason for f in s.flags)


def test_values_are_the_first_of_the_episode_the_last_before_the_period_and_the_latest(clinic):
    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    s = checkin_summary.build_summary(SYSTEM, patient.id)
    last_checkin = checkins.list_checkins(SYSTEM, patient.id)[-1]
    assert s.period.after_checkin == last_checkin.held_on
    assert (s.period.start, s.period.end) == (last_checkin.held_on + dt.timedelta(days=1), DEMO_TODAY)
    series = [m for m in measurements.list_measurements(SYSTEM, patient.id, "odi") if m.total is not None]
    series.sort(key=lambda m: m.taken_at)
    before = [m for m in series if m.taken_at.date() <= last_checkin.held_on]
    odi = s.measure("odi")
    assert (odi.baseline.value, odi.baseline.taken_on) == (series[0].total, series[0].taken_at.date())
    assert (odi.at_start.value, odi.at_start.taken_on) == (before[-1].total, before[-1].taken_at.date())
    assert (odi.current.value, odi.current.taken_on) == (series[-1].total, series[-1].taken_at.date())
    assert odi.since_start.points == pytest.approx(series[-1].total - before[-1].total)
    assert odi.history == tuple((m.taken_at.date(), m.total) for m in series)


def test_psfs_change_is_over_the_activities_rated_both_times_as_on_the_cards(clinic):
    s = _summary("TD-00008")
    row = s.measure("psfs")
    record = chart.get_record(SYSTEM, s.patient.id)
    expected = record.progress("psfs").from_baseline
    assert expected.matched_items  # the demo names its activities
    assert row.since_baseline is not None and row.since_baseline.points == expected.points


def test_a_chosen_period_and_a_bad_one(clinic):
    s = _summary(IMPROVER, since="2026-09-01")
    assert (s.period.start, s.period.after_checkin) == (dt.date(2026, 9, 1), None)
    assert s.period.reference_label == "Before 01 Sep 2026"
    with pytest.raises(ValidationError) as err:
        _summary(IMPROVER, since="2026-12-01")
    assert err.value.field == "since"
    with pytest.raises(ValidationError) as err:
        _summary(IMPROVER, since="2026-02-30")
    assert err.value.field == "since"


def test_sections_hold_the_period_facts(clinic):
    s = _summary(IMPROVER)
    pt = next(a for a in s.attendance if a.discipline == "pt")
    assert pt.attended >= 1 and pt.minutes == 45 * pt.attended
    assert pt.next_booked is not None and pt.next_booked > DEMO_TODAY
    assert s.graded_activity and s.graded_activity[0].activity == "Walking"
    assert (
        s.sleep is not None and s.sleep.nights_in_period > 0 and s.sleep.trend in ("improving", "worsening", "steady")
    )
    assert s.rtw is not None and s.rtw.label
    assert [g.discipline for g in s.goals] == ["pt", "psychology", "sleep", "social"]
    assert s.actions_open and all(a.status == "open" for a in s.actions_open)
    assert any(f.kind == "safety" for f in s.flags)  # cannot be hidden, so the summary shows it
    assert s.previous is not None and s.previous.held_on == s.period.after_checkin


def _save(patient_id: int, actor: Actor = SYSTEM, **kw) -> checkin_summary.SavedCheckin:
    values = {
        "held_on": DEMO_TODAY,
        "attendees": [actor_for("mquillfeather").user_id, actor_for("rbrightwater").user_id],
        "narrative": "Walking further; flare plan used well.",
        "plan": "Increase walking by 5 minutes a week\nReturn-to-work meeting with employer",
        "next_checkin": DEMO_TODAY + dt.timedelta(weeks=6),
    }
    values.update(kw)
    return checkin_summary.save_checkin(actor, patient_id, **values)


def test_saving_a_checkin_keeps_its_summary_and_sets_the_next_date(clinic):
    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    before = CheckIn.select().count()
    saved = _save(patient.id)
    assert CheckIn.select().count() == before + 1
    c = checkins.get_checkin(SYSTEM, saved.checkin.id)
    assert (c.plan, c.next_checkin) == (
        "Increase walking by 5 minutes a week\nReturn-to-work meeting with employer",
        DEMO_TODAY + dt.timedelta(weeks=6),
    )
    assert c.period_start == saved.summary.period.start
    assert checkin_summary.from_snapshot(c.snapshot) == saved.summary
    assert patients.get_patient(SYSTEM, patient.id).next_checkin == DEMO_TODAY + dt.timedelta(weeks=6)
    # The next summary starts the day after this check-in and shows its plan.
    later = checkin_summary.build_summary(SYSTEM, patient.id, until=DEMO_TODAY + dt.timedelta(days=10))
    assert later.period.after_checkin == DEMO_TODAY
    assert later.previous.plan.startswith("Increase walking")
    assert audit.events(patient_id=patient.id, action_prefix="checkin.create")


def test_a_saved_checkin_is_frozen_and_says_what_changed_since(clinic, fixed_clock):
    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    saved = _save(patient.id)
    odi_before = saved.summary.measure("odi")
    assert checkin_summary.open_checkin(SYSTEM, saved.checkin.id).changes == {}
    # A score the summary was built from is corrected afterwards.
    latest = max((m for m in measurements.list_measurements(SYSTEM, patient.id, "odi")), key=lambda m: m.taken_at)
    measurements.update_measurement(SYSTEM, latest.id, latest.version, responses=[5] * 10)
    reopened = checkin_summary.open_checkin(SYSTEM, saved.checkin.id)
    assert reopened.summary.measure("odi") == odi_before  # the snapshot did not move
    assert reopened.summary.measure("odi").current.value == odi_before.current.value != 100
    assert set(reopened.changes) == {"measure:odi"}
    assert "current now 100 %" in reopened.changes["measure:odi"]
    assert f"was {odi_before.current.text}" in reopened.changes["measure:odi"]
    # A value taken after the check-in is not a change to what was signed off.
    fixed_clock.advance(dt.timedelta(days=2))
    measurements.record_measurement(SYSTEM, patient.id, "nrs_pain", [2], taken_at=fixed_clock.now())
    assert set(checkin_summary.open_checkin(SYSTEM, saved.checkin.id).changes) == {"measure:odi"}


def test_progress_and_bookings_since_are_not_changes_but_a_corrected_session_is(clinic, fixed_clock):
    from teamdash.services import goals, sessions

    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    saved = _save(patient.id)
    goal = next(g for g in goals.GOALS.list(SYSTEM, patient.id) if g.discipline == "psychology")
    goals.GOALS.update(SYSTEM, goal.id, goal.version, status="active", progress=80)  # progress after the check-in
    fixed_clock.advance(dt.timedelta(days=3))
    sessions.add_session(
        SYSTEM,
        patient.id,
        discipline="pt",
        held_at=fixed_clock.now() + dt.timedelta(days=20),
        kind="Review",
        attendance="scheduled",
    )
    assert checkin_summary.open_checkin(SYSTEM, saved.checkin.id).changes == {}
    held = [
        s
        for s in sessions.list_sessions(SYSTEM, patient.id)
        if s.discipline == "pt" and s.attendance == "attended" and s.held_at.date() >= saved.summary.period.start
    ][-1]
    sessions.update_session(SYSTEM, held.id, held.version, attendance="no_show")  # entered wrongly, corrected
    changes = checkin_summary.open_checkin(SYSTEM, saved.checkin.id).changes
    before = next(a for a in saved.summary.attendance if a.discipline == "pt")
    assert changes == {
        "attendance:pt": f"now {before.attended - 1} attended, {before.missed + 1} missed, {before.cancelled} cancelled "
        f"(was {before.attended}, {before.missed}, {before.cancelled})"
    }


def test_checkins_saved_without_a_summary_still_open(clinic):
    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    old = checkins.list_checkins(SYSTEM, patient.id)[0]  # the demo's: narrative, no summary
    opened = checkin_summary.open_checkin(SYSTEM, old.id)
    assert (opened.summary, opened.changes, opened.signoff.narrative) == (None, {}, old.narrative)
    assert checkin_summary.list_checkins(SYSTEM, patient.id)[-1].id == old.id  # latest first


def test_the_snapshot_survives_json(clinic):
    s = _summary(RELAPSE)
    assert checkin_summary.from_snapshot(json.loads(json.dumps(checkin_summary.to_snapshot(s)))) == s
    assert checkin_summary.from_snapshot(None) is None
    assert checkin_summary.from_snapshot({"phq9": 8}) is None


def test_the_handout_choice_is_saved_with_the_checkin(clinic):
    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    contacts = plans.CONTACTS.list(SYSTEM, patient.id)
    assert contacts and not any(c.on_handout for c in contacts)  # nobody is named until the patient chooses
    saved = _save(patient.id, on_handout=[contacts[0].id])
    assert [c.on_handout for c in plans.CONTACTS.list(SYSTEM, patient.id)] == [True] + [False] * (len(contacts) - 1)
    assert [s.on_handout for s in saved.summary.supporters] == [False] * len(contacts)  # summary of the day before
    count = CheckIn.select().count()
    other = patients.find_by_clinic_id(SYSTEM, RELAPSE)
    stranger = plans.CONTACTS.list(SYSTEM, other.id)[0]
    with pytest.raises(ValidationError) as err:
        _save(patient.id, on_handout=[stranger.id])
    assert err.value.field == "on_handout"
    assert CheckIn.select().count() == count  # nothing saved


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"next_checkin": DEMO_TODAY}, "next_checkin"),
        ({"held_on": "2026-13-01"}, "held_on"),
        ({"held_on": DEMO_TODAY + dt.timedelta(days=5)}, "held_on"),
        ({"attendees": [424242]}, "attendees"),
        ({"plan": "x" * 5000}, "plan"),
        ({"since": DEMO_TODAY + dt.timedelta(days=1)}, "since"),
    ],
)
def test_bad_checkin_input_names_the_field_and_saves_nothing(clinic, change, field):
    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    count, next_date = CheckIn.select().count(), patients.get_patient(SYSTEM, patient.id).next_checkin
    with pytest.raises(ValidationError) as err:
        _save(patient.id, **change)
    assert err.value.field == field
    assert CheckIn.select().count() == count
    assert patients.get_patient(SYSTEM, patient.id).next_checkin == next_date


def test_a_viewer_may_read_but_not_save_or_print(clinic):
    member = staff.create_user(SYSTEM, username="vview", full_name="Val Viewer", role="viewer")
    viewer = Actor(member.id, member.username, member.full_name, member.role)
    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    s = checkin_summary.build_summary(viewer, patient.id)
    with pytest.raises(PermissionDenied):
        _save(patient.id, actor=viewer)
    with pytest.raises(PermissionDenied):
        checkin_summary.record_output(viewer, patient.id, kind="summary", form="pdf", period=s.period)


def test_every_produced_summary_is_an_audit_event(clinic):
    patient = patients.find_by_clinic_id(SYSTEM, IMPROVER)
    s = checkin_summary.build_summary(SYSTEM, patient.id)
    checkin_summary.record_output(
        SYSTEM, patient.id, kind="handout", form="pdf", period=s.period, privacy=True, page_size="A4", file_name="x.pdf"
    )
    event = audit.events(patient_id=patient.id, action_prefix="handout.")[0]
    assert event.action == "handout.pdf"
    assert {k: v for k, v in event.details.items() if k != "os_user"} == {  # os_user: who ran it as the system
        "period_start": s.period.start.isoformat(),
        "period_end": s.period.end.isoformat(),
        "privacy": True,
        "page_size": "A4",
        "file": "x.pdf",
    }
    with pytest.raises(ValidationError) as err:
        checkin_summary.record_output(SYSTEM, patient.id, kind="summary", form="fax", period=s.period)
    assert err.value.field == "form"


def test_plain_text_for_the_record_system(clinic):
    s = _summary(IMPROVER)
    signoff = Signoff(DEMO_TODAY, ("Morgan Quillfeather",), "Walking further.", "Keep pacing", None)
    text = checkin_text.summary_text(s, signoff)
    assert s.patient.full_name in text and s.patient.clinic_id in text
    odi = s.measure("odi")
    assert f"baseline {odi.baseline.text} ({odi.baseline.taken_on:%d %b %Y})" in text
    assert "MCID met" in text and "reliable improvement" in text
    assert "Walking further." in text and "Keep pacing" in text and "Morgan Quillfeather" in text
    assert all(len(line) <= checkin_text.WIDTH for line in text.splitlines())
    private = checkin_text.summary_text(s, signoff, privacy=True)
    assert not any(part in private for part in s.patient.full_name.split())
    assert f"{s.patient.date_of_birth:%d %b %Y}" not in private and s.patient.clinic_id in private
