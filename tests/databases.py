"""The test databases' handles, shared by the fixtures in ``conftest.py`` and the tests
that need a clinic's URL (on whichever backend the run uses)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PostgresDatabase:
    """A throwaway database on the test server."""

    admin_url: str
    name: str

    @property
    def url(self) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{self.name}"

    def __str__(self) -> str:
        return self.url


def url_of(target: Path | PostgresDatabase) -> str:
    """The URL of what the ``database`` or ``clinic`` fixture gave."""
    return target.url if isinstance(target, PostgresDatabase) else f"sqlite:///{target}"


def every(model, n: int, rest: int = 0):
    """A condition on the rows whose id leaves ``rest`` when divided by ``n``, on either
    backend (peewee's ``%`` operator means LIKE, not modulo)."""
    return model.id.in_([row.id for row in model.select(model.id) if row.id % n == rest])
