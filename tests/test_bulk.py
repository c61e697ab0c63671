"""Many rows in one prepared statement (``storage/bulk``): what the bulk paths (an import,
the demo, the patient-list summaries, an import's audit events) store is what Peewee
would have stored, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.services import patients
from teamdash.services.auth import SYSTEM
from teamdash.storage import bulk
from teamdash.storage.models import AuditEvent, EncodedJSON, PatientSummary, encode_json

AT = dt.datetime(2026, 11, 27, 12, 0)


def _patient(clinic_id: str) -> int:
    return patients.create_patient(
        SYSTEM,
        clinic_id=clinic_id,
        given_name="Bo",
        family_name="Bulk",
        date_of_birth="1980-01-01",
        referral_date="2026-09-01",
    ).id


def test_rows_keep_their_values_and_columns_left_out_get_their_defaults(database):
    fields = [AuditEvent.at, AuditEvent.actor_name, AuditEvent.action, AuditEvent.patient_id, AuditEvent.details]
    rows = [
        (AT, "Ann", "measurement.import", 7, {"rows": 3}),  # JSON encoded on the way
        (AT, "Ann", "measurement.import", 8, encode_json({"rows": 4})),  # encoded already: kept as it is
        (AT, "Ann", "measurement.import", None, None),
    ]
    assert bulk.insert(AuditEvent, fields, rows, batch=2) == 3
    stored = list(
        AuditEvent.select(AuditEvent.at, AuditEvent.patient_id, AuditEvent.details, AuditEvent.is_change)
        .where(AuditEvent.action == "measurement.import")
        .order_by(AuditEvent.id)
        .tuples()
    )
    assert stored == [(AT, 7, {"rows": 3}, True), (AT, 8, {"rows": 4}, True), (AT, None, None, True)]
    assert type(encode_json({"rows": 4})) is EncodedJSON


def _summary(patient_id: int, pain: float | None, reasons: list) -> dict:
    row = {f.name: None for f in PatientSummary._meta.sorted_fields}
    row.update(
        patient=patient_id,
        pain_latest=pain,
        safety_open=0,
        deterioration=0,
        missed_streak=0,
        flag_reasons=reasons,
        measure_overdue_after=dt.date(2026, 12, 1),
        refreshed_at=AT,
    )
    return row


def test_an_upsert_replaces_the_row_with_the_same_key_and_adds_the_others(database):
    first, second = _patient("B-1"), _patient("B-2")
    bulk.upsert(PatientSummary, [_summary(first, 7.0, [])])
    bulk.upsert(PatientSummary, [_summary(first, 4.0, [{"kind": "deterioration"}]), _summary(second, None, [])])
    stored = {
        s.patient_id: (s.pain_latest, s.flag_reasons, s.measure_overdue_after)
        for s in PatientSummary.select().where(PatientSummary.patient.in_([first, second]))
    }
    assert stored == {
        first: (4.0, [{"kind": "deterioration"}], dt.date(2026, 12, 1)),
        second: (None, [], dt.date(2026, 12, 1)),
    }


def test_an_upsert_of_more_rows_than_one_statement_holds_writes_them_all(database):
    ids = [_patient(f"B-{n}") for n in range(bulk.UPSERT_BATCH + 5)]
    bulk.upsert(PatientSummary, [_summary(pid, float(n % 11), []) for n, pid in enumerate(ids)])
    stored = dict(PatientSummary.select(PatientSummary.patient, PatientSummary.pain_latest).tuples())
    assert [stored[pid] for pid in ids] == [float(n % 11) for n in range(len(ids))]


def test_a_bulk_write_that_breaks_a_rule_is_refused_whole(database):
    real = _patient("B-1")  # registering writes its summary: no pain rated yet

    def stored() -> list:
        return list(PatientSummary.select(PatientSummary.patient, PatientSummary.pain_latest).tuples())

    assert stored() == [(real, None)]
    with pytest.raises(Exception, match="(?i)foreign key"):  # the driver's own integrity error
        bulk.upsert(PatientSummary, [_summary(real, 1.0, []), _summary(999_999, 1.0, [])])  # no such patient
    assert stored() == [(real, None)]
