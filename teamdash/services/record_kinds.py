"""One shape for the many small record kinds of a patient's plan (goals, plan items,
contacts, return-to-work phases, flares, diary nights, …): add, update, delete with
undo, list. Each kind supplies its model, its validation and its result type; this
class supplies permission, transaction, version check, audit and summary refresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import peewee as pw

from teamdash.errors import ValidationError
from teamdash.services import auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage.db import database
from teamdash.storage.models import Patient

R = TypeVar("R")

# clean(values, current) -> validated column values. ``current`` is the stored row's
# data on update (None on add) so that checks spanning fields see the merged record.
Cleaner = Callable[[dict, dict | None], dict]


class RecordKind(Generic[R]):
    def __init__(
        self,
        model: type[pw.Model],
        result: type[R],
        clean: Cleaner,
        *,
        what: str,
        action: str,
        order_by: tuple = (),
        parent: tuple[type[pw.Model], str] | None = None,
        permission: str = "write_clinical",
    ):
        self.model = model
        self.result = result
        self.clean = clean
        self.what = what
        self.action = action
        self.order_by = order_by or (model.id,)
        # Child rows (a week of a plan) reach their patient through the parent row.
        self.parent = parent
        self.permission = permission
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

    def _check_fields(self, values: dict) -> None:
        allowed = set(self.model._meta.fields) - {"id", "patient", "version"}
        unknown = set(values) - allowed
        if unknown:
            raise ValidationError(
                f"unknown {self.what} field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0]
            )

    def add(self, actor: Actor, owner_id: int, **values) -> R:
        auth.require(actor, self.permission)
        owner_key = self.parent[1] if self.parent else "patient"
        self._check_fields({k: v for k, v in values.items() if k != owner_key})
        clean = self.clean(values, None)
        with database.atomic():
            if self.parent is None:
                row_ops.get_row(Patient, owner_id, "patient")
            clean[owner_key] = owner_id
            patient_id = self._patient_id(clean)
            row = row_ops.create_audited(
                actor, self.model, clean, action=f"{self.action}.create", patient_id=patient_id
            )
            list_summary.refresh(patient_id)
        return self.get(actor, row.id)

    def update(self, actor: Actor, row_id: int, expected_version: int, **changes) -> R:
        auth.require(actor, self.permission)
        self._check_fields(changes)
        with database.atomic():
            current = row_ops.get_row(self.model, row_id, self.what).__data__
            clean = self.clean(changes, dict(current))
            patient_id = self._patient_id(current)
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
            row_ops.restore_row(actor, self.model, before, action=f"{self.action}.restore", patient_id=patient_id)
            row_ops.restore_children(before.get("_children") or {})
            list_summary.refresh(patient_id)
        return self.get(actor, before["id"])
