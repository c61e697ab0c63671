"""Logging to a rotating file in the user log directory.

Log lines carry ids and actions, never patient names, dates of birth or scores.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import traceback
from pathlib import Path

from teamdash import paths

_configured: Path | None = None


def configure(level: int = logging.INFO) -> Path:
    """Send log records to the log file (once per process); returns its path."""
    global _configured
    if _configured is not None:
        return _configured
    log_file = Path(os.environ.get("TEAMDASH_LOG_FILE") or paths.log_file())
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()  # a read-only home must not stop the app
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("teamdash")
    root.setLevel(level)
    root.addHandler(handler)
    logging.getLogger("ui").setLevel(level)
    logging.getLogger("ui").addHandler(handler)
    _configured = log_file
    return log_file


def log_file() -> Path:
    return _configured or Path(os.environ.get("TEAMDASH_LOG_FILE") or paths.log_file())


def bug_traceback(exc: BaseException) -> str:
    """Where an unexpected error happened, for the log: the chain of exception types
    and their stack frames, without the messages (a message may quote the data it
    choked on, such as a patient's name)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        stack = "".join(traceback.format_tb(current.__traceback__))
        parts.append(
            f"Traceback (most recent call last):\n{stack}{type(current).__module__}.{type(current).__qualname__}"
        )
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\n\nwhich was raised while handling:\n\n".join(parts)
