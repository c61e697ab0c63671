"""Undo of the last data-entry actions (Ctrl+Z).

Every write made from a dialog pushes an entry that knows how to reverse it through the
services: an addition is deleted, an edit is updated back to its previous values, a
deletion is restored from the copy the service returned. Reversals are ordinary writes:
checked, versioned (a record someone changed since is a ``Conflict``, shown, never
overwritten), audited. One stack per application context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from teamdash.services.auth import Actor
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error

# Older entries fall off: undo is for "I just did that by mistake", not a history.
MAX_ENTRIES = 20


@dataclass(frozen=True)
class UndoEntry:
    description: str  # what the user did: "Delete session of 20 Nov 2026"
    patient_id: int | None
    kinds: tuple[str, ...]  # what changes when undone (for the change bus)
    reverse: Callable[[Actor], Any]  # runs on the database thread


class UndoStack(QObject):
    changed = Signal()  # the top entry changed (enable/label the Undo action)
    undone = Signal(object)  # the UndoEntry, after its reversal was written

    def __init__(self, context: AppContext, parent: QObject | None = None):
        super().__init__(parent)
        self.context = context
        self._entries: list[UndoEntry] = []
        self._parked: dict[tuple[int | None, str], list[UndoEntry]] = {}
        self._busy = False

    def push(self, entry: UndoEntry) -> None:
        self._entries.append(entry)
        del self._entries[:-MAX_ENTRIES]
        self.changed.emit()

    def can_undo(self) -> bool:
        return bool(self._entries) and not self._busy

    def top(self) -> UndoEntry | None:
        return self._entries[-1] if self._entries else None

    def text(self) -> str:
        top = self.top()
        return f"Undo {top.description[:1].lower()}{top.description[1:]}" if top else "Undo"

    def switch_user(self, previous: Actor, current: Actor) -> None:
        """Another user signed in at this workstation: the previous user's entries wait
        for them (nobody undoes someone else's entry by accident)."""
        if (previous.user_id, previous.username) == (current.user_id, current.username):
            return
        self._parked[(previous.user_id, previous.username)] = self._entries
        self._entries = self._parked.pop((current.user_id, current.username), [])
        self.changed.emit()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.changed.emit()

    def undo(self, parent: QWidget | None = None) -> None:
        """Reverse the most recent entry on the database thread. On failure (someone
        changed the record meanwhile) the entry is dropped and the reason shown."""
        if not self.can_undo():
            return
        entry = self._entries.pop()
        self._busy = True
        self.changed.emit()
        actor = self.context.actor
        self.context.jobs.run(
            lambda _progress, _cancelled: entry.reverse(actor),
            on_done=lambda _result: self._done(entry),
            on_error=lambda exc: self._failed(parent, exc),
        )

    def _done(self, entry: UndoEntry) -> None:
        self._busy = False
        self.changed.emit()
        self.context.changes.emit(Changes.of(entry.patient_id, *entry.kinds))
        self.undone.emit(entry)

    def _failed(self, parent: QWidget | None, exc: BaseException) -> None:
        self._busy = False
        self.changed.emit()
        show_error(parent, exc, title="Undo")


def stack_for(context: AppContext) -> UndoStack:
    """The application's undo stack (created on first use, kept with the context)."""
    stack = context.__dict__.get("_undo_stack")
    if stack is None:
        stack = UndoStack(context, context.changes.qobject)
        context.__dict__["_undo_stack"] = stack
    return stack
