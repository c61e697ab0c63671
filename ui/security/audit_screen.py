"""File → Audit trail… (administrators): who saw and changed what, where and when.

Filters by patient (clinic ID), user, kind of action and dates; the newest events first
(at most ``LIMIT``); the selected event's before and after; and a check of the hash
chain that names the first event edited, deleted or inserted behind TeamDash's back.
Reading a patient's trail is itself an audit event.
"""

from __future__ import annotations

import datetime as dt
import json

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from teamdash.errors import TeamDashError
from teamdash.services import audit, patients
from teamdash.services.audit import AuditEntry, AuditQuery
from ui.context import AppContext
from ui.errors import show_error
from ui.security.signin import name_buttons, named_button
from ui.widgets import palette
from ui.widgets.table import Column, RowsModel

LIMIT = 2000


def _record(e: AuditEntry) -> str:
    """The record a change touched ("goal 12"); views and sign-ins name none."""
    changed = e.action.rsplit(".", 1)[-1] in ("create", "update", "delete", "restore")
    return f"{e.entity.replace('_', ' ')} {e.entity_id}" if changed and e.entity and e.entity_id is not None else ""


AUDIT_COLUMNS = (
    Column("When", lambda e: f"{e.at:%Y-%m-%d %H:%M:%S}"),
    Column("User", lambda e: e.actor_name),
    Column("Workstation", lambda e: e.workstation or "—"),
    Column("Action", lambda e: e.what),
    Column("Patient", lambda e: e.clinic_id or ""),
    Column("Record", _record),
)


def _date_edit(name: str, on: QDate, spoken: str) -> QDateEdit:
    edit = QDateEdit(on)
    edit.setObjectName(name)
    edit.setAccessibleName(spoken)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit


def _day(edit: QDateEdit) -> dt.date:
    on = edit.date()
    return dt.date(on.year(), on.month(), on.day())


class AuditDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None, *, clinic_id: str = ""):
        super().__init__(parent)
        self.setObjectName("auditDialog")
        self.setWindowTitle("Audit trail")
        self.context = context
        today = context.today()
        self.patient = QLineEdit(clinic_id)
        self.patient.setObjectName("patient")
        self.patient.setAccessibleName("Patient's clinic ID")
        self.patient.setPlaceholderText("clinic ID, e.g. TD-00012")
        self.patient.returnPressed.connect(self.search)
        self.user = QComboBox()
        self.user.setObjectName("user")
        self.user.setAccessibleName("User")
        self.user.addItem("anyone", None)
        self.action = QComboBox()
        self.action.setObjectName("action")
        self.action.setAccessibleName("Action")
        self.action.addItem("any action", None)
        for code, group in audit.ACTION_GROUPS.items():
            self.action.addItem(group, code)
        self.use_from = QCheckBox("from")
        self.use_from.setObjectName("use_from")
        self.use_from.setAccessibleName("Only events from a date")
        self.date_from = _date_edit("date_from", QDate(today.year, today.month, today.day).addDays(-30), "Events from")
        self.use_to = QCheckBox("to")
        self.use_to.setObjectName("use_to")
        self.use_to.setAccessibleName("Only events up to a date")
        self.date_to = _date_edit("date_to", QDate(today.year, today.month, today.day), "Events up to")
        search = named_button("Search", "primary")
        search.setDefault(True)
        search.clicked.connect(self.search)
        filters = QGridLayout()
        for column, (text, field) in enumerate(
            (("&Patient", self.patient), ("&User", self.user), ("&Action", self.action))
        ):
            label = QLabel(text)
            label.setBuddy(field)
            filters.addWidget(label, 0, 2 * column)
            filters.addWidget(field, 0, 2 * column + 1)
        dates = QHBoxLayout()
        for w in (self.use_from, self.date_from, self.use_to, self.date_to):
            dates.addWidget(w)
        dates.addStretch(1)
        dates.addWidget(search)
        filters.addLayout(dates, 1, 0, 1, 6)
        self.summary = QLabel()
        self.summary.setObjectName("auditSummary")
        self.model = RowsModel(AUDIT_COLUMNS, self)
        self.table = QTableView()
        self.table.setObjectName("auditTable")
        self.table.setAccessibleName("Audit events")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._show_details())
        self.details = QPlainTextEdit()
        self.details.setObjectName("auditDetails")
        self.details.setAccessibleName("What the selected event recorded")
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select an event to see what it recorded (before and after).")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setSizes([420, 160])
        self.chain = QLabel()
        self.chain.setObjectName("chainResult")
        self.chain.setWordWrap(True)
        verify = named_button("Verify the chain", "verify_chain")
        verify.setToolTip("Check that no event was edited, deleted or inserted since it was recorded")
        verify.clicked.connect(self.verify)
        bottom = QHBoxLayout()
        bottom.addWidget(verify)
        bottom.addWidget(self.chain, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        name_buttons(close)
        close.rejected.connect(self.reject)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)
        self.resize(1180, 720)
        context.jobs.run(
            lambda _p, _c: audit.actors(), on_done=self._fill_users, on_error=lambda e: show_error(self, e)
        )
        self.search()

    def _fill_users(self, people: list[tuple[int | None, str]]) -> None:
        for user_id, name in people:
            self.user.addItem(name, (user_id, name))

    def query(self) -> tuple[str, AuditQuery]:
        chosen = self.user.currentData()
        return self.patient.text().strip(), AuditQuery(
            actor_id=chosen[0] if chosen else None,
            actor_name=chosen[1] if chosen and chosen[0] is None else None,
            action=self.action.currentData(),
            date_from=_day(self.date_from) if self.use_from.isChecked() else None,
            date_to=_day(self.date_to) if self.use_to.isChecked() else None,
            limit=LIMIT,
        )

    def search(self) -> None:
        clinic_id, query = self.query()
        actor = self.context.actor

        def find(_p, _c) -> list[AuditEntry]:
            q = query
            if clinic_id:
                from dataclasses import replace

                q = replace(q, patient_id=patients.find_by_clinic_id(actor, clinic_id).id)
            return audit.search(actor, q)

        self.summary.setText("Searching…")
        self.context.jobs.run(find, on_done=self._show, on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.summary.setText(str(exc) if isinstance(exc, TeamDashError) else "")
        if not isinstance(exc, TeamDashError):
            show_error(self, exc)

    def _show(self, rows: list[AuditEntry]) -> None:
        self.model.set_rows(rows)
        more = " (the newest; narrow the filters to see older ones)" if len(rows) >= LIMIT else ""
        self.summary.setText(f"{len(rows):,} event{'s' if len(rows) != 1 else ''}{more}")
        self.details.clear()

    def _show_details(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.details.clear()
            return
        e = self.model.rows[rows[0].row()]
        parts = [f"Event {e.id}: {e.action} by {e.actor_name} on {e.workstation or 'an unknown workstation'} at {e.at}"]
        for label, data in (("Before", e.before), ("After", e.after), ("Details", e.details)):
            if data:
                parts.append(f"{label}:\n{json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)}")
        self.details.setPlainText("\n\n".join(parts))

    def verify(self) -> None:
        actor = self.context.actor
        self.chain.setText("Checking every event…")
        self.context.jobs.run(
            lambda _p, _c: audit.verify_chain(actor), on_done=self._verified, on_error=lambda e: show_error(self, e)
        )

    def _verified(self, check) -> None:
        if check.intact:
            self.chain.setStyleSheet(f"color: {palette.BETTER};")
            self.chain.setText(f"The chain is intact: {check.events:,} events, none edited, deleted or inserted.")
        else:
            self.chain.setStyleSheet(f"color: {palette.WORSE}; font-weight: bold;")
            self.chain.setText(f"The chain is broken at event {check.broken_at}: {check.problem}")
