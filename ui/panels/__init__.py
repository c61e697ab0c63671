"""Discipline panels: one per tab of the patient view.

The patient view calls ``create_panel(code, context)`` for each discipline in
``resources/disciplines.toml`` and then ``panel.set_record(record)`` with the
``teamdash.services.chart.PatientRecord`` of the open patient. A panel refreshes itself
after writes announced on ``context.changes``."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ui.context import AppContext
from ui.panels.discipline_panel import DisciplinePanel

__all__ = ["DisciplinePanel", "create_panel"]


def create_panel(discipline_code: str, context: AppContext, parent: QWidget | None = None) -> DisciplinePanel:
    """The panel for one discipline (``pt``, ``psychology``, ``nutrition``, ``sleep``,
    ``social``). Raises ``teamdash.errors.NotFound`` for an unknown code."""
    return DisciplinePanel(discipline_code, context, parent)
