"""Fixtures of the Qt tests: an application context on the demo clinic (as the system or
as a demo psychologist), contexts made on demand, and error boxes recorded instead of
blocking in a modal loop. Every context's database thread is shut down after its test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QDialog

from teamdash.services.auth import SYSTEM, Actor, actor_for
from tests.demo_facts import ADMINISTRATOR
from tests.ui.helpers import make_context
from ui.context import AppContext


@pytest.fixture
def new_context(qtbot, tmp_path) -> Iterator[Callable[..., AppContext]]:
    """``new_context(actor=SYSTEM)``: another context on the open database; its database
    thread runs what was queued and closes its connection after the test."""
    made: list[AppContext] = []

    def make(actor: Actor = SYSTEM) -> AppContext:
        context = make_context(tmp_path, actor)
        made.append(context)
        return context

    yield make
    for context in made:
        context.jobs.close()  # what the test's windows ask for later never runs


@pytest.fixture
def context(clinic, new_context) -> AppContext:
    """A context on the demo clinic acting as the system."""
    return new_context()


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
    return actor_for(ADMINISTRATOR)


@pytest.fixture
def ui_context(qtbot, clinic, actor, new_context) -> Iterator[AppContext]:
    """A context on the demo clinic acting as the demo psychologist; dialogs a test
    left open are closed afterwards."""
    context = new_context(actor)
    yield context
    context.jobs.wait()
    QCoreApplication.processEvents()
    for widget in QApplication.topLevelWidgets():  # dialogs a test left open
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.reject()
            widget.deleteLater()
    QCoreApplication.processEvents()
