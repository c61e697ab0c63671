"""Patients: registration, demographics, status, and the patient list query.

The list is one SQL query per page (search, filters, sort, paging) over the patient
table joined to its maintained summary row; no Python loop ever walks all patients.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import peewee as pw

from teamdash import clock, validation
from teamdash.clinical import disciplines
from teamdash.clinical.analytics import Flag
from teamdash.errors import Conflict, DuplicateValue, EditConflict, NotFound, ValidationError
from teamdash.services import audit, auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import age_on, build, weeks_between
from teamdash.storage import bulk, search_index
from teamdash.storage.db import database
from teamdash.storage.models import Episode, Patient, PatientSummary, StatusChange, User
from teamdash.storage.queries import Query, dicts, tuples
from teamdash.text import Named, fold, patient_search_key

SORT_KEYS = (
    "clinic_id",
    "name",
    "age",
    "case_manager",
    "weeks",
    "status",
    "next_checkin",
    "pain",
    "disability",
    "flags",
)
MAX_PAGE = 1000
# Longer than any name and clinic ID together; beyond this a search is not a name.
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 8
CaseManager = User.alias("case_manager_user")
ENDED_STATUSES = frozenset({"discharged", "dropped_out"})


@dataclass(frozen=True)
class PatientQuery:
    search: str = ""
    status: str | None = None  # None: every status
    case_manager_id: int | None = None
    flagged: bool = False
    due_for_checkin: bool = False
    sort: str = "name"
    descending: bool = False
    offset: int = 0
    limit: int = 200
    today: dt.date | None = None

    def page(self, offset: int) -> PatientQuery:
        return replace(self, offset=offset)


@dataclass(frozen=True)
class PatientRow(Named):
    """One line of the patient list."""

    id: int
    clinic_id: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    age: int | None
    sex: str
    status: str
    case_manager_id: int | None
    case_manager: str | None
    programme_start: dt.date | None
    weeks_in_programme: int | None
    next_checkin: dt.date | None
    checkin_overdue: bool
    pain_latest: float | None
    pain_change: float | None
    pain_verdict: str | None
    disability_instrument: str | None
    disability_latest: float | None
    disability_band: str | None
    disability_change: float | None
    disability_verdict: str | None
    rtw_phase: int | None
    flags: tuple[Flag, ...] = ()

    @property
    def rtw_phase_label(self) -> str | None:
        return disciplines.rtw_phase_label(self.rtw_phase)

    @property
    def has_safety_flag(self) -> bool:
        return any(f.kind == "safety" for f in self.flags)


@dataclass(frozen=True)
class PatientPage:
    rows: tuple[PatientRow, ...]
    offset: int
    has_more: bool


@dataclass(frozen=True)
class PatientDetail(Named):
    id: int
    clinic_id: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    referral_date: dt.date
    programme_start: dt.date | None
    episode_start: dt.date
    status: str
    status_changed_on: dt.date | None
    case_manager: int | None
    case_manager_name: str | None
    next_checkin: dt.date | None
    research_consent: bool
    flagged_for_review: bool
    flag_note: str | None
    version: int
    age: int | None = None
    weeks_in_programme: int | None = None
    episode_number: int = 1  # 2 after the first readmission, …
    status_reason: str | None = None  # why the current status (discharge / drop-out reason), if recorded
    status_note: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        """Discharged or dropped out: the episode is over (readmission opens a new one)."""
        return self.status in ENDED_STATUSES


# --- reading ---------------------------------------------------------------------------


def _today(query_today: dt.date | None) -> dt.date:
    return query_today or clock.today()


def search_words(search: str) -> list[str]:
    """The folded words of a search, each of which must match; a search too long to be a
    name is refused (it would only cost a huge query)."""
    if len(search) > MAX_SEARCH_CHARS:
        raise ValidationError(
            f"search is {len(search):,} characters long; search for a name or clinic ID "
            f"of at most {MAX_SEARCH_CHARS} characters",
            field="search",
        )
    words = fold(search).split()
    if len(words) > MAX_SEARCH_WORDS:
        raise ValidationError(
            f"search has {len(words)} words; use at most {MAX_SEARCH_WORDS} (every word must match)", field="search"
        )
    return words


def _search_condition(search: str) -> pw.ColumnBase | None:
    """Every folded word must occur in the patient's folded names or clinic ID. The
    trigram index answers the words it can (storage.search_index); the rest are matched
    by a scan of the key."""
    condition, rest = search_index.matching_ids(database, Patient.id, search_words(search))
    for word in rest:
        term = Patient.search_key.contains(word)  # LIKE '%word%' with %, _ and \ escaped
        condition = term if condition is None else condition & term
    return condition


def _flag_rank(today: dt.date) -> pw.ColumnBase:
    """0 safety, 1 deterioration, 2 any other flag, 3 none: the agenda order."""
    s = PatientSummary
    active = Patient.status == disciplines.ACTIVE_STATUS
    other = (
        (s.missed_streak >= list_summary.MISSED_STREAK_FLAG)
        | Patient.flagged_for_review
        | (active & (s.measure_overdue_after < today))
        | (active & (s.goal_due_min < today))
        | (active & (Patient.next_checkin < today))
    )
    return pw.Case(
        None,
        (
            (pw.fn.COALESCE(s.safety_open, 0) > 0, 0),
            (pw.fn.COALESCE(s.deterioration, 0) > 0, 1),
            (other, 2),
        ),
        3,
    )


def _sort_columns(query: PatientQuery, today: dt.date) -> list[pw.Node]:
    desc = query.descending
    s = PatientSummary

    def order(node: pw.ColumnBase, reverse: bool = False) -> pw.Node:
        return node.desc(nulls="LAST") if desc != reverse else node.asc(nulls="LAST")

    by = {
        "clinic_id": [order(Patient.clinic_id)],
        "name": [order(pw.fn.LOWER(Patient.family_name)), order(pw.fn.LOWER(Patient.given_name))],
        "age": [order(Patient.date_of_birth, reverse=True)],
        "case_manager": [order(CaseManager.full_name)],
        "weeks": [order(Patient.programme_start, reverse=True)],
        "status": [order(Patient.status)],
        "next_checkin": [order(Patient.next_checkin)],
        "pain": [order(s.pain_latest)],
        "disability": [order(s.disability_norm)],
        "flags": [order(_flag_rank(today))],
    }
    if query.sort not in by:
        raise ValidationError(f"cannot sort by {query.sort!r}; choose one of {', '.join(SORT_KEYS)}", field="sort")
    tiebreak = [Patient.family_name.asc(), Patient.id.asc()] if query.sort != "name" else [Patient.id.asc()]
    return by[query.sort] + tiebreak


def _filtered(query: PatientQuery, today: dt.date, columns: list[pw.Node]) -> Query:
    select = (
        Patient.select(*columns)
        .join(CaseManager, pw.JOIN.LEFT_OUTER, on=(Patient.case_manager == CaseManager.id))
        .switch(Patient)
        .join(PatientSummary, pw.JOIN.LEFT_OUTER, on=(PatientSummary.patient == Patient.id))
    )
    conditions: list[pw.ColumnBase | None] = []
    if query.search.strip():
        conditions.append(_search_condition(query.search))
    if query.status:
        conditions.append(Patient.status == validation.choice(query.status, "status", disciplines.patient_statuses()))
    if query.case_manager_id is not None:
        conditions.append(Patient.case_manager == query.case_manager_id)
    if query.flagged:
        conditions.append(_flag_rank(today) < 3)
    if query.due_for_checkin:
        conditions.append(
            (Patient.status == disciplines.ACTIVE_STATUS)
            & ((Patient.next_checkin <= today) | Patient.flagged_for_review)
        )
    for condition in conditions:
        select = select.where(condition)
    return select


LIST_COLUMNS = (
    Patient.id,
    Patient.clinic_id,
    Patient.given_name,
    Patient.family_name,
    Patient.date_of_birth,
    Patient.sex,
    Patient.status,
    Patient.status_changed_on,
    Patient.case_manager.alias("case_manager_id"),
    CaseManager.full_name.alias("case_manager"),
    Patient.programme_start,
    Patient.next_checkin,
    Patient.flagged_for_review,
    Patient.flag_note,
    *list_summary.SUMMARY_LIST_COLUMNS,
)


def list_patients(actor: Actor, query: PatientQuery = PatientQuery()) -> PatientPage:
    """One page of the patient list: search, filters and sort run in SQL."""
    auth.require(actor, "read")
    if not 1 <= query.limit <= MAX_PAGE:
        raise ValidationError(f"page size must be 1–{MAX_PAGE}", field="limit")
    if query.offset < 0:
        raise ValidationError("offset cannot be negative", field="offset")
    today = _today(query.today)
    select = (
        _filtered(query, today, list(LIST_COLUMNS))
        .order_by(*_sort_columns(query, today))
        .offset(query.offset)
        .limit(query.limit + 1)  # one extra row tells whether another page exists
    )
    rows = list(dicts(select))
    has_more = len(rows) > query.limit
    return PatientPage(tuple(list_row(d, today) for d in rows[: query.limit]), query.offset, has_more)


def rows_where(actor: Actor, condition: pw.Expression, *, today: dt.date | None = None) -> list[PatientRow]:
    """List rows of the patients matching ``condition`` (over ``Patient`` and
    ``PatientSummary`` columns), for other services' lists such as the meeting agenda."""
    auth.require(actor, "read")
    today = _today(today)
    select = _filtered(PatientQuery(), today, list(LIST_COLUMNS)).where(condition).order_by(Patient.id)
    return [list_row(d, today) for d in dicts(select)]


def count_patients(actor: Actor, query: PatientQuery = PatientQuery()) -> int:
    auth.require(actor, "read")
    return _filtered(query, _today(query.today), [Patient.id]).count()


def _ages(d: dict, today: dt.date) -> dict:
    """Age today, and weeks in the programme (until today, or until the patient left)."""
    end = d["status_changed_on"] if d["status"] != disciplines.ACTIVE_STATUS and d["status_changed_on"] else today
    return {"age": age_on(d["date_of_birth"], today), "weeks_in_programme": weeks_between(d["programme_start"], end)}


def list_row(d: dict, today: dt.date) -> PatientRow:
    """A list row from a select of ``LIST_COLUMNS`` (the agenda reads the same rows)."""
    active = d["status"] == disciplines.ACTIVE_STATUS
    return build(
        PatientRow,
        d,
        **_ages(d, today),
        checkin_overdue=bool(active and d["next_checkin"] and d["next_checkin"] < today),
        flags=tuple(list_summary.flags_from_row(d, today)),
    )


def get_patient(actor: Actor, patient_id: int, *, today: dt.date | None = None) -> PatientDetail:
    auth.require(actor, "read")
    row = (
        Patient.select(Patient, CaseManager.full_name.alias("case_manager_name"))
        .join(CaseManager, pw.JOIN.LEFT_OUTER, on=(Patient.case_manager == CaseManager.id))
        .where(Patient.id == patient_id)
        .dicts()
        .first()
    )
    if row is None:
        row_ops.get_row(Patient, patient_id, "patient")  # raises NotFound
    return _detail(row, _today(today), **_episode_facts(patient_id, row["status"]))


def find_by_clinic_id(actor: Actor, clinic_id: str) -> PatientDetail:
    auth.require(actor, "read")
    patient = Patient.get_or_none(Patient.clinic_id == clinic_id.strip())
    if patient is None:
        raise NotFound(f"no patient with clinic ID {clinic_id.strip()!r}")
    return get_patient(actor, patient.id)


def _detail(d: dict, today: dt.date, **extra) -> PatientDetail:
    return build(PatientDetail, d, **_ages(d, today), **extra)


# The patient screen reads these on every switch: compiled once (see row_ops.Prepared).
_EPISODES_BEFORE = row_ops.Prepared(
    lambda pid: Episode.select(pw.fn.COUNT(Episode.id).alias("earlier")).where(Episode.patient == pid)
)
_LAST_CHANGE = row_ops.Prepared(
    lambda pid: (
        StatusChange.select(StatusChange.episode, StatusChange.status, StatusChange.reason, StatusChange.note)
        .where(StatusChange.patient == pid)
        .order_by(StatusChange.id.desc())
        .limit(1)
    )
)


def _episode_facts(patient_id: int, status: str) -> dict:
    """The current episode's number, and the reason and note of the status it is in."""
    number = _EPISODES_BEFORE.dicts(patient_id)[0]["earlier"] + 1
    last = next(iter(_LAST_CHANGE.dicts(patient_id)), None)
    current = last is not None and last["episode"] == number and last["status"] == status
    return {
        "episode_number": number,
        "status_reason": last["reason"] if current and last else None,
        "status_note": last["note"] if current and last else None,
    }


# --- writing ---------------------------------------------------------------------------

EDITABLE = (
    "clinic_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "referral_date",
    "programme_start",
    "episode_start",
    "case_manager",
    "next_checkin",
    "research_consent",
    "flagged_for_review",
    "flag_note",
)


def _clean(values: dict, today: dt.date) -> dict:
    """Validate the given patient fields; each error names its field."""
    out: dict = {}
    if "clinic_id" in values:
        out["clinic_id"] = validation.text(values["clinic_id"], "clinic_id", max_length=32)
    for name in ("given_name", "family_name"):
        if name in values:
            out[name] = validation.text(values[name], name, max_length=100)
    if "date_of_birth" in values:
        out["date_of_birth"] = _not_future(
            validation.date(values["date_of_birth"], "date_of_birth"), "date_of_birth", today
        )
    if "sex" in values:
        out["sex"] = validation.choice(values["sex"] or "unknown", "sex", disciplines.vocabulary("sex"))
    if "referral_date" in values:
        out["referral_date"] = _not_future(
            validation.date(values["referral_date"], "referral_date"), "referral_date", today
        )
    for name in ("programme_start", "next_checkin"):
        if name in values:
            out[name] = validation.date(values[name], name, required=False)
    if "episode_start" in values:
        out["episode_start"] = validation.date(values["episode_start"], "episode_start")
    if "case_manager" in values:
        out["case_manager"] = case_manager_id(values["case_manager"])
    for name in ("research_consent", "flagged_for_review"):
        if name in values:
            out[name] = bool(values[name])
    if "flag_note" in values:
        out["flag_note"] = validation.note(values["flag_note"], "flag_note")
    if "status" in values:
        out["status"] = validation.choice(
            values["status"] or "active", "status", disciplines.vocabulary("patient_status")
        )
    if "status_changed_on" in values:
        out["status_changed_on"] = validation.date(
            values["status_changed_on"], "status_changed_on", required=False, not_after=today
        )
    return out


def _not_future(value: dt.date | None, field: str, today: dt.date) -> dt.date | None:
    if value is not None and value > today:
        raise ValidationError(
            f"{value.isoformat()} is after today ({today.isoformat()}): a date in the future", field=field
        )
    return value


def case_manager_id(value) -> int | None:
    """The id of an active case manager (None for 'not assigned'); else ``ValidationError``."""
    if value in (None, ""):
        return None
    user = User.get_or_none(User.id == value)
    if user is None or not user.active:
        raise ValidationError(f"no active staff member with id {value}", field="case_manager")
    if not user.is_case_manager:
        raise ValidationError(f"{user.full_name} is not a case manager", field="case_manager")
    return user.id


def _check_dates(values: dict) -> None:
    """Dates against each other: born, then referred, then starting the programme; a
    check-in is not booked before the referral."""
    dob, referral = values.get("date_of_birth"), values.get("referral_date")
    start, checkin = values.get("programme_start"), values.get("next_checkin")
    if dob and referral and referral < dob:
        raise ValidationError("is before the date of birth", field="referral_date")
    if referral and start and start < referral:
        raise ValidationError("is before the referral date", field="programme_start")
    if dob and start and start < dob:
        raise ValidationError("is before the date of birth", field="programme_start")
    if referral and checkin and checkin < referral:
        raise ValidationError("is before the referral date", field="next_checkin")


def create_patient(actor: Actor, *, today: dt.date | None = None, **values) -> PatientDetail:
    """Register a patient. Required: clinic_id, given_name, family_name, date_of_birth,
    referral_date. The episode (baseline anchor) starts at the referral date unless given."""
    auth.require(actor, "write_patient")
    today = _today(today)
    clean = validate_new(values, today=today)
    with database.atomic():
        _check_clinic_id_free(clean["clinic_id"])
        # Two workstations registering the same ID at once: the unique index lets one through.
        row = row_ops.create_audited(
            actor,
            Patient,
            {**clean, "status": disciplines.ACTIVE_STATUS},
            action="patient.create",
            duplicate=lambda: _clinic_id_taken(clean["clinic_id"]),
        )
        StatusChange.create(
            patient=row.id,
            episode=1,
            event="registered",
            status=disciplines.ACTIVE_STATUS,
            effective_on=clean["referral_date"],
            version_after=row.version,
            recorded_by=actor.user_id,
            recorded_by_name=actor.display_name,
        )
        list_summary.refresh(row.id)
    return get_patient(actor, row.id, today=today)


def _refresh_search_key(clean: dict, merged: dict) -> None:
    """A change of name or clinic ID changes what search matches."""
    if {"given_name", "family_name", "clinic_id"} & set(clean):
        clean["search_key"] = patient_search_key(merged["given_name"], merged["family_name"], merged["clinic_id"])


def _clinic_id_taken(clinic_id: str) -> DuplicateValue:
    return DuplicateValue(f"clinic ID {clinic_id!r} is already registered", field="clinic_id")


def _check_clinic_id_free(clinic_id: str, exclude_patient_id: int | None = None) -> None:
    query = Patient.select().where(Patient.clinic_id == clinic_id)
    if exclude_patient_id is not None:
        query = query.where(Patient.id != exclude_patient_id)
    if query.exists():
        raise _clinic_id_taken(clinic_id)


# A new patient's fields: the editable ones, and the status of a patient registered
# after the fact (an import of a clinic's earlier patients).
NEW_FIELDS = (*EDITABLE, "status", "status_changed_on")


def validate_new(values: dict, *, today: dt.date | None = None) -> dict:
    """``create_patient``'s checks on one new patient's fields, without writing (bulk
    import validates many rows, then inserts them in one go). Returns the clean column
    values, defaults filled in; raises ``ValidationError`` naming the field."""
    unknown = set(values) - set(NEW_FIELDS)
    if unknown:
        raise ValidationError(f"unknown patient field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    values = dict(values)
    for required in ("clinic_id", "given_name", "family_name", "date_of_birth", "referral_date"):
        values.setdefault(required, None)
    clean = _clean(values, _today(today))
    if clean.get("episode_start") is None:
        clean["episode_start"] = clean["referral_date"]
    _check_dates(clean)
    clean.setdefault("sex", "unknown")
    clean.setdefault("status", disciplines.ACTIVE_STATUS)
    clean.setdefault("research_consent", False)
    clean.setdefault("flagged_for_review", False)
    clean["search_key"] = patient_search_key(clean["given_name"], clean["family_name"], clean["clinic_id"])
    return clean


def registered(clinic_ids: Iterable[str]) -> dict[str, tuple[int, dt.date]]:
    """(id, date of birth) of the patients with these clinic IDs that are registered:
    what an import needs to attach rows to patients and date-check them."""
    out: dict[str, tuple[int, dt.date]] = {}
    ids = list(dict.fromkeys(clinic_ids))
    for start in range(0, len(ids), 500):
        query = Patient.select(Patient.clinic_id, Patient.id, Patient.date_of_birth)
        for clinic_id, pid, dob in tuples(query.where(Patient.clinic_id.in_(ids[start : start + 500]))):
            out[clinic_id] = (pid, dob)
    return out


def all_registered() -> dict[str, tuple[int, dt.date]]:
    """(id, date of birth) of every patient by clinic ID, in one query: an import that
    meets many patients asks once."""
    out = {}
    for clinic_id, pid, dob in database.execute(Patient.select(Patient.clinic_id, Patient.id, Patient.date_of_birth)):
        out[clinic_id] = (pid, dob if isinstance(dob, dt.date) else dt.date.fromisoformat(dob))
    return out


def all_clinic_ids() -> set[str]:
    """Every registered clinic ID (an import's duplicate check)."""
    return {cid for (cid,) in tuples(Patient.select(Patient.clinic_id))}


def create_many(
    actor: Actor, rows: Sequence[dict], *, action: str = "patient.import", details: dict | None = None
) -> dict[str, int]:
    """Register many patients at once (an import): each row as ``validate_new`` returns
    it. One bulk insert in one transaction, one audit event per patient, their list
    summaries refreshed. A clinic ID already registered raises ``Conflict`` and adds
    nobody. Returns the new ids by clinic ID."""
    auth.require(actor, "import")  # bulk paths serve imports (see auth: bulk writes)
    auth.require(actor, "write_patient")
    if not rows:
        return {}
    names = (*NEW_FIELDS, "search_key")
    fields = [getattr(Patient, n) for n in names]
    with database.atomic():
        clinic_ids = [r["clinic_id"] for r in rows]
        taken = registered(clinic_ids)
        if taken or len(set(clinic_ids)) != len(clinic_ids):
            twice = next(iter(taken), None) or next(c for c in clinic_ids if clinic_ids.count(c) > 1)
            raise Conflict(f"clinic ID {twice!r} is already registered")
        bulk.insert(Patient, fields, [tuple(r.get(n) for n in names) for r in rows])
        ids = {cid: pid for cid, (pid, _dob) in registered(clinic_ids).items()}
        audit.record_many(
            actor,
            action,
            [
                {
                    "patient_id": ids[cid],
                    "entity": "patient",
                    "entity_id": ids[cid],
                    "details": {**(details or {}), "clinic_id": cid},
                }
                for cid in clinic_ids
            ],
        )
        list_summary.refresh_many(ids.values())
    return ids


def update_patient(
    actor: Actor, patient_id: int, expected_version: int, *, today: dt.date | None = None, **changes
) -> PatientDetail:
    """Change a patient's details. ``expected_version`` is the version the user started
    from: if someone saved the patient since, nothing is written and ``EditConflict``
    names each changed field with both values."""
    auth.require(actor, "write_patient")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"unknown patient field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    today = _today(today)
    clean = _clean(changes, today)
    with database.atomic():
        current = row_ops.get_row(Patient, patient_id, "patient")
        if current.version != expected_version:
            raise _edit_conflict(current, expected_version, clean)
        merged = {**current.__data__, **clean}
        _check_dates(merged)
        _refresh_search_key(clean, merged)
        if "clinic_id" in clean and clean["clinic_id"] != current.clinic_id:
            _check_clinic_id_free(clean["clinic_id"], exclude_patient_id=patient_id)
        clean["updated_at"] = clock.now()
        row_ops.update_versioned(
            actor,
            Patient,
            patient_id,
            expected_version,
            clean,
            what="patient",
            action="patient.update",
            patient_id=patient_id,
        )
        list_summary.refresh(patient_id)
    return get_patient(actor, patient_id, today=today)


def undo_update(
    actor: Actor, patient_id: int, *, written: dict, previous: dict, today: dt.date | None = None
) -> PatientDetail:
    """Undo an edit: put ``previous`` back in the fields the edit wrote, provided they
    still hold what it wrote (``written``). Judged on the values, not the version, so
    undoing two edits in a row works, while a field someone changed since is never
    overwritten (``Conflict``, nothing written)."""
    auth.require(actor, "write_patient")
    unknown = (set(written) | set(previous)) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"unknown patient field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    today = _today(today)
    with database.atomic():
        current = row_ops.get_row(Patient, patient_id, "patient")
        moved = [name for name, value in written.items() if current.__data__.get(name) != value]
        if moved:
            names = ", ".join(name.replace("_", " ") for name in moved)
            raise Conflict(
                f"{names} changed since this edit (on another workstation or by a later edit); nothing was undone"
            )
        clean = _clean(previous, today)
        merged = {**current.__data__, **clean}
        _check_dates(merged)
        _refresh_search_key(clean, merged)
        if "clinic_id" in clean and clean["clinic_id"] != current.clinic_id:
            _check_clinic_id_free(clean["clinic_id"], exclude_patient_id=patient_id)
        row_ops.update_versioned(
            actor,
            Patient,
            patient_id,
            current.version,
            {**clean, "updated_at": clock.now()},
            what="patient",
            action="patient.update.undo",
            patient_id=patient_id,
        )
        list_summary.refresh(patient_id)
    return get_patient(actor, patient_id, today=today)


def _edit_conflict(current: Patient, expected_version: int, clean: dict) -> EditConflict:
    """The lost race, told with both values of every field the user changed."""
    stored = current.__data__
    differences = tuple((name, value, stored.get(name)) for name, value in clean.items() if stored.get(name) != value)
    last = audit.events(patient_id=current.id, action_prefix="patient.", limit=1)
    who = last[0].actor_name if last else None
    when = f" ({who}, {last[0].at:%d %b %H:%M})" if last and who else ""
    detail = "; ".join(
        f"{name.replace('_', ' ')}: yours {_plain(yours)}, saved {_plain(saved)}" for name, yours, saved in differences
    )
    return EditConflict(
        f"this patient was changed by someone else while you were editing{when} (you edited version "
        f"{expected_version}, it is now version {current.version}); nothing was saved"
        + (f". {detail}" if detail else ""),
        differences=differences,
        current_version=current.version,
        changed_by=who,
        current=audit.row_dict(current),
    )


def _plain(value) -> str:
    if value in (None, ""):
        return "(empty)"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def audit_trail(actor: Actor, patient_id: int, limit: int = 200) -> list[audit.AuditEntry]:
    """Who saw and changed the patient's record (administrators: ``view_audit``)."""
    return audit.search(actor, audit.AuditQuery(patient_id=patient_id, limit=limit))
