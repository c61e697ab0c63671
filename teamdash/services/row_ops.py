"""Generic row operations shared by the services: fetch-or-NotFound, and versioned
update/delete that refuse to overwrite someone else's newer edit."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import peewee as pw

from teamdash.errors import Conflict, NotFound
from teamdash.services import audit, list_summary
from teamdash.services.auth import Actor
from teamdash.storage import bulk
from teamdash.storage.db import database
from teamdash.storage.models import ALL_MODELS, VersionedModel
from teamdash.storage.queries import Query

M = TypeVar("M", bound=pw.Model)
V = TypeVar("V", bound=VersionedModel)


def get_row(model: type[M], row_id: int, what: str) -> M:
    row = model.get_or_none(model._meta.primary_key == row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} does not exist (it may have been deleted on another workstation)")
    return row


def _patient_id_of(row: pw.Model) -> int | None:
    if "patient" in row._meta.fields:
        return row.__data__.get("patient")
    if row._meta.table_name == "patient":
        return row.get_id()
    return None


def _check_version(row: VersionedModel, expected_version: int | None, what: str) -> None:
    if expected_version is not None and row.version != expected_version:
        raise Conflict(
            f"this {what} was changed by someone else while you were editing "
            f"(you edited version {expected_version}, it is now version {row.version}); "
            "reload it and apply your change again",
            current=audit.row_dict(row),
        )


def update_versioned(
    actor: Actor,
    model: type[V],
    row_id: int,
    expected_version: int | None,
    changes: dict[str, Any],
    *,
    what: str,
    action: str,
    patient_id: int | None = None,
    details: dict | None = None,
) -> V:
    """Apply ``changes`` if the row is still at ``expected_version``; audit before/after
    (and ``details``: what the change was about, beyond the row). Must run inside the
    caller's transaction."""
    row = get_row(model, row_id, what)
    _check_version(row, expected_version, what)
    before = audit.row_dict(row)
    updated = (
        model.update({**changes, model.version: model.version + 1})
        .where((model._meta.primary_key == row_id) & (model.version == row.version))
        .execute()
    )
    if updated != 1:  # another workstation committed between our read and our write
        now = model.get_or_none(model._meta.primary_key == row_id)
        raise Conflict(
            f"this {what} was changed by someone else just now; reload it and apply your change again",
            current=audit.row_dict(now) if now is not None else None,
        )
    row = get_row(model, row_id, what)
    _audit(actor, action, row, patient_id, before=before, after=audit.row_dict(row), details=details)
    return row


def delete_versioned(
    actor: Actor,
    model: type[M],
    row_id: int,
    expected_version: int | None,
    *,
    what: str,
    action: str,
    extra: dict | None = None,
    patient_id: int | None = None,
) -> dict:
    """Delete the row if still at ``expected_version``; the audit event keeps a full copy
    (plus ``extra``, e.g. child rows) so the deletion can be undone."""
    row = get_row(model, row_id, what)
    if isinstance(row, VersionedModel):  # the rows that carry a version
        _check_version(row, expected_version, what)
    before = audit.row_dict(row)
    if extra:
        before = {**before, **extra}
    model.delete().where(model._meta.primary_key == row_id).execute()
    _audit(actor, action, row, patient_id, before=before)
    return before


def create_audited(
    actor: Actor,
    model: type[M],
    values: dict[str, Any],
    *,
    action: str,
    patient_id: int | None = None,
    duplicate: Callable[[], Exception] | None = None,
) -> M:
    """Insert and audit. A unique constraint that stops the row (another workstation
    saved the same one a moment ago, past the caller's check) raises ``duplicate()``,
    or a ``Conflict`` naming the kind of record."""
    try:
        row = model.create(**values)
    except pw.IntegrityError as exc:
        raise integrity_error(model, exc, duplicate) from exc
    _audit(actor, action, row, patient_id, after=audit.row_dict(row))
    return row


def integrity_error(
    model: type[pw.Model], exc: pw.IntegrityError, duplicate: Callable[[], Exception] | None = None
) -> Exception:
    """The user's error for a constraint the database enforced."""
    text = str(exc).lower()
    what = model._meta.table_name.replace("_", " ")
    if "unique" in text or "duplicate key" in text:
        if duplicate is not None:
            return duplicate()
        return Conflict(f"this {what} is already recorded (another workstation saved the same one a moment ago)")
    if "foreign key" in text:
        return NotFound(
            f"the record this {what} belongs to no longer exists (it may have been deleted on another workstation)"
        )
    return exc


def _audit(
    actor: Actor,
    action: str,
    row: pw.Model,
    patient_id: int | None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    details: dict | None = None,
) -> None:
    audit.record(
        actor,
        action,
        patient_id=patient_id if patient_id is not None else _patient_id_of(row),
        entity=row._meta.table_name,
        entity_id=row.get_id(),
        before=before,
        after=after,
        details=details,
    )


def _from_plain(field: pw.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, pw.DateTimeField) and isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    if isinstance(field, pw.DateField) and isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value


def from_plain(model: type[pw.Model], data: dict) -> dict:
    """Column values from an audit copy (``row_dict``): ISO strings back to dates."""
    return {name: _from_plain(field, data[name]) for name, field in model._meta.fields.items() if name in data}


def restore_row(actor: Actor, model: type[M], before: dict, *, action: str, patient_id: int | None = None) -> int:
    """Undo a deletion: insert the row again with its id and values (as kept by
    ``delete_versioned``), one version on. Returns the id."""
    row_id = before["id"]
    if model.get_or_none(model._meta.primary_key == row_id) is not None:
        raise Conflict(f"this {model._meta.table_name.replace('_', ' ')} already exists; nothing to restore")
    values = from_plain(model, before)
    if "version" in values:
        values["version"] = (values["version"] or 1) + 1
    model.insert(values).execute()
    audit.record(
        actor,
        action,
        patient_id=patient_id if patient_id is not None else values.get("patient"),
        entity=model._meta.table_name,
        entity_id=row_id,
        after=before,
    )
    return row_id


def _child_models(model: type[pw.Model]) -> list[tuple[type[pw.Model], pw.ForeignKeyField]]:
    return [(fk.model, fk) for fk in model._meta.backrefs if fk.on_delete == "CASCADE"]


def children_of(model: type[pw.Model], row_id: int) -> dict[str, list[dict]]:
    """Rows that a delete of this row cascades to (a plan's weeks), kept for undo."""
    out = {}
    for child, fk in _child_models(model):
        rows = [audit.row_dict(r) for r in child.select().where(fk == row_id)]
        if rows:
            out[child._meta.table_name] = rows
    return out


def restore_children(children: dict[str, list[dict]]) -> None:
    by_table = {m._meta.table_name: m for m in ALL_MODELS}
    for table, rows in children.items():
        model = by_table[table]
        model.insert_many([from_plain(model, r) for r in rows]).execute()


def bulk_insert_audited(
    actor: Actor,
    model: type[pw.Model],
    fields: Sequence[pw.Field],
    rows: Sequence[tuple[Any, ...]],
    *,
    action: str,
    details: dict[str, Any] | None = None,
) -> int:
    """Many rows of a patient's record at once (an import), each starting with its
    patient id: one transaction, one audit event per patient with its number of rows,
    and the patients' list summaries refreshed. The caller checked the rows."""
    per_patient: dict[int, int] = {}
    for row in rows:
        per_patient[row[0]] = per_patient.get(row[0], 0) + 1
    entity = model._meta.table_name
    with database.atomic():
        count = bulk.insert(model, fields, rows)
        audit.record_many(
            actor,
            action,
            [
                {"patient_id": pid, "entity": entity, "details": {**(details or {}), "rows": n}}
                for pid, n in per_patient.items()
            ],
        )
        list_summary.refresh_many(per_patient)
    return count


class Prepared:
    """A select compiled to SQL once and run many times with a new value for its one
    parameter (a patient or parent id). Peewee compiles a query on every execution,
    which costs more than SQLite running it; the patient screen runs a dozen of these."""

    SENTINEL = -7_654_321

    def __init__(self, build: Callable[[int], Query]):
        self._build = build
        self._compiled_for: object | None = None

    def _compile(self) -> None:
        query = self._build(self.SENTINEL)
        self._sql, params = query.sql()
        self._params = list(params)
        self._slot = self._params.index(self.SENTINEL)
        self._columns = [_output(node) for node in query.selected_columns]
        self._compiled_for = database.obj

    def dicts(self, value: int) -> list[dict]:
        if self._compiled_for is not database.obj:  # a different database was opened
            self._compile()
        params = list(self._params)
        params[self._slot] = value
        cursor = database.execute_sql(self._sql, params)
        return [
            {name: (convert(v) if convert and v is not None else v) for (name, convert), v in zip(self._columns, row)}
            for row in cursor.fetchall()
        ]


def _output(node) -> tuple[str, Callable | None]:
    """Result key and value converter of one selected column."""
    if isinstance(node, pw.Alias):
        inner = node.node
        if isinstance(inner, pw.Field):
            return node.name, inner.python_value
        # A function's ``python_value`` is a builder method, not a converter: the converter
        # it was given (if any) is kept in ``_python_value``.
        return node.name, getattr(inner, "_python_value", None)
    if isinstance(node, pw.Field):
        return node.name, node.python_value
    raise TypeError(f"cannot prepare a select of {node!r}")
