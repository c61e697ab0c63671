"""Per-user locations (data, logs, settings) from platformdirs."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "TeamDash"
APP_AUTHOR = "TeamDash"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def default_database_file() -> Path:
    return data_dir() / "teamdash.sqlite3"


def log_file() -> Path:
    return log_dir() / "teamdash.log"


def backup_dir() -> Path:
    """Where automatic and user backups go unless the clinic configures a folder."""
    return data_dir() / "backups"


# A clinic's own instrument definitions (TOML files like those in resources/instruments):
# this environment variable names the folder (a shared folder for a networked clinic),
# else the folder "instruments" in the user data directory.
ENV_INSTRUMENTS = "TEAMDASH_INSTRUMENTS_DIR"


def clinic_instruments_dir() -> Path:
    configured = os.environ.get(ENV_INSTRUMENTS, "").strip()
    return Path(configured).expanduser() if configured else data_dir() / "instruments"
