"""Opening the database and proving who you are, on the command line.

Secrets never come from the command line (they would sit in the shell history and the
process list): a database passphrase comes from ``$TEAMDASH_DB_PASSPHRASE`` or a prompt,
a password from a prompt. At a terminal the prompt hides what is typed; from a pipe
(a script, a test) one line is read per prompt.

Commands act as the system account unless ``--as USERNAME`` names a member of staff,
who then signs in with their password: the command runs with their role and the audit
trail names them. Managing accounts and restoring a backup need an administrator.
"""

from __future__ import annotations

import getpass
import os
import sys

from teamdash.errors import PermissionDenied, TeamDashError, ValidationError, WrongPassphrase
from teamdash.services import accounts, auth
from teamdash.services.auth import SYSTEM, Actor
from teamdash.services.clinic import open_clinic
from teamdash.storage import db
from teamdash.storage.db import DatabaseInfo


def prompt_secret(label: str) -> str:
    """One secret: hidden at a terminal, one line from a pipe."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"{label}: ")
    print(f"{label}: ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    print(file=sys.stderr)
    if not line:
        raise TeamDashError(f"no answer to {label.lower()!r} (standard input ended)")
    return line.rstrip("\r\n")


def prompt_new_secret(label: str) -> str:
    """A new secret, asked twice."""
    first = prompt_secret(label)
    if prompt_secret(f"{label} (again)") != first:
        raise ValidationError("the two entries differ; nothing was changed", field=label.lower())
    return first


def open_database(url: str | None, *, create: bool = False) -> DatabaseInfo:
    """``open_clinic``, asking for the passphrase of an encrypted file when
    ``$TEAMDASH_DB_PASSPHRASE`` does not give it."""
    try:
        return open_clinic(url, create=create)
    except WrongPassphrase:
        if os.environ.get(db.ENV_PASSPHRASE):
            raise  # the passphrase given does not open it: asking again would hide that
        target = db.parse_url(url or db.default_url())
        if target.path is None or not target.path.exists():
            raise
        passphrase = prompt_secret(f"Passphrase of the encrypted database {target.path.name}")
        return open_clinic(url, create=create, passphrase=passphrase)


def authenticate(username: str | None, *, require: str | None = None) -> Actor:
    """The actor for ``--as USERNAME`` after their password (the system account when no
    username is given). ``require`` names a permission the actor must hold."""
    if not username:
        if (
            require is not None
            and require in ("manage_users", "restore", "manage_settings")
            and accounts.has_administrator()
        ):
            raise PermissionDenied(
                f"this needs an administrator: add --as USERNAME (an administrator's username; "
                f"the password is asked for) to {auth.PERMISSIONS[require]}"
            )
        return SYSTEM
    password = prompt_secret(f"Password for {username}")
    signed_in = accounts.sign_in(username, password)
    if signed_in.must_change_password:
        raise PermissionDenied(f"{username} must choose a new password first: teamdash user passwd {username}")
    if require is not None:
        auth.require(signed_in.actor, require)
    return signed_in.actor
