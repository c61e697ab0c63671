"""The app's one clock: every "now" and "today" in the core, the UI and the demo.

The system clock by default. Tests, screenshots and the demo pin it with ``use`` (a
``FixedClock``), so nothing depends on the day it runs: a session counted as "booked
ahead" on the panel is counted the same way by the service and by the test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager


class Clock:
    """The wall clock, local time, whole seconds (what the database stores)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now().replace(microsecond=0)

    def today(self) -> dt.date:
        return self.now().date()


class FixedClock(Clock):
    """A clock that stands still until told to move (tests, screenshots)."""

    def __init__(self, at: dt.datetime | dt.date):
        self.at = at if isinstance(at, dt.datetime) else dt.datetime.combine(at, dt.time(12, 0))

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, delta: dt.timedelta) -> None:
        self.at += delta


_current: Clock = Clock()


def now() -> dt.datetime:
    return _current.now()


def today() -> dt.date:
    return _current.today()


def current() -> Clock:
    return _current


def set_clock(clock: Clock) -> Clock:
    """Make ``clock`` the app's clock; returns the one it replaces."""
    global _current
    previous, _current = _current, clock
    return previous


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)
