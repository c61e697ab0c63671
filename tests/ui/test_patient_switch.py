"""Moving through the list: the patients above and below the open one are read ahead on
the database thread, so the next one is shown at once; a write drops what was read
ahead for that patient, so nothing stale is ever shown."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from teamdash.services import measurements
from tests.ui.test_main_window import open_window
from ui.changes import Changes


def test_the_next_patient_is_read_ahead_and_shown_at_once(qtbot, context):
    window = open_window(qtbot, context)
    model = window.list_panel.model
    row = model.row_of(window.current_patient_id())
    below = model.patient_at(row + 1).id
    qtbot.waitUntil(lambda: below in window.patient_view._ahead, timeout=10000)  # read while the user looks
    QTest.keyClick(window, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    # Shown within the key press: no database round trip.
    assert window.current_patient_id() == below
    assert window.patient_view.record.patient.id == below
    assert window.patient_view.header.clinic_id.text() == model.patient_at(row + 1).clinic_id
    context.jobs.wait()


def test_a_write_drops_the_patient_read_ahead(qtbot, context):
    window = open_window(qtbot, context)
    model = window.list_panel.model
    row = model.row_of(window.current_patient_id())
    below = model.patient_at(row + 1).id
    qtbot.waitUntil(lambda: below in window.patient_view._ahead, timeout=10000)
    before = window.patient_view._ahead[below][0]
    pain = [m for m in before.measurements if m.instrument == "nrs_pain"][-1]
    measurements.update_measurement(context.actor, pain.id, pain.version, responses=[9])
    context.changes.emit(Changes.of(below, "measurement"))
    assert below not in window.patient_view._ahead
    QTest.keyClick(window, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.patient_view.record.patient.id == below, timeout=10000)
    shown = [m for m in window.patient_view.record.measurements if m.id == pain.id][0]
    assert shown.total == 9  # read again, not the copy from before the write
