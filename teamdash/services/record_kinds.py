"""One shape for the many small record kinds of a patient's plan (goals, plan items,
contacts, return-to-work phases, flares, diary nights, …): add, update, delete with
undo, list. Each kind supplies its model, its validation, its result type and its
published field limits (``fields``: what its validator checks and its form offers); this
class supplies permission, transaction, version check, audit and summary refresh."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from teamdash.errors import NotFound, ValidationError
from teamdash.services import audit, auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage import bulk
from teamdash.storage.db import database
from teamdash.storage.models import Patient, VersionedModel
from teamdash.storage.queries import tuples
from teamdash.validation import FieldSpecs

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")  # a frozen result dataclass

# clean(values, current) -> validated column values. ``current`` is the stored row's
# data on update (None on add) so that checks spanning fields see the merged record.
Cleaner = Callable[[dict, dict | None], dict]
# The discipline a row belongs to: a fixed code, or read from the row's values.
Scope = str | Callable[[dict], str | None] | None


class RecordKind(Generic[R]):
    def __init__(
        self,
        model: type[VersionedModel],
        result: type[R],
        clean: Cleaner,
        *,
        what: str,
        action: str,
        order_by: tuple = (),
        parent: tuple[type[VersionedModel], str] | None = None,
        permission: str = "write_clinical",
        fields: FieldSpecs | None = None,
        discipline: Scope = None,
        any_treated_patient: bool = False,
    ):
        """``discipline``: whose records these are (clinicians write their own
        discipline's); ``any_treated_patient``: clinicians who treat the patient may
        write them whatever their discipline (flares, notes)."""
        self.model = model
        self.result = result
        self.clean = clean
        self.fields = fields if fields is not None else FieldSpecs(())
        self.what = what
        self.action = action
        self.order_by = order_by or (model.id,)
        # Child rows (a week of a plan) reach their patient through the parent row.
        self.parent = parent
        self.permission = permission
        self.discipline = discipline
        self.any_treated_patient = any_treated_patient
        owner_field = getattr(model, parent[1] if parent else "patient")
        self._list_query = row_ops.Prepared(
            lambda owner: model.select().where(owner_field == owner).order_by(*self.order_by)
        )

    @property
    def entity(self) -> str:
        """The name changes of this kind carry in the audit trail (``Changes.records``)."""
        return self.model._meta.table_name

    # --- reading ---------------------------------------------------------------------

    def get(self, actor: Actor, row_id: int) -> R:
        auth.require(actor, "read")
        return build(self.result, row_ops.get_row(self.model, row_id, self.what).__data__)

    def list(self, actor: Actor, owner_id: int) -> list[R]:
        """Rows of a patient (or of the parent row, for child kinds)."""
        auth.require(actor, "read")
        return [build(self.result, d) for d in self._list_query.dicts(owner_id)]

    # --- writing ---------------------------------------------------------------------

    def _patient_id(self, data: dict) -> int:
        if self.parent is None:
            return data["patient"]
        parent_model, field = self.parent
        return row_ops.get_row(parent_model, data[field], parent_model._meta.table_name.replace("_", " ")).__data__[
            "patient"
        ]

    def discipline_of(self, data: dict) -> str | None:
        return self.discipline(data) if callable(self.discipline) else self.discipline

    def allows(self, actor: Actor, *, discipline: str | None = None, treating: bool = False) -> bool:
        """The UI's question, without the database: may ``actor`` write rows of this kind
        in ``discipline`` (for kinds whose rows carry one) for a patient they do, or do
        not, treat?"""
        fixed = None if callable(self.discipline) else self.discipline
        return auth.allows(
            actor, self.permission, discipline=fixed or discipline, treating=treating and self.any_treated_patient
        )

    def _require_scope(self, actor: Actor, data: dict, patient_id: int) -> None:
        auth.require(
            actor,
            self.permission,
            discipline=self.discipline_of(data),
            patient_id=patient_id if self.any_treated_patient else None,
        )

    def _check_fields(self, values: dict) -> None:
        allowed = set(self.model._meta.fields) - {"id", "patient", "version"}
        unknown = set(values) - allowed
        if unknown:
            raise ValidationError(
                f"unknown {self.what} field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
            )

    @property
    def owner_key(self) -> str:
        """The column naming the row's owner: the patient, or the parent row."""
        return self.parent[1] if self.parent else "patient"

    def validate_new(self, values: dict) -> dict:
        """``add``'s checks on one new row's fields (the owner aside), without writing
        (an import checks every row before it adds any). Returns the clean column
        values; raises ``ValidationError`` naming the field."""
        self._check_fields(values)
        return self.clean(values, None)

    def add(self, actor: Actor, owner_id: int, **values) -> R:
        auth.require(actor, self.permission)
        clean = self.validate_new({k: v for k, v in values.items() if k != self.owner_key})
        with database.atomic():
            if self.parent is None:
                row_ops.get_row(Patient, owner_id, "patient")
            clean[self.owner_key] = owner_id
            patient_id = self._patient_id(clean)
            self._require_scope(actor, clean, patient_id)
            row = row_ops.create_audited(
                actor, self.model, clean, action=f"{self.action}.create", patient_id=patient_id
            )
            list_summary.refresh(patient_id)
        return self.get(actor, row.id)

    def add_many(
        self, actor: Actor, rows: Sequence[dict], *, ids: bool = False, details: dict | None = None
    ) -> builtins.list[int]:
        """Add many rows at once (an import): each as ``validate_new`` returned it plus
        its owner (``owner_key``). One transaction; the patients' list summaries
        refreshed. With ``ids`` (rows that others will refer to: a plan's weeks) the
        rows go in one by one, each with its own audit event, and their ids come back
        in order; else in one bulk insert with one audit event per patient."""
        auth.require(actor, "import")  # bulk paths serve imports (see auth: bulk writes)
        auth.require(actor, self.permission)
        if not rows:
            return []
        key = self.owner_key
        with database.atomic():
            patient_of = self._patients_of({r[key] for r in rows})
            missing = next((r[key] for r in rows if r[key] not in patient_of), None)
            if missing is not None:
                what = self.parent[0]._meta.table_name.replace("_", " ") if self.parent else "patient"
                raise NotFound(f"{what} {missing} does not exist (it may have been deleted on another workstation)")
            out: builtins.list[int] = []
            if ids:
                for values in rows:
                    row = row_ops.create_audited(
                        actor,
                        self.model,
                        dict(values),
                        action=f"{self.action}.import",
                        patient_id=patient_of[values[key]],
                    )
                    out.append(row.get_id())
            else:
                names = list(dict.fromkeys(name for r in rows for name in r))
                fields = [self.model._meta.fields[n] for n in names]
                bulk.insert(self.model, fields, [tuple(r.get(n) for n in names) for r in rows])
                counts: dict[int, int] = {}
                for r in rows:
                    counts[patient_of[r[key]]] = counts.get(patient_of[r[key]], 0) + 1
                audit.record_many(
                    actor,
                    f"{self.action}.import",
                    [
                        {
                            "patient_id": pid,
                            "entity": self.model._meta.table_name,
                            "details": {**(details or {}), "rows": n},
                        }
                        for pid, n in counts.items()
                    ],
                )
            list_summary.refresh_many(set(patient_of.values()))
        return out

    def existing(self, owner_ids: Iterable[int], fields: Sequence[str]) -> dict[tuple, int]:
        """The rows of these owners by (owner, *the values of ``fields``) -> id: what an
        import matches its rows against (a row already recorded; a plan its weeks name)."""
        columns = [getattr(self.model, name) for name in fields]
        owner = getattr(self.model, self.owner_key)
        out: dict[tuple, int] = {}
        ids = sorted(set(owner_ids))
        for start in range(0, len(ids), 500):
            query = self.model.select(self.model.id, owner, *columns).where(owner.in_(ids[start : start + 500]))
            for row_id, *key in tuples(query.order_by(self.model.id)):
                out.setdefault(tuple(key), row_id)
        return out

    def _patients_of(self, owner_ids: set[int]) -> dict[int, int]:
        """owner id -> patient id, for the owners that exist."""
        model = self.parent[0] if self.parent else Patient
        column = model.id if self.parent is None else model._meta.fields["patient"]
        out: dict[int, int] = {}
        ids = sorted(owner_ids)
        for start in range(0, len(ids), 500):
            query = model.select(model.id, column).where(model.id.in_(ids[start : start + 500]))
            out.update(dict(tuples(query)))
        return out

    def update(self, actor: Actor, row_id: int, expected_version: int, **changes) -> R:
        auth.require(actor, self.permission)
        self._check_fields(changes)
        with database.atomic():
            current = row_ops.get_row(self.model, row_id, self.what).__data__
            clean = self.clean(changes, dict(current))
            patient_id = self._patient_id(current)
            self._require_scope(actor, current, patient_id)
            self._require_scope(actor, {**current, **clean}, patient_id)  # moved to another discipline
            row_ops.update_versioned(
                actor,
                self.model,
                row_id,
                expected_version,
                clean,
                what=self.what,
                action=f"{self.action}.update",
                patient_id=patient_id,
            )
            list_summary.refresh(patient_id)
        return self.get(actor, row_id)

    def delete(self, actor: Actor, row_id: int, expected_version: int) -> dict:
        auth.require(actor, self.permission)
        with database.atomic():
            current = row_ops.get_row(self.model, row_id, self.what).__data__
            patient_id = self._patient_id(current)
            self._require_scope(actor, current, patient_id)
            children = row_ops.children_of(self.model, row_id)
            before = row_ops.delete_versioned(
                actor,
                self.model,
                row_id,
                expected_version,
                what=self.what,
                action=f"{self.action}.delete",
                extra={"_children": children, "_patient_id": patient_id} if children or self.parent else None,
                patient_id=patient_id,
            )
            list_summary.refresh(patient_id)
        return before

    def restore(self, actor: Actor, before: dict) -> R:
        """Undo ``delete``: the row (and any child rows) come back with their ids."""
        auth.require(actor, self.permission)
        with database.atomic():
            patient_id = before.get("_patient_id") or before["patient"]
            self._require_scope(actor, before, patient_id)
            row_ops.restore_row(actor, self.model, before, action=f"{self.action}.restore", patient_id=patient_id)
            row_ops.restore_children(before.get("_children") or {})
            list_summary.refresh(patient_id)
        return self.get(actor, before["id"])
