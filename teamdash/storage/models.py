"""Peewee models: the tables of a TeamDash clinic.

Only services (``teamdash.<concept>``) touch these; the UI gets frozen result objects.
Editable rows carry ``version``: an update states the version it read and fails with
``Conflict`` when another workstation got there first.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any, ClassVar

import peewee as pw

from teamdash import clock
from teamdash.storage.db import database


class EncodedJSON(str):
    """JSON text already encoded (bulk loads encode a repeated value once)."""


# sqlite3 binds an exact str directly but first tries its adaptation protocols on a
# subclass, which fail slowly: registered, it is bound as the text it is (a bulk load
# binds two per row).
sqlite3.register_adapter(EncodedJSON, str.__str__)


_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)  # one, reused: bulk loads encode a lot
# The encoder's C core made once: ``JSONEncoder.encode`` builds it again on every call,
# which costs more than encoding a measurement's few values (a bulk load encodes
# hundreds of thousands). Same options, same text; the pure-Python path where the C
# accelerator is missing.
_C_ENCODE = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]  # the stdlib's accelerator, not in the stubs
        None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
    if getattr(json.encoder, "c_make_encoder", None) is not None
    else None
)


def encode_json(value: Any) -> EncodedJSON:
    if _C_ENCODE is not None:
        return EncodedJSON("".join(_C_ENCODE(value, 0)))
    return EncodedJSON(_ENCODER.encode(value))


class JSONText(pw.TextField):
    """JSON stored as text: the same on SQLite and PostgreSQL, readable in any tool."""

    def db_value(self, value: Any) -> str | None:
        if value is None or isinstance(value, EncodedJSON):
            return value
        return encode_json(value)

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


def _now() -> dt.datetime:
    return clock.now()


class BaseModel(pw.Model):
    # Set on every model class by peewee's metaclass; its stubs leave it out.
    _schema: ClassVar[pw.SchemaManager]

    class Meta:
        database = database
        legacy_table_names = False


class VersionedModel(BaseModel):
    """A row the team edits: ``version`` counts its edits, and an update states the
        version it read (``services.row_ops``). Each subclass declares the column itself, as
        its last (peewee orders columns by declaration: one here would come first), and its
    ``id`` first."""

    id: pw.AutoField[int]
    version: pw.IntegerField[int]


class SchemaVersion(BaseModel):
    """One row per applied schema version (the highest is the current schema)."""

    version = pw.IntegerField(primary_key=True)
    applied_at = pw.DateTimeField(default=_now)
    description = pw.TextField()


class Discipline(BaseModel):
    code = pw.CharField(primary_key=True, max_length=32)
    name = pw.CharField()
    sort_order = pw.IntegerField(default=0)


class User(VersionedModel):
    """A member of staff (administrator, case manager, clinician, read-only) and their
    sign-in: an argon2 password hash, failed attempts and the lockout they cause."""

    id = pw.AutoField()  # peewee's default, spelled out for the type checker
    username = pw.CharField(unique=True, max_length=64)
    full_name = pw.CharField()
    discipline = pw.ForeignKeyField(Discipline, null=True, on_delete="SET NULL")
    role = pw.CharField(max_length=32, default="clinician")
    is_case_manager = pw.BooleanField(default=False)
    active = pw.BooleanField(default=True)
    password_hash = pw.TextField(null=True)  # argon2id; None: the account cannot sign in yet
    created_at = pw.DateTimeField(default=_now)
    failed_sign_ins = pw.IntegerField(default=0)  # consecutive, since the last success
    locked_until = pw.DateTimeField(null=True)
    password_changed_at = pw.DateTimeField(null=True)
    must_change_password = pw.BooleanField(default=False)  # after an administrator's reset
    last_sign_in_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)


class Patient(VersionedModel):
    id = pw.AutoField()  # implicit otherwise; declared so type checkers see it
    clinic_id = pw.CharField(unique=True, max_length=32)
    given_name = pw.CharField()
    family_name = pw.CharField(index=True)
    date_of_birth = pw.DateField()
    sex = pw.CharField(max_length=16, default="unknown")
    referral_date = pw.DateField()
    programme_start = pw.DateField(null=True)
    # Baseline anchor: the first measurement on or after this date is the baseline.
    episode_start = pw.DateField()
    status = pw.CharField(max_length=16, default="active", index=True)
    status_changed_on = pw.DateField(null=True)
    case_manager = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", index=True)
    next_checkin = pw.DateField(null=True, index=True)
    research_consent = pw.BooleanField(default=False)
    flagged_for_review = pw.BooleanField(default=False)
    flag_note = pw.TextField(null=True)
    # Names and clinic ID folded for search (teamdash.text.fold), kept current by the services.
    search_key = pw.CharField(null=True, index=True)
    created_at = pw.DateTimeField(default=_now)
    updated_at = pw.DateTimeField(default=_now)
    version = pw.IntegerField(default=1)


# Registration looks for likely duplicates by name (whatever the case) and birth date.
Patient.add_index(Patient.index(pw.fn.LOWER(Patient.family_name), name="patient_family_name_lower"))
Patient.add_index(Patient.index(pw.fn.LOWER(Patient.given_name), name="patient_given_name_lower"))
Patient.add_index(Patient.index(Patient.date_of_birth, name="patient_date_of_birth"))


class Episode(BaseModel):
    """An earlier episode of care, closed when the patient was readmitted. The current
    episode is the one the patient row describes (referral, programme start, baseline
    anchor, status); each readmission copies it here first, so earlier episodes stay on
    the record, on the timelines and in the summaries."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="episodes", on_delete="CASCADE")
    number = pw.IntegerField()  # 1 for the first episode
    referral_date = pw.DateField()
    started_on = pw.DateField()  # that episode's baseline anchor (the patient's episode_start then)
    programme_start = pw.DateField(null=True)
    ended_on = pw.DateField()
    outcome = pw.CharField(max_length=16)  # discharged | dropped_out
    reason = pw.CharField(max_length=32, null=True)
    note = pw.TextField(null=True)
    case_manager = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=_now)

    class Meta:
        indexes = ((("patient", "number"), True),)


class StatusChange(BaseModel):
    """One change of a patient's status: registered, on hold, resumed, discharged,
    dropped out, readmitted. ``written`` holds the patient columns the change set and
    ``previous`` what they held before: undo puts ``previous`` back while the columns
    still hold ``written``. ``version_after`` is the patient's version it left behind."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="status_changes", on_delete="CASCADE")
    episode = pw.IntegerField()  # the episode number the change belongs to
    event = pw.CharField(max_length=16)
    status = pw.CharField(max_length=16)  # the patient's status from this change on
    effective_on = pw.DateField()
    reason = pw.CharField(max_length=32, null=True)
    note = pw.TextField(null=True)
    previous = JSONText(null=True)
    written = JSONText(null=True)
    version_after = pw.IntegerField(null=True)
    recorded_by = pw.IntegerField(null=True)  # a plain id: the history outlives staff rows
    recorded_by_name = pw.CharField()
    recorded_at = pw.DateTimeField(default=_now)

    class Meta:
        indexes = ((("patient", "effective_on"), False),)


class ClinicSetting(BaseModel):
    """A clinic-wide setting shared by every workstation, as JSON (the clinic ID pattern,
    auto-lock minutes, backup folder and rotation): ``services.clinic_settings``."""

    key = pw.CharField(primary_key=True, max_length=64)
    value = JSONText()
    updated_at = pw.DateTimeField(default=_now)
    updated_by_name = pw.CharField(null=True)

    class Meta:
        table_name = "clinic_setting"


class Measurement(VersionedModel):
    """One administration of an instrument: the item responses and their score."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="measurements", on_delete="CASCADE")
    instrument = pw.CharField(max_length=32)
    taken_at = pw.DateTimeField()
    responses = JSONText()
    total = pw.FloatField(null=True)
    band = pw.CharField(null=True)
    band_severity = pw.IntegerField(null=True)
    details = JSONText(null=True)  # subscales, components, derived values, missing items
    # Patient-named items (PSFS activities): one name per item, None where unnamed; NULL
    # for instruments whose items are not named by the patient.
    item_names = JSONText(null=True)
    safety = pw.BooleanField(default=False)  # a safety item was positive (PHQ-9 item 9)
    entered_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    entered_at = pw.DateTimeField(default=_now)
    note = pw.TextField(null=True)
    source = pw.CharField(max_length=16, default="entry")  # entry | import | demo
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("patient", "instrument", "taken_at"), True),)


class SafetyAcknowledgement(BaseModel):
    """A clinician has seen a positive safety item and recorded what was done."""

    id = pw.AutoField()
    measurement = pw.ForeignKeyField(Measurement, unique=True, on_delete="CASCADE")
    acknowledged_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    acknowledged_by_name = pw.CharField()
    acknowledged_at = pw.DateTimeField(default=_now)
    action_taken = pw.TextField()


class Session(VersionedModel):
    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="sessions", on_delete="CASCADE")
    discipline = pw.ForeignKeyField(Discipline)
    held_at = pw.DateTimeField()
    clinician = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    kind = pw.CharField()
    minutes = pw.IntegerField(default=0)
    attendance = pw.CharField(max_length=16, default="attended")  # attended | cancelled | no_show
    note = pw.TextField(null=True)
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("patient", "held_at"), False),)


class Goal(VersionedModel):
    """A SMART goal, optionally tied to a measure whose value drives its progress."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="goals", on_delete="CASCADE")
    discipline = pw.ForeignKeyField(Discipline)
    text = pw.TextField()
    instrument = pw.CharField(max_length=32, null=True)
    baseline_value = pw.FloatField(null=True)
    target_value = pw.FloatField(null=True)
    set_on = pw.DateField()
    due_on = pw.DateField(null=True)
    status = pw.CharField(max_length=16, default="active")
    progress = pw.IntegerField(null=True)  # 0–100, set by hand when no measure is linked
    version = pw.IntegerField(default=1)


class GradedActivityPlan(VersionedModel):
    """PT graded activity / graded exposure: one activity built up week by week."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="graded_plans", on_delete="CASCADE")
    activity = pw.CharField()
    unit = pw.CharField(default="minutes")
    baseline_tolerance = pw.FloatField()
    current_level = pw.FloatField()
    target_level = pw.FloatField()
    weekly_increment = pw.FloatField()
    started_on = pw.DateField()
    status = pw.CharField(max_length=16, default="active")
    version = pw.IntegerField(default=1)


class GradedActivityWeek(VersionedModel):
    id = pw.AutoField()
    plan = pw.ForeignKeyField(GradedActivityPlan, backref="weeks", on_delete="CASCADE")
    week_start = pw.DateField()
    planned_level = pw.FloatField()
    achieved_level = pw.FloatField(null=True)
    adherence_pct = pw.IntegerField(null=True)  # home exercise adherence, % of prescribed
    note = pw.TextField(null=True)
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("plan", "week_start"), True),)


class Course(VersionedModel):
    """A psychology course (CBT, mindfulness, pain education) and its progress."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="courses", on_delete="CASCADE")
    kind = pw.CharField()
    modules_total = pw.IntegerField()
    modules_done = pw.IntegerField(default=0)
    started_on = pw.DateField()
    status = pw.CharField(max_length=16, default="active")
    version = pw.IntegerField(default=1)


class PracticeWeek(VersionedModel):
    id = pw.AutoField()
    course = pw.ForeignKeyField(Course, backref="practice", on_delete="CASCADE")
    week_start = pw.DateField()
    minutes = pw.IntegerField()
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("course", "week_start"), True),)


class SleepDiaryNight(VersionedModel):
    """One night of the Consensus Sleep Diary; the computed values are stored for lists."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="sleep_nights", on_delete="CASCADE")
    night_of = pw.DateField()
    bed_time = pw.CharField(max_length=5)
    lights_out = pw.CharField(max_length=5)
    sol_minutes = pw.IntegerField()
    awakenings = pw.IntegerField()
    waso_minutes = pw.IntegerField()
    final_wake = pw.CharField(max_length=5)
    out_of_bed = pw.CharField(max_length=5)
    quality = pw.IntegerField(null=True)  # 1 very poor … 5 very good
    tib_minutes = pw.FloatField(null=True)
    tst_minutes = pw.FloatField(null=True)
    efficiency = pw.FloatField(null=True)
    note = pw.TextField(null=True)
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("patient", "night_of"), True),)


class PlanItem(VersionedModel):
    """A structured plan entry of a discipline (nutrition, sleep hygiene, social work)."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="plan_items", on_delete="CASCADE")
    discipline = pw.ForeignKeyField(Discipline)
    category = pw.CharField(max_length=32)
    text = pw.TextField()
    status = pw.CharField(max_length=16, default="planned")
    adherence_pct = pw.IntegerField(null=True)
    started_on = pw.DateField()
    updated_on = pw.DateField()
    note = pw.TextField(null=True)
    version = pw.IntegerField(default=1)


class SupportContact(VersionedModel):
    """Someone in the patient's support network."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="contacts", on_delete="CASCADE")
    name = pw.CharField()
    relationship = pw.CharField()
    involved_in_goals = pw.BooleanField(default=False)
    contact = pw.CharField(null=True)
    note = pw.TextField(null=True)
    # The patient chose to have this person named on their progress handout (schema v7).
    on_handout = pw.BooleanField(default=False)
    version = pw.IntegerField(default=1)


class RtwPhase(VersionedModel):
    """One phase of the return-to-work plan; the latest by start date is current."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="rtw_phases", on_delete="CASCADE")
    phase = pw.IntegerField()
    started_on = pw.DateField()
    hours_per_week = pw.FloatField(null=True)
    modified_duties = pw.TextField(null=True)
    employer_contact = pw.CharField(null=True)
    note = pw.TextField(null=True)
    version = pw.IntegerField(default=1)


class Flare(VersionedModel):
    """A flare-up or setback: the programme teaches managing them, the team reviews them."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="flares", on_delete="CASCADE")
    started_on = pw.DateField()
    severity = pw.IntegerField()  # 0–10
    suspected_trigger = pw.TextField(null=True)
    what_helped = pw.TextField(null=True)
    days_to_recover = pw.IntegerField(null=True)
    note = pw.TextField(null=True)
    version = pw.IntegerField(default=1)


class CheckIn(VersionedModel):
    """A team check-in. ``snapshot`` is the summary as signed off: later edits to
    scores never rewrite it."""

    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="checkins", on_delete="CASCADE")
    held_on = pw.DateField()
    attendees = JSONText(default=list)  # [{"user_id": 3, "name": "…"}]
    narrative = pw.TextField(null=True)
    # Schema v7: what the team agreed for the next period, the first day the summary
    # covered, and the next check-in date set at this one.
    plan = pw.TextField(null=True)
    period_start = pw.DateField(null=True)
    next_checkin = pw.DateField(null=True)
    snapshot = JSONText(null=True)
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=_now)
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("patient", "held_on"), False),)


class Meeting(VersionedModel):
    """A team meeting: who attended and, once it has ended, its minutes as saved then
    (attendees, patients reviewed, decisions, action items), frozen like a check-in."""

    id = pw.AutoField()
    started_at = pw.DateTimeField(default=_now, index=True)
    ended_at = pw.DateTimeField(null=True)
    started_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    attendees = JSONText(default=list)  # [{"user_id": 3, "name": "…", "discipline": "pt"}]
    minutes = JSONText(null=True)
    version = pw.IntegerField(default=1)


class MeetingItem(VersionedModel):
    """One patient on a meeting's agenda, in agenda order; ``checkin`` once reviewed."""

    id = pw.AutoField()
    meeting = pw.ForeignKeyField(Meeting, backref="items", on_delete="CASCADE")
    patient = pw.ForeignKeyField(Patient, backref="meeting_items", on_delete="CASCADE")
    position = pw.IntegerField()
    agenda_group = pw.CharField(max_length=16)  # safety | deterioration | overdue | due | added
    reason = pw.TextField(null=True)  # why the patient is on the agenda
    checkin = pw.ForeignKeyField(CheckIn, null=True, on_delete="SET NULL")
    reviewed_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("meeting", "patient"), True),)


class Decision(VersionedModel):
    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="decisions", on_delete="CASCADE")
    checkin = pw.ForeignKeyField(CheckIn, null=True, backref="decisions", on_delete="SET NULL")
    meeting = pw.ForeignKeyField(Meeting, null=True, backref="decisions", on_delete="SET NULL")
    text = pw.TextField()
    made_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    made_at = pw.DateTimeField(default=_now)
    version = pw.IntegerField(default=1)


class ActionItem(VersionedModel):
    id = pw.AutoField()
    patient = pw.ForeignKeyField(Patient, backref="actions", on_delete="CASCADE")
    checkin = pw.ForeignKeyField(CheckIn, null=True, backref="actions", on_delete="SET NULL")
    meeting = pw.ForeignKeyField(Meeting, null=True, backref="actions", on_delete="SET NULL")
    discipline = pw.ForeignKeyField(Discipline, null=True, on_delete="SET NULL")
    text = pw.TextField()
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", index=True)
    due_on = pw.DateField(null=True)
    status = pw.CharField(max_length=16, default="open")
    created_at = pw.DateTimeField(default=_now)
    completed_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)


class AuditEvent(BaseModel):
    """Who did what to which record, with the row before and after, where and when.
    Patient and actor are plain ids so the trail outlives deleted rows. Events are
    hash-chained (``teamdash.storage.audit_chain``): ``prev_digest`` is the previous
    event's ``digest``, ``digest`` covers this event's content and that link.
    ``is_change`` tells writes (which other workstations refresh for) from views,
    sign-ins and exports."""

    id = pw.AutoField()
    at = pw.DateTimeField(default=_now, index=True)
    actor_id = pw.IntegerField(null=True, index=True)
    actor_name = pw.CharField()
    action = pw.CharField(max_length=64)
    patient_id = pw.IntegerField(null=True, index=True)
    entity = pw.CharField(max_length=32, null=True)
    entity_id = pw.IntegerField(null=True)
    before = JSONText(null=True)
    after = JSONText(null=True)
    details = JSONText(null=True)
    workstation = pw.CharField(max_length=255, null=True)
    is_change = pw.BooleanField(default=True, index=True)
    prev_digest = pw.CharField(max_length=64, null=True)
    digest = pw.CharField(max_length=64, null=True)


class PatientSummary(BaseModel):
    """Per-patient figures the list shows and sorts on, kept current by the services
    in the same transaction as the write that changes them (so a 100k-patient list
    sorts on latest pain without scanning every measurement)."""

    patient = pw.ForeignKeyField(Patient, primary_key=True, backref="summary", on_delete="CASCADE")
    pain_latest = pw.FloatField(null=True)
    pain_change = pw.FloatField(null=True)
    pain_verdict = pw.CharField(max_length=16, null=True)
    disability_instrument = pw.CharField(max_length=32, null=True)
    disability_latest = pw.FloatField(null=True)
    disability_band = pw.CharField(null=True)
    disability_change = pw.FloatField(null=True)
    disability_verdict = pw.CharField(max_length=16, null=True)
    last_measured_at = pw.DateTimeField(null=True)
    # The earliest day after which one of the patient's measures counts as overdue.
    measure_overdue_after = pw.DateField(null=True, index=True)
    measure_overdue_instrument = pw.CharField(max_length=32, null=True)
    disability_norm = pw.FloatField(null=True)  # latest disability as % of its range, to sort ODI and RMDQ together
    safety_open = pw.IntegerField(default=0)
    deterioration = pw.IntegerField(default=0)
    missed_streak = pw.IntegerField(default=0)
    goal_due_min = pw.DateField(null=True)
    last_session_on = pw.DateField(null=True)
    rtw_phase = pw.IntegerField(null=True)
    flag_reasons = JSONText(default=list)  # date-independent flags with their reason text
    refreshed_at = pw.DateTimeField(default=_now)


class DeidentificationKey(BaseModel):
    """The per-database secret behind the pseudonymous codes of de-identified exports
    (one row, created on first use)."""

    id = pw.IntegerField(primary_key=True)
    key = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=_now)

    class Meta:
        table_name = "deidentification_key"


ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaVersion,
    Discipline,
    User,
    Patient,
    Episode,
    StatusChange,
    ClinicSetting,
    Measurement,
    SafetyAcknowledgement,
    Session,
    Goal,
    GradedActivityPlan,
    GradedActivityWeek,
    Course,
    PracticeWeek,
    SleepDiaryNight,
    PlanItem,
    SupportContact,
    RtwPhase,
    Flare,
    CheckIn,
    Meeting,
    MeetingItem,
    Decision,
    ActionItem,
    AuditEvent,
    PatientSummary,
    DeidentificationKey,
)
