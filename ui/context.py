"""What every window and panel needs: who is acting, the job runner, the change bus,
the settings, and the presentation state (privacy mode)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QObject, QSettings, Signal, SignalInstance
from PySide6.QtWidgets import QMenu

from teamdash import clock
from teamdash.services.auth import Actor
from ui.changes import ChangeBus
from ui.jobs import JobRunner


class Named(Protocol):
    """A patient as the UI names one (list row, detail, agenda entry, minutes)."""

    @property
    def full_name(self) -> str: ...

    @property
    def initials(self) -> str: ...

    @property
    def clinic_id(self) -> str: ...


class _Follower(QObject):
    """Calls ``apply`` on every privacy change while its widget lives (it is the
    widget's child, so the connection ends with the widget)."""

    def __init__(self, widget: QObject, apply: Callable[[], None]):
        super().__init__(widget)
        self.apply = apply

    def changed(self, _on: bool) -> None:
        self.apply()


class Presentation(QObject):
    """Privacy mode (initials and ID instead of name and date of birth) and UI scale.

    Every widget that shows a patient's name asks ``name``/``label`` for it and
    re-asks on ``privacy_changed`` (``follow`` wires that for a widget)."""

    privacy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.privacy = False

    def set_privacy(self, on: bool) -> None:
        if on != self.privacy:
            self.privacy = on
            self.privacy_changed.emit(on)

    def name(self, patient: Named) -> str:
        """The patient's name as the screen may show it: initials in privacy mode."""
        return patient.initials if self.privacy else patient.full_name

    def label(self, patient: Named) -> str:
        """Name (or initials) and clinic ID, as windows and dialogs title a patient."""
        return f"{self.name(patient)} · {patient.clinic_id}"

    def follow(self, widget: QObject, apply: Callable[[], None]) -> None:
        """Run ``apply`` now and again whenever privacy mode changes, while ``widget``
        lives (window titles, labels naming a patient)."""
        follower = _Follower(widget, apply)
        self.privacy_changed.connect(follower.changed)
        apply()


@dataclass
class AppContext:
    actor: Actor
    jobs: JobRunner
    changes: ChangeBus
    settings: QSettings
    presentation: Presentation = field(default_factory=Presentation)

    def today(self) -> dt.date:
        return clock.today()

    def now(self) -> dt.datetime:
        return clock.now()


@runtime_checkable
class PatientWindow(Protocol):
    """What the main window promises the parts that extend it (the Patient menu's
    actions): its menus by name, the open patient and the context. Those parts check
    it with ``isinstance`` on the widget they are given."""

    context: AppContext
    menus: dict[str, QMenu]

    @property
    def patient_changed(self) -> SignalInstance: ...  # the open patient's id

    def current_patient_id(self) -> int | None: ...
