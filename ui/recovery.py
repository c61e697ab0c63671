"""A damaged database at start-up: say so in words and offer the newest backup.

The dashboard checks the file in the background after it opens (``PRAGMA quick_check``
on the database thread, so the first window is not delayed); a file too damaged to open
is caught before the window. Either way the user chooses: restore the newest good backup
(the damaged file is kept aside, nothing is deleted) or carry on at their own risk.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from teamdash.services.clinic import BackupFile

RESTORE = "restore"
CONTINUE = "continue"
QUIT = "quit"


def damage_text(database_file: Path | None, problems: list[str], newest: BackupFile | None) -> tuple[str, str]:
    """The dialog's headline and details (kept apart from the widget for tests)."""
    shown = "\n".join(f"• {p}" for p in problems[:5])
    more = f"\n… and {len(problems) - 5} more" if len(problems) > 5 else ""
    headline = "The database file is damaged."
    details = f"{database_file}\n\nWhat the check found:\n{shown}{more}\n\n"
    if newest is None:
        details += (
            "No backup of this database was found. Work from now on may be lost; copy the file "
            "somewhere safe and ask your IT support to recover it."
        )
    else:
        details += (
            f"The newest good backup is {newest.label}. Restoring it replaces the damaged file, which "
            "is kept beside it (nothing is deleted). Entries made since that backup will need to be "
            "entered again."
        )
    return headline, details


def ask(parent: QWidget | None, database_file: Path | None, problems: list[str], newest: BackupFile | None) -> str:
    """RESTORE, CONTINUE or QUIT, as the user chose."""
    headline, details = damage_text(database_file, problems, newest)
    box = QMessageBox(QMessageBox.Icon.Critical, "TeamDash: damaged database", headline, parent=parent)
    box.setObjectName("damagedDatabase")
    box.setInformativeText(details)
    restore = None
    if newest is not None:
        restore = box.addButton("Restore the backup", QMessageBox.ButtonRole.AcceptRole)
        restore.setObjectName("restore")
    keep = box.addButton("Continue anyway", QMessageBox.ButtonRole.DestructiveRole)
    keep.setObjectName("continue")
    quit_button = box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    quit_button.setObjectName("quit")
    box.setDefaultButton(restore or quit_button)
    box.exec()
    clicked = box.clickedButton()
    if restore is not None and clicked is restore:
        return RESTORE
    return CONTINUE if clicked is keep else QUIT
