"""Team meetings in the core: the agenda's order (safety, reliable deterioration, overdue,
the rest), starting a meeting, decisions and action items typed for a patient,
"reviewed" recording the check-in with a frozen snapshot, the saved minutes, and each
staff member's own action items."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.clinical.analytics import FLAG_SEVERITY, Flag
from teamdash.errors import Conflict, PermissionDenied, ValidationError
from teamdash.services import agenda, audit, checkins, measurements, meetings, patients, staff, worklist
from teamdash.services.action_items import ACTION_ITEMS
from teamdash.services.agenda import AgendaEntry
from teamdash.services.auth import SYSTEM, Actor, actor_for
from teamdash.services.patients import PatientQuery
from tests.demo_facts import DEMO_TODAY

TODAY = DEMO_TODAY


def _flag(kind: str, since: dt.date | None = None) -> Flag:
    return Flag(kind=kind, severity=FLAG_SEVERITY[kind], reason=f"{kind} reason", since=since)


def _entry(clinic_id: str, flags=(), next_checkin=None) -> AgendaEntry:
    group = agenda.agenda_group(flags, next_checkin, TODAY, 7)
    since = min((f.since for f in flags if f.kind == group and f.since), default=None)
    return AgendaEntry(
        patient_id=int(clinic_id[1:]),
        clinic_id=clinic_id,
        given_name="A",
        family_name="B",
        group=group,
        reasons=tuple(f.reason for f in flags),
        next_checkin=next_checkin,
        since=since if group in ("safety", "deterioration") else next_checkin,
    )


# --- the ordering rule ----------------------------------------------------------------------


def test_group_is_the_most_urgent_reason_that_applies():
    week = dt.timedelta(days=7)
    assert agenda.agenda_group([_flag("deterioration"), _flag("safety")], TODAY - week, TODAY, 7) == "safety"
    assert agenda.agenda_group([_flag("deterioration")], TODAY - week, TODAY, 7) == "deterioration"
    assert agenda.agenda_group([_flag("checkin_overdue")], TODAY - dt.timedelta(days=1), TODAY, 7) == "overdue"
    assert agenda.agenda_group([], TODAY, TODAY, 7) == "due"  # reached today: due, not yet overdue
    assert agenda.agenda_group([], TODAY + week, TODAY, 7) == "due"  # near
    assert agenda.agenda_group([], TODAY + week + dt.timedelta(days=1), TODAY, 7) == "added"
    assert agenda.agenda_group([_flag("review")], None, TODAY, 7) == "due"  # flagged for the team
    # An overdue questionnaire alone is the clinician's reminder, not the team's agenda.
    assert agenda.agenda_group([_flag("overdue_measure")], None, TODAY, 7) == "added"


def test_agenda_order_is_safety_then_deterioration_then_overdue_then_the_rest():
    day = dt.timedelta(days=1)
    entries = [
        _entry("P1", next_checkin=TODAY + 3 * day),  # due soon
        _entry("P2", [_flag("checkin_overdue")], next_checkin=TODAY - 2 * day),
        _entry("P3", [_flag("deterioration", TODAY - 20 * day)], next_checkin=TODAY + 30 * day),
        _entry("P4", [_flag("safety", TODAY - 3 * day)], next_checkin=TODAY + 30 * day),
        _entry("P5", [_flag("checkin_overdue")], next_checkin=TODAY - 9 * day),  # longer overdue
        _entry("P6", next_checkin=TODAY),
        _entry("P7", [_flag("safety", TODAY - 40 * day), _flag("deterioration")], next_checkin=None),
        _entry("P8", [_flag("deterioration", TODAY - 2 * day)], next_checkin=TODAY - 5 * day),
    ]
    ordered = [e.clinic_id for e in agenda.order_agenda(entries)]
    assert ordered == ["P7", "P4", "P3", "P8", "P5", "P2", "P6", "P1"]


def test_the_demo_clinics_agenda(clinic):
    entries = agenda.due_for_review(SYSTEM, today=TODAY)
    ranks = [agenda.group_rank(e.group) for e in entries]
    assert ranks == sorted(ranks) and entries
    assert entries[0].group == "safety" and entries[0].clinic_id == "TD-00008"
    assert {"safety", "deterioration", "overdue", "due"} <= {e.group for e in entries}
    # Everyone active with a check-in reached or within a week is on it; nobody inactive.
    active = patients.list_patients(SYSTEM, PatientQuery(status="active", limit=1000, today=TODAY)).rows
    due_soon = {p.id for p in active if p.next_checkin and p.next_checkin <= TODAY + dt.timedelta(days=7)}
    on_agenda = {e.patient_id for e in entries}
    assert due_soon <= on_agenda
    assert on_agenda <= {p.id for p in active}
    overdue = [e for e in entries if e.group == "overdue"]
    assert [e.next_checkin for e in overdue] == sorted(e.next_checkin for e in overdue)
    assert all(e.next_checkin < TODAY for e in overdue)


def test_a_negative_horizon_is_refused(clinic):
    with pytest.raises(ValidationError) as err:
        agenda.due_for_review(SYSTEM, today=TODAY, horizon_days=-1)
    assert err.value.field == "horizon_days"


# --- a meeting -------------------------------------------------------------------------------------


@pytest.fixture
def chair(clinic) -> Actor:
    """The case manager who runs the meeting (saving check-ins, decisions and action
    items is theirs)."""
    return actor_for("mquillfeather")


@pytest.fixture
def team(clinic) -> list[staff.StaffMember]:
    return staff.list_staff(SYSTEM)


@pytest.fixture
def meeting(chair, team):
    entries = agenda.due_for_review(chair, today=TODAY)
    return meetings.start_meeting(
        chair, attendees=[m.id for m in team[:4]], patient_ids=[e.patient_id for e in entries[:4]]
    )


def test_starting_a_meeting_keeps_attendees_and_the_agenda_in_the_order_given(chair, team):
    entries = agenda.due_for_review(chair, today=TODAY)
    chosen = [entries[2].patient_id, entries[0].patient_id, entries[1].patient_id]
    m = meetings.start_meeting(chair, attendees=[team[1].id, team[0].id, team[1].id], patient_ids=chosen)
    assert [a.name for a in m.attendees] == [team[1].full_name, team[0].full_name]
    assert [i.patient for i in m.items] == chosen
    assert m.items[1].agenda_group == "safety" and "PHQ-9" in m.items[1].reason
    assert m.open and m.started_by_name == "Morgan Quillfeather" and m.reviewed_count == 0
    assert [e.action for e in audit.events(action_prefix="meeting.")] == ["meeting.start"]


@pytest.mark.parametrize(
    ("attendees", "agenda_ids", "field"),
    [([], [8], "attendees"), ([9999], [8], "attendees"), ([1], [], "agenda"), ([1], [99999], "agenda")],
)
def test_a_meeting_needs_attendees_and_patients_that_exist(chair, attendees, agenda_ids, field):
    with pytest.raises(ValidationError) as err:
        meetings.start_meeting(chair, attendees=attendees, patient_ids=agenda_ids)
    assert err.value.field == field
    assert meetings.list_meetings(chair) == []


def test_a_viewer_or_a_clinician_cannot_start_a_meeting(clinic, team):
    viewer = Actor(None, "viewer", "A Viewer", "viewer")
    for someone in (viewer, actor_for("athistledown")):
        with pytest.raises(PermissionDenied, match="may not save team check-ins"):
            meetings.start_meeting(someone, attendees=[team[0].id], patient_ids=[8])
    assert meetings.list_meetings(SYSTEM) == []


def test_decisions_and_action_items_belong_to_the_meeting_and_the_patient(chair, meeting, team):
    patient = meeting.items[0].patient
    decision = meetings.add_decision(chair, meeting.id, patient, "Refer to GP for a medication review")
    action = meetings.add_action_item(
        chair, meeting.id, patient, text="Call the GP", owner=team[2].id, due_on="2026-12-04", discipline="pt"
    )
    assert (decision.meeting, decision.patient, decision.made_by) == (meeting.id, patient, chair.user_id)
    assert (action.meeting, action.owner, action.due_on, action.discipline, action.status) == (
        meeting.id,
        team[2].id,
        dt.date(2026, 12, 4),
        "pt",
        "open",
    )
    decisions, actions = meetings.meeting_records(chair, meeting.id, patient)
    assert [d.text for d in decisions] == ["Refer to GP for a medication review"]
    assert [a.text for a in actions] == ["Call the GP"]
    # The patient's record shows the new action item among the open ones.
    from teamdash.services import chart

    assert "Call the GP" in [a.text for a in chart.get_record(chair, patient, today=TODAY).open_actions]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"text": "Call GP", "owner": None}, "owner"),
        ({"text": "", "owner": 1}, "text"),
        ({"text": "Call GP", "owner": 9999}, "owner"),
        ({"text": "Call GP", "owner": 1, "due_on": "2026-11-01"}, "due_on"),
        ({"text": "Call GP", "owner": 1, "due_on": "soon"}, "due_on"),
        ({"text": "Call GP", "owner": 1, "discipline": "cardiology"}, "discipline"),
    ],
)
def test_bad_action_items_name_the_field_and_change_nothing(chair, meeting, values, field):
    patient = meeting.items[0].patient
    with pytest.raises(ValidationError) as err:
        meetings.add_action_item(chair, meeting.id, patient, **values)
    assert err.value.field == field
    assert meetings.meeting_records(chair, meeting.id, patient) == ([], [])


def test_only_patients_on_the_agenda_of_an_open_meeting_take_entries(chair, meeting):
    on_agenda = {i.patient for i in meeting.items}
    other = next(p.id for p in patients.list_patients(chair).rows if p.id not in on_agenda)
    with pytest.raises(ValidationError) as err:
        meetings.add_decision(chair, meeting.id, other, "Anything")
    assert err.value.field == "patient"
    meetings.end_meeting(chair, meeting.id, meeting.version)
    with pytest.raises(Conflict, match="has ended"):
        meetings.add_decision(chair, meeting.id, meeting.items[0].patient, "Too late")


def test_reviewed_records_the_checkin_with_snapshot_and_links_the_meetings_entries(chair, meeting, team):
    patient = meeting.items[0].patient
    meetings.add_decision(chair, meeting.id, patient, "Continue graded activity")
    meetings.add_action_item(chair, meeting.id, patient, text="Book sleep review", owner=team[3].id)
    before = len(checkins.list_checkins(chair, patient))

    after = meetings.mark_reviewed(chair, meeting.id, patient, note="Patient doing well overall")

    item = after.item_for(patient)
    assert item.reviewed and item.checkin is not None and after.reviewed_count == 1
    saved = checkins.list_checkins(chair, patient)
    assert len(saved) == before + 1
    checkin = saved[-1]
    assert checkin.id == item.checkin and checkin.held_on == TODAY
    assert [a["user_id"] for a in checkin.attendees] == [a.user_id for a in meeting.attendees]
    assert "Continue graded activity" in checkin.narrative and "Book sleep review" in checkin.narrative
    assert "Patient doing well overall" in checkin.narrative
    snap = checkin.snapshot
    assert snap["source"] == "team_meeting" and snap["meeting_id"] == meeting.id
    assert snap["decisions"] == ["Continue graded activity"]
    assert snap["action_items"][0]["text"] == "Book sleep review"
    assert snap["measures"] and all({"instrument", "baseline", "latest", "verdict"} <= set(m) for m in snap["measures"])
    assert any(f["kind"] == "safety" for f in snap["flags"])  # the first patient is the safety one
    # The next check-in is booked at the default interval; the overdue flag is gone.
    detail = patients.get_patient(chair, patient, today=TODAY)
    assert detail.next_checkin == TODAY + dt.timedelta(days=agenda.settings().checkin_interval_days)
    decisions, actions = meetings.meeting_records(chair, meeting.id, patient)
    assert [d.checkin for d in decisions] == [checkin.id] and [a.checkin for a in actions] == [checkin.id]
    with pytest.raises(Conflict, match="already been reviewed"):
        meetings.mark_reviewed(chair, meeting.id, patient)


def test_the_snapshot_does_not_change_when_a_score_is_corrected_later(chair, meeting):
    patient = meeting.items[0].patient
    meetings.mark_reviewed(chair, meeting.id, patient, next_checkin="2027-01-15")
    checkin = checkins.list_checkins(chair, patient)[-1]
    pain = [m for m in measurements.list_measurements(chair, patient) if m.instrument == "nrs_pain"][-1]
    physio = actor_for("rbrightwater")  # the pain score is PT's to correct
    measurements.update_measurement(physio, pain.id, pain.version, responses=[9])
    again = checkins.get_checkin(chair, checkin.id)
    assert again.snapshot == checkin.snapshot
    stored = next(m for m in again.snapshot["measures"] if m["instrument"] == "nrs_pain")
    assert stored["latest"] == pain.total != 9
    assert patients.get_patient(chair, patient).next_checkin == dt.date(2027, 1, 15)


def test_a_next_checkin_on_or_before_the_meeting_is_refused(chair, meeting):
    patient = meeting.items[0].patient
    with pytest.raises(ValidationError) as err:
        meetings.mark_reviewed(chair, meeting.id, patient, next_checkin=TODAY)
    assert err.value.field == "next_checkin"
    assert not meetings.get_meeting(chair, meeting.id).item_for(patient).reviewed


def test_the_agenda_can_be_reordered_added_to_and_shortened(chair, meeting):
    ids = [i.patient for i in meeting.items]
    extra = next(p for p in patients.list_patients(chair, PatientQuery(status="active")).rows if p.id not in ids)
    changed = meetings.set_agenda(chair, meeting.id, meeting.version, [ids[2], extra.id, ids[0], ids[1]])
    assert [i.patient for i in changed.items] == [ids[2], extra.id, ids[0], ids[1]]
    added = changed.item_for(extra.id)
    assert added.agenda_group in ("safety", "deterioration", "overdue", "due", "added") and added.reason
    with pytest.raises(Conflict):  # someone else changed the agenda meanwhile
        meetings.set_agenda(chair, meeting.id, meeting.version, ids)
    meetings.mark_reviewed(chair, meeting.id, ids[0])
    current = meetings.get_meeting(chair, meeting.id)
    with pytest.raises(ValidationError, match="already reviewed"):
        meetings.set_agenda(chair, meeting.id, current.version, [ids[1]])
    assert len(meetings.get_meeting(chair, meeting.id).items) == 4


def test_ending_saves_minutes_that_later_edits_do_not_rewrite(chair, meeting, team):
    first, second = meeting.items[0].patient, meeting.items[1].patient
    meetings.add_decision(chair, meeting.id, first, "Increase walking to 30 minutes")
    action = meetings.add_action_item(
        chair, meeting.id, first, text="Send activity diary", owner=team[0].id, due_on="2026-12-11"
    )
    meetings.mark_reviewed(chair, meeting.id, first)
    current = meetings.get_meeting(chair, meeting.id)

    minutes = meetings.end_meeting(chair, meeting.id, current.version)

    assert minutes.final and minutes.ended_at is not None
    assert [a.name for a in minutes.attendees] == [a.name for a in meeting.attendees]
    assert [p.patient_id for p in minutes.reviewed] == [first]
    assert second in [p.patient_id for p in minutes.not_reviewed]
    reviewed = minutes.reviewed[0]
    assert reviewed.decisions == ("Increase walking to 30 minutes",)
    assert reviewed.actions[0].text == "Send activity diary" and reviewed.actions[0].owner_name == team[0].full_name
    assert reviewed.next_checkin == TODAY + dt.timedelta(days=42)
    ACTION_ITEMS.update(chair, action.id, action.version + 1, text="Changed afterwards")
    assert meetings.minutes(chair, meeting.id) == minutes
    listed = meetings.list_meetings(chair)
    assert [(m.id, m.open, m.patients, m.reviewed) for m in listed] == [(meeting.id, False, 4, 1)]
    assert meetings.list_meetings(chair, open_only=True) == []
    with pytest.raises(Conflict):
        meetings.end_meeting(chair, meeting.id, current.version + 1)
    actions = [e.action for e in audit.events(action_prefix="meeting.")]
    assert actions[:2] == ["meeting.end", "meeting.reviewed"]
    meetings.record_minutes_export(chair, meeting.id, fmt="pdf", privacy=True)
    event = audit.events(action_prefix="meeting.minutes")[0]
    assert event.details == {"format": "pdf", "privacy": True} and event.entity_id == meeting.id


def test_minutes_of_a_running_meeting_are_the_state_so_far(chair, meeting):
    meetings.add_decision(chair, meeting.id, meeting.items[1].patient, "Discuss with employer")
    live = meetings.minutes(chair, meeting.id)
    assert not live.final and live.decision_count == 1 and live.reviewed == ()
    assert meetings.Minutes.from_json(live.to_json()) == live


# --- my action items ------------------------------------------------------------------------


def test_my_action_items_put_overdue_ones_first_and_leave_closed_ones_out(chair, meeting, team):
    me = chair.user_id
    patient = meeting.items[0].patient
    meetings.add_action_item(chair, meeting.id, patient, text="Later", owner=me, due_on="2027-01-20")
    soon = meetings.add_action_item(chair, meeting.id, patient, text="Soon", owner=me, due_on="2026-12-01")
    meetings.add_action_item(chair, meeting.id, patient, text="Whenever", owner=me)
    meetings.add_action_item(chair, meeting.id, patient, text="Not mine", owner=team[1].id)
    items = worklist.action_items_for(chair, today=TODAY)
    assert [w.action.text for w in items] == ["Soon", "Later", "Whenever"]
    assert not any(w.overdue for w in items)
    # A week later the first is overdue and still first; done ones drop off.
    later = worklist.action_items_for(chair, today=dt.date(2026, 12, 5))
    assert [(w.action.text, w.overdue) for w in later][:2] == [("Soon", True), ("Later", False)]
    ACTION_ITEMS.update(chair, soon.id, soon.version, status="done")
    assert [w.action.text for w in worklist.action_items_for(chair, today=TODAY)] == ["Later", "Whenever"]
    everything = worklist.action_items_for(chair, include_closed=True, today=TODAY)
    assert "Soon" in [w.action.text for w in everything]
    assert items[0].clinic_id == meeting.items[0].clinic_id
    assert worklist.action_items_for(SYSTEM) == []


def test_demo_action_items_past_their_date_are_overdue(clinic):
    owner = staff.list_staff(SYSTEM)
    found = [w for m in owner for w in worklist.action_items_for(SYSTEM, m.id, today=TODAY)]
    assert found and any(w.overdue for w in found)
    assert all(w.overdue == (w.action.due_on is not None and w.action.due_on < TODAY) for w in found)
