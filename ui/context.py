"""What every window and panel needs: who is acting, the job runner, the change bus,
the settings, and the presentation state (privacy mode)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QSettings, Signal

from teamdash import clock
from teamdash.services.auth import Actor
from ui.changes import ChangeBus
from ui.jobs import JobRunner


class Presentation(QObject):
    """Privacy mode (initials and ID instead of name and date of birth) and UI scale."""

    privacy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.privacy = False

    def set_privacy(self, on: bool) -> None:
        if on != self.privacy:
            self.privacy = on
            self.privacy_changed.emit(on)


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
