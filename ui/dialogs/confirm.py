"""Confirmation before an edit or a deletion: one question, the safe answer focused."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def confirm(
    parent: QWidget | None, title: str, text: str, *, action: str, detail: str | None = None, destructive: bool = False
) -> bool:
    """Ask; True when the user chose ``action`` (e.g. "Delete"). Esc always cancels.
    For a destructive action Enter picks Cancel too: a reflex keypress must not delete;
    for saving an edit Enter confirms (the user pressed Enter to save in the first place)."""
    box = QMessageBox(parent)
    box.setObjectName("confirm_box")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    if detail:
        box.setInformativeText(detail)
    yes = box.addButton(action, QMessageBox.ButtonRole.AcceptRole)
    yes.setObjectName("confirm_yes")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel if destructive else yes)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is yes
