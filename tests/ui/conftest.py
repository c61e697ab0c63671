"""Fixtures of the Qt tests: an application context on the demo clinic (as the system or
as a demo psychologist), and error boxes recorded instead of blocking in a modal loop."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QDialog

from teamdash.services.auth import Actor, actor_for
from tests.ui.shell_helpers import make_context


@pytest.fixture
def context(qtbot, clinic, tmp_path):
    ctx = make_context(tmp_path)
    yield ctx
    ctx.jobs.wait()


@pytest.fixture(autouse=True)
def error_boxes(monkeypatch) -> list[str]:
    """Error and apology boxes are recorded instead of blocking the test in a modal
    loop; a test that expects none asserts the list is empty (see ``no_errors``)."""
    shown: list[str] = []
    import ui.errors

    monkeypatch.setattr(
        ui.errors.QMessageBox, "warning", staticmethod(lambda _p, _t, text, *a, **k: shown.append(text))
    )
    monkeypatch.setattr(
        ui.errors.QMessageBox, "critical", staticmethod(lambda _p, _t, text, *a, **k: shown.append(text))
    )
    return shown


@pytest.fixture
def actor(clinic) -> Actor:
    # The demo administrator: writes every discipline's records, so the dialog tests
    # reach every form. What each role sees and may do is tested in test_roles_ui.
    return actor_for("ckestrel")


@pytest.fixture
def ui_context(qtbot, clinic, actor, tmp_path):
    context = make_context(tmp_path, actor)
    yield context
    context.jobs.wait()
    QCoreApplication.processEvents()
    for widget in QApplication.topLevelWidgets():  # dialogs a test left open
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.reject()
            widget.deleteLater()
    QCoreApplication.processEvents()
