"""Data-entry dialogs and the Patient menu actions that open them.

``install_actions(window)`` needs only the main window's contract: ``menus["Patient"]``,
``current_patient_id()``, the ``patient_changed(int)`` signal and ``context``; a child
with a ``measurement_selected(int)`` signal (the timeline) enables the correction of
the selected measurement. ``install_admin_actions(window)`` adds patient administration
(New patient…, Edit details…, status changes, status history, clinic ID pattern)."""

from __future__ import annotations

from ui.dialogs.patient_admin import AdminActions, install_admin_actions
from ui.dialogs.patient_menu import PatientActions, install_actions

__all__ = ["AdminActions", "PatientActions", "install_actions", "install_admin_actions"]
