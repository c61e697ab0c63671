"""What changed after a write, broadcast once (after Anki's OpChanges): the patient
list, the open patient and the timelines each reload only what concerns them."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal, SignalInstance

from teamdash.services.changes import ChangedRecord


@dataclass(frozen=True)
class Changes:
    # None: anything may have changed (import, demo, another workstation).
    patient_ids: frozenset[int] | None = None
    # What kind of rows: "patient", "measurement", "session", "goal", "plan", "checkin", "action", "staff" …
    # ("remote": written on another workstation).
    kinds: frozenset[str] = field(default_factory=frozenset)
    # Another workstation's changes, record by record (who, when), so that an open form
    # can say that its record changed underneath it.
    records: tuple[ChangedRecord, ...] = ()

    def record(self, entity: str, entity_id: int) -> ChangedRecord | None:
        found = [r for r in self.records if r.entity == entity and r.entity_id == entity_id]
        return found[-1] if found else None

    def touches(self, patient_id: int | None) -> bool:
        return self.patient_ids is None or (patient_id is not None and patient_id in self.patient_ids)

    @staticmethod
    def of(patient_id: int | None, *kinds: str) -> Changes:
        return Changes(None if patient_id is None else frozenset({patient_id}), frozenset(kinds))


class _Signal(QObject):
    changed = Signal(object)  # Changes


class ChangeBus:
    """``context.changes``: ``emit(changes)`` after a write, ``changed`` to listen. It holds
    its QObject rather than being one, so its ``emit`` does not override ``QObject.emit``."""

    def __init__(self, parent: QObject | None = None):
        self._signal = _Signal(parent)
        self.changed: SignalInstance = self._signal.changed

    @property
    def qobject(self) -> QObject:
        """The bus's QObject: a parent for what must live exactly as long as the bus."""
        return self._signal

    def emit(self, changes: Changes) -> None:
        self.changed.emit(changes)
