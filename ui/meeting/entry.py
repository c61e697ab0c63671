"""The meeting screen's right-hand column: what is still open for the patient (action
items, overdue ones marked), the plan agreed at the last check-in, and what the team
types now: decisions, new action items (owner, due date, discipline), the next check-in
date, and "Reviewed".

Keyboard: Ctrl+D goes to the decision, Ctrl+I to a new action item; Enter adds;
Ctrl+Enter marks the patient reviewed; Delete removes a mistyped entry from the list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from teamdash.clinical import disciplines
from teamdash.services.action_items import ACTION_ITEMS, DECISIONS, ActionItemResult, DecisionResult
from teamdash.services.chart import PatientRecord
from teamdash.services.staff import StaffMember
from ui.meeting.common import date_edit, date_of, day, qdate, short_day, widget_shortcut
from ui.widgets import palette

ROW_ROLE = int(Qt.ItemDataRole.UserRole)
DUE_IN_DAYS = 14  # a new action item is due two weeks after the meeting unless changed


@dataclass(frozen=True)
class NewAction:
    text: str
    owner: int | None
    due_on: dt.date | None
    discipline: str | None


def _section(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("sectionTitle")
    return label


class EntryPanel(QFrame):
    """Shows and collects; the meeting window does the writing (on the database thread)."""

    decision_entered = Signal(str)
    action_entered = Signal(object)  # NewAction
    reviewed_requested = Signal(object, str)  # next check-in date, note
    remove_requested = Signal(object)  # DecisionResult | ActionItemResult

    def __init__(self, held_on: dt.date, next_checkin: dt.date, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("entryPanel")
        self.held_on, self.default_next = held_on, next_checkin
        self.staff: dict[int, StaffMember] = {}
        self.record: PatientRecord | None = None
        self.reviewed = False
        self._build()

    # --- building ---------------------------------------------------------------------

    def _build(self) -> None:
        self.open_actions = QListWidget(self)
        self.open_actions.setObjectName("openActions")
        self.open_actions.setAccessibleName("Open action items of this patient")
        self.open_actions.setWordWrap(True)
        self.open_actions.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.last_plan = QLabel(self)
        self.last_plan.setObjectName("lastPlan")
        self.last_plan.setWordWrap(True)
        self.last_plan.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.last_plan.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        plan_scroll = QScrollArea(self)
        plan_scroll.setWidgetResizable(True)
        plan_scroll.setFrameShape(QFrame.Shape.NoFrame)
        plan_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        plan_scroll.setWidget(self.last_plan)
        plan_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plan_title = _section("Plan from the last check-in", self)

        self.decision = QLineEdit(self)
        self.decision.setObjectName("decision")
        self.decision.setPlaceholderText("Type a decision, Enter adds it")
        self.decision.setAccessibleName("Decision (Ctrl+D)")
        self.decision.setMaxLength(DECISIONS.fields["text"].max_length or 32767)  # the service's limit
        self.decision.returnPressed.connect(self._enter_decision)
        self.add_decision = self._button("Add decision", "Add the decision (Enter)", self._enter_decision)

        self.action_text = QLineEdit(self)
        self.action_text.setObjectName("actionText")
        self.action_text.setPlaceholderText("What is to be done")
        self.action_text.setAccessibleName("New action item (Ctrl+I)")
        self.action_text.setMaxLength(ACTION_ITEMS.fields["text"].max_length or 32767)
        self.owner = QComboBox(self)
        self.owner.setObjectName("actionOwner")
        self.owner.setAccessibleName("Owner of the action item")
        self.due = date_edit(self.held_on + dt.timedelta(days=DUE_IN_DAYS), "Action item due by", self)
        self.due.setObjectName("actionDue")
        self.discipline = QComboBox(self)
        self.discipline.setObjectName("actionDiscipline")
        self.discipline.setAccessibleName("Discipline of the action item")
        self.discipline.addItem("— any —", None)
        for code in ACTION_ITEMS.fields["discipline"].allowed():  # the choices the service takes
            self.discipline.addItem(disciplines.get(code).name, code)
        self.add_action = self._button("Add action item", "Add the action item (Enter)", self._enter_action)
        for field in (self.action_text,):
            field.returnPressed.connect(self._enter_action)

        self.entries = QListWidget(self)
        self.entries.setObjectName("typedEntries")
        self.entries.setAccessibleName("Decisions and action items typed at this meeting: Delete removes one")
        self.entries.setWordWrap(True)
        widget_shortcut("Delete", self.entries, self._remove_selected)

        self.next_checkin = date_edit(self.default_next, "Next check-in", self)
        self.next_checkin.setObjectName("nextCheckin")
        self.note = QLineEdit(self)
        self.note.setObjectName("reviewNote")
        self.note.setPlaceholderText("Optional note for the check-in")
        self.note.setAccessibleName("Note for the check-in")
        self.reviewed_button = QPushButton("✓ Reviewed: record check-in", self)
        self.reviewed_button.setObjectName("reviewed")
        self.reviewed_button.setToolTip("Record this patient's check-in and go on to the next patient (Ctrl+Enter)")
        self.reviewed_button.setAccessibleName("Reviewed: record the check-in and go on (Ctrl+Enter)")
        self.reviewed_button.clicked.connect(self._reviewed)
        self.status = QLabel(self)
        self.status.setObjectName("reviewStatus")
        self.status.setWordWrap(True)

        decision_row = QHBoxLayout()
        decision_row.addWidget(self.decision, 1)
        decision_row.addWidget(self.add_decision)
        action_form = QFormLayout()
        action_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        action_form.addRow(self._label("&Action:", self.action_text), self.action_text)
        action_form.addRow(self._label("O&wner:", self.owner), self.owner)
        action_form.addRow(self._label("D&ue by:", self.due), self.due)
        action_form.addRow(self._label("Disci&pline:", self.discipline), self.discipline)
        add_row = QHBoxLayout()
        add_row.addStretch(1)
        add_row.addWidget(self.add_action)
        review_form = QFormLayout()
        review_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        review_form.addRow(self._label("Ne&xt check-in:", self.next_checkin), self.next_checkin)
        review_form.addRow(self._label("N&ote:", self.note), self.note)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(5)
        self.actions_title = _section("Open action items", self)
        layout.addWidget(self.actions_title)
        layout.addWidget(self.open_actions, 2)
        layout.addWidget(self.plan_title)
        layout.addWidget(plan_scroll, 2)
        layout.addWidget(_section("This meeting", self))
        decision_label = self._label("&Decision:", self.decision)
        layout.addWidget(decision_label)
        layout.addLayout(decision_row)
        layout.addLayout(action_form)
        layout.addLayout(add_row)
        layout.addWidget(self.entries, 2)
        layout.addLayout(review_form)
        layout.addWidget(self.reviewed_button)
        layout.addWidget(self.status)
        for first, second in (
            (self.decision, self.add_decision),
            (self.add_decision, self.action_text),
            (self.action_text, self.owner),
            (self.owner, self.due),
            (self.due, self.discipline),
            (self.discipline, self.add_action),
            (self.add_action, self.entries),
            (self.entries, self.next_checkin),
            (self.next_checkin, self.note),
            (self.note, self.reviewed_button),
        ):
            QWidget.setTabOrder(first, second)

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setBuddy(buddy)
        return label

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.setAccessibleName(text)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    # --- filling --------------------------------------------------------------------------

    def set_staff(self, members: list[StaffMember], me: int | None) -> None:
        self.staff = {m.id: m for m in members}
        self.owner.clear()
        self.owner.addItem("— choose the owner —", None)
        for member in members:
            self.owner.addItem(f"{member.full_name} ({member.discipline or member.role.replace('_', ' ')})", member.id)
        self.owner.setCurrentIndex(max(0, self.owner.findData(me)))

    def set_patient(
        self,
        record: PatientRecord,
        decisions: list[DecisionResult],
        actions: list[ActionItemResult],
        *,
        meeting_id: int,
        reviewed: bool,
    ) -> None:
        patient_changed = self.record is None or self.record.patient.id != record.patient.id
        self.record = record
        self.reviewed = reviewed
        self._show_open_actions(record, meeting_id)
        self._show_last_plan(record)
        self._show_entries(decisions, actions)
        self.reviewed_button.setEnabled(not reviewed)
        self.status.setText("Reviewed at this meeting: check-in recorded." if reviewed else "")
        if patient_changed:
            self.decision.clear()
            self.action_text.clear()
            self.note.clear()
            self.due.setDate(qdate(self.held_on + dt.timedelta(days=DUE_IN_DAYS)))
            self.next_checkin.setDate(qdate(self.default_next))

    def owner_name(self, user_id: int | None) -> str:
        member = self.staff.get(user_id) if user_id is not None else None
        return member.full_name if member else "no owner"

    def _show_open_actions(self, record: PatientRecord, meeting_id: int) -> None:
        self.open_actions.clear()
        earlier = sorted(
            (a for a in record.open_actions if a.meeting != meeting_id),
            key=lambda a: (a.due_on or dt.date.max, a.id),
        )
        for action in earlier:
            overdue = action.overdue(record.today)
            due = f"overdue since {short_day(action.due_on)}" if overdue else f"due {short_day(action.due_on)}"
            about = [self.owner_name(action.owner)]
            if action.discipline:
                about.append(disciplines.get(action.discipline).short)
            about.append(due if action.due_on else "no due date")
            item = QListWidgetItem(f"{'⚠ OVERDUE: ' if overdue else '• '}{action.text} ({', '.join(about)})")
            if overdue:
                item.setForeground(QColor(palette.OVERDUE))
            self.open_actions.addItem(item)
        if not earlier:
            self.open_actions.addItem(QListWidgetItem("No open action items"))
        count = len(earlier)
        late = sum(1 for a in earlier if a.overdue(record.today))
        self.actions_title.setText(
            f"Open action items ({count}{f', {late} overdue' if late else ''})" if count else "Open action items"
        )

    def _show_last_plan(self, record: PatientRecord) -> None:
        last = record.last_checkin
        if last is None:
            self.plan_title.setText("Plan from the last check-in")
            self.last_plan.setText("No check-in recorded yet.")
            return
        self.plan_title.setText(f"Plan from the last check-in ({day(last.held_on)})")
        decisions = [d.text for d in record.decisions if d.checkin == last.id and d.text != last.narrative]
        parts = [last.narrative or "No plan was written down."]
        if decisions:
            parts.append("Decisions: " + "; ".join(decisions))
        self.last_plan.setText("\n\n".join(parts))

    def _show_entries(self, decisions: list[DecisionResult], actions: list[ActionItemResult]) -> None:
        self.entries.clear()
        for decision in decisions:
            item = QListWidgetItem(f"Decision: {decision.text}")
            item.setData(ROW_ROLE, decision)
            self.entries.addItem(item)
        for action in actions:
            about = [self.owner_name(action.owner)]
            if action.due_on:
                about.append(f"due {short_day(action.due_on)}")
            if action.discipline:
                about.append(disciplines.get(action.discipline).short)
            item = QListWidgetItem(f"Action: {action.text} ({', '.join(about)})")
            item.setData(ROW_ROLE, action)
            self.entries.addItem(item)

    def entry_texts(self) -> list[str]:
        return [self.entries.item(i).text() for i in range(self.entries.count())]

    # --- entering -------------------------------------------------------------------------

    def focus_decision(self) -> None:
        self.decision.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_action(self) -> None:
        self.action_text.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _enter_decision(self) -> None:
        text = self.decision.text().strip()
        if text:
            self.decision_entered.emit(text)

    def decision_saved(self) -> None:
        self.decision.clear()

    def _enter_action(self) -> None:
        text = self.action_text.text().strip()
        if text:
            self.action_entered.emit(
                NewAction(text, self.owner.currentData(), date_of(self.due), self.discipline.currentData())
            )

    def action_saved(self) -> None:
        self.action_text.clear()
        self.action_text.setFocus()

    def _remove_selected(self) -> None:
        item = self.entries.currentItem()
        if item is not None and item.data(ROW_ROLE) is not None:
            self.remove_requested.emit(item.data(ROW_ROLE))

    def _reviewed(self) -> None:
        if not self.reviewed:
            self.reviewed_requested.emit(date_of(self.next_checkin), self.note.text().strip())
