"""The one way a dialog or panel writes: the service call runs on the database thread;
on success the undo entry is pushed and the change is broadcast so the list, timeline
and panels reload; on failure the caller decides where the message goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from teamdash.services.auth import Actor
from ui.changes import Changes
from ui.context import AppContext
from ui.undo import UndoEntry, stack_for

R = TypeVar("R")


def run_write(
    context: AppContext,
    write: Callable[[Actor], R],
    *,
    patient_id: int | None,
    kinds: tuple[str, ...],
    undo: Callable[[R], UndoEntry | None] | None = None,
    on_done: Callable[[R], None] | None = None,
    on_error: Callable[[BaseException], None],
) -> None:
    actor = context.actor

    def finished(result: Any) -> None:
        entry = undo(result) if undo else None
        if entry is not None:
            stack_for(context).push(entry)
        context.changes.emit(Changes.of(patient_id, *kinds))
        if on_done:
            on_done(result)

    context.jobs.run(lambda _progress, _cancelled: write(actor), on_done=finished, on_error=on_error)
