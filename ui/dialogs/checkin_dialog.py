"""Patient → Prepare check-in… (Ctrl+K): the case manager's check-in.

The summary since the last check-in on the left, as it will print; on the right the
check-in itself: the day, who attended (from staff), the narrative, the plan for the
next period, the next check-in date and the supporters the patient wants named on the
handout. "Save check-in" records it with its summary frozen as a snapshot and sets the
next date. Past check-ins are listed at the top and open read-only, marked where today's
data differs from what the team signed off.

Output: the summary as PDF (A4 or Letter), printed, or copied as plain text for the
clinic's record system; the patient's handout as PDF or printed. Each one is an audit
event. In privacy mode (``context.presentation.privacy``) nothing shows or prints the
patient's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QDate, QEvent, QObject, QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut, QShowEvent
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from teamdash import files
from teamdash.errors import TeamDashError
from teamdash.services import checkin_summary, checkin_text, handout, staff
from teamdash.services.checkin_summary import CheckinSummary, SavedCheckin, Signoff
from teamdash.services.checkins import CheckInResult
from teamdash.services.staff import StaffMember
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs.confirm import confirm
from ui.errors import show_error
from ui.reports import pdf, summary_doc
from ui.widgets import palette

NEW = -1  # the check-in list's entry for the check-in being prepared
PREVIEW_DELAY_MS = 400  # typing pauses this long before the preview follows
PAGE_SIZE_KEY = "reports/page_size"
PREVIEW_SHARE = 0.56  # of the window's width: the summary reads like the printed page


@dataclass(frozen=True)
class Loaded:
    """What the window needs, read on the database thread in one go."""

    summary: CheckinSummary
    checkins: tuple[CheckInResult, ...]  # latest first
    staff: tuple[StaffMember, ...]


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


def _date_edit(name: str) -> QDateEdit:
    edit = QDateEdit()
    edit.setObjectName(name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("dd MMM yyyy")
    return edit


def _label(text: str, buddy: QWidget | None = None) -> QLabel:
    label = QLabel(text)
    label.setObjectName("fieldLabel")
    if buddy is not None:
        label.setBuddy(buddy)
    return label


class CheckinWindow(QDialog):
    def __init__(self, context: AppContext, patient_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("checkinWindow")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.context, self.patient_id = context, patient_id
        self.summary: CheckinSummary | None = None  # the check-in being prepared
        self.saved: SavedCheckin | None = None  # the past check-in shown, when one is
        self.checkins: tuple[CheckInResult, ...] = ()
        self.staff: tuple[StaffMember, ...] = ()
        self.since: dt.date | None = None  # None: since the last check-in
        self.dirty = False
        self._loading = False
        # The check-in being typed survives a look at a past one (see _stash_draft).
        self._draft: tuple | None = None
        self._shown = False
        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(PREVIEW_DELAY_MS)
        self.preview_timer.timeout.connect(self.render_preview)
        self._build()
        self._set_busy("Loading the summary…")
        context.presentation.privacy_changed.connect(self._privacy_changed)
        context.changes.changed.connect(self._data_changed)
        self.load()

    # --- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.choice = QComboBox()
        self.choice.setObjectName("checkinChoice")
        self.choice.setAccessibleName("Check-in to show")
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.choice.currentIndexChanged.connect(self._choice_changed)
        self.since_edit = _date_edit("sinceDate")
        self.since_edit.setAccessibleName("Summary from")
        self.since_edit.setToolTip("The first day the summary covers (by default the day after the last check-in)")
        self.since_edit.dateChanged.connect(self._since_changed)
        self.since_reset = QPushButton("Since last check-in")
        self.since_reset.setObjectName("sinceReset")
        self.since_reset.clicked.connect(lambda: self._set_since(None))
        self.status = QLabel()
        self.status.setObjectName("checkinStatus")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(_label("&Check-in:", self.choice))
        top.addWidget(self.choice)
        top.addSpacing(12)
        self.since_label = _label("Summary &from:", self.since_edit)
        top.addWidget(self.since_label)
        top.addWidget(self.since_edit)
        top.addWidget(self.since_reset)
        top.addSpacing(12)
        top.addWidget(self.status, 1)

        self.preview = QTextBrowser()
        self.preview.setObjectName("summaryPreview")
        self.preview.setAccessibleName("Check-in summary")
        self.preview.setOpenLinks(False)
        self.preview.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.preview.viewport().installEventFilter(self)

        self.form = QWidget()
        self.form.setObjectName("checkinForm")
        self.held_on = _date_edit("heldOn")
        self.held_on.setAccessibleName("Check-in held on")
        self.held_on.dateChanged.connect(self._held_on_changed)
        self.attendees = QListWidget()
        self.attendees.setObjectName("attendees")
        self.attendees.setAccessibleName("Attendees")
        self.attendees.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.attendees.itemChanged.connect(lambda _item: self._edited())
        self.narrative = QPlainTextEdit()
        self.narrative.setObjectName("narrative")
        self.narrative.setAccessibleName("Narrative")
        self.narrative.setPlaceholderText("How the period went, in the team's words.")
        self.narrative.setTabChangesFocus(True)
        self.narrative.textChanged.connect(self._edited)
        self.draft_button = QPushButton("Draft from the summary")
        self.draft_button.setObjectName("draftNarrative")
        self.draft_button.setToolTip("Start the narrative from the measures, attendance, flares and return to work")
        self.draft_button.clicked.connect(self.draft_narrative)
        self.plan = QPlainTextEdit()
        self.plan.setObjectName("plan")
        self.plan.setAccessibleName("Plan for the next period")
        self.plan.setPlaceholderText("One step a line. The steps appear on the patient's handout: plain words.")
        self.plan.setTabChangesFocus(True)
        self.plan.textChanged.connect(self._edited)
        self.next_checkin = _date_edit("nextCheckin")
        self.next_checkin.setAccessibleName("Next check-in")
        self.next_checkin.dateChanged.connect(lambda _d: self._edited())
        self.supporters = QListWidget()
        self.supporters.setObjectName("handoutSupporters")
        self.supporters.setAccessibleName("Supporters named on the handout")
        self.supporters.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.supporters.itemChanged.connect(lambda _item: self._edited())
        self.no_supporters = QLabel("No support contacts recorded.")
        self.no_supporters.setObjectName("muted")
        self.save_button = QPushButton("&Save check-in")
        self.save_button.setObjectName("primary")
        self.save_button.setToolTip("Record the check-in with this summary, frozen, and set the next check-in (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.readonly_note = QLabel()
        self.readonly_note.setObjectName("readonlyNote")
        # One line, no word wrap: a wrapping label would make the form size itself by
        # height-for-width and scroll instead of filling the pane.
        self.readonly_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readonly_note.hide()

        dates = QHBoxLayout()
        dates.addWidget(_label("&Held on", self.held_on))
        dates.addWidget(self.held_on)
        dates.addSpacing(10)
        dates.addWidget(_label("&Next check-in", self.next_checkin))
        dates.addWidget(self.next_checkin)
        dates.addStretch(1)
        narrative_head = QHBoxLayout()
        narrative_head.addWidget(_label("Na&rrative", self.narrative))
        narrative_head.addStretch(1)
        narrative_head.addWidget(self.draft_button)
        form = QVBoxLayout(self.form)
        form.setContentsMargins(4, 0, 8, 0)
        form.addWidget(self.readonly_note)
        form.addLayout(dates)
        form.addWidget(_label("A&ttendees", self.attendees))
        form.addWidget(self.attendees)
        form.addLayout(narrative_head)
        form.addWidget(self.narrative, 2)
        form.addWidget(_label("&Plan for the next period", self.plan))
        form.addWidget(self.plan, 2)
        form.addWidget(_label("Named on the patient's &handout (the patient's choice)", self.supporters))
        form.addWidget(self.supporters)
        form.addWidget(self.no_supporters)
        saving = QHBoxLayout()
        saving.addStretch(1)
        saving.addWidget(self.save_button)
        form.addLayout(saving)
        scroll = QScrollArea()
        scroll.setObjectName("checkinFormScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("checkinSplitter")
        self.splitter.addWidget(self.preview)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        self.page_size = QComboBox()
        self.page_size.setObjectName("pageSize")
        self.page_size.setAccessibleName("Paper size")
        self.page_size.addItems(list(pdf.PAGE_SIZES))
        self.page_size.setCurrentText(str(self.context.settings.value(PAGE_SIZE_KEY, pdf.locale_page_size())))
        self.page_size.currentTextChanged.connect(lambda size: self.context.settings.setValue(PAGE_SIZE_KEY, size))
        self.pdf_button = self._button(
            "Summary &PDF…", "summaryPdf", self.save_summary_pdf, "Save the summary as a PDF"
        )
        self.print_button = self._button(
            "P&rint summary…", "printSummary", self.print_summary, "Print the summary (Ctrl+P)"
        )
        self.copy_button = self._button(
            "Cop&y as text", "copyText", self.copy_text, "Copy the summary as plain text for the record system"
        )
        self.handout_pdf_button = self._button(
            "Handout P&DF…",
            "handoutPdf",
            self.save_handout_pdf,
            "The patient's plain-language progress handout as a PDF",
        )
        self.handout_print_button = self._button(
            "Print hand&out…", "printHandout", self.print_handout, "Print the patient's handout"
        )
        self.close_button = self._button("Close", "closeButton", self.close, "Close the check-in (Esc)")
        bottom = QHBoxLayout()
        bottom.addWidget(_label("Pap&er:", self.page_size))
        bottom.addWidget(self.page_size)
        bottom.addSpacing(8)
        for button in (self.pdf_button, self.print_button, self.copy_button):
            bottom.addWidget(button)
        bottom.addSpacing(16)
        for button in (self.handout_pdf_button, self.handout_print_button):
            bottom.addWidget(button)
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(bottom)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Save), self, self.save)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Print), self, self.print_summary)
        self._retitle()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            total = max(1, self.splitter.width())
            preview = int(total * PREVIEW_SHARE)
            self.splitter.setSizes([preview, total - preview])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.preview.viewport() and event.type() == QEvent.Type.Resize:
            self.preview_timer.start()  # the figures follow the preview's width
        return super().eventFilter(watched, event)

    def _button(self, text: str, name: str, slot: Callable[[], object], tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    # --- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        actor, patient_id, since = self.context.actor, self.patient_id, self.since
        held_on = _day(self.held_on.date()) if self.summary is not None else self.context.today()

        def read(_progress, _cancelled) -> Loaded:
            summary = checkin_summary.build_summary(actor, patient_id, since=since, until=held_on)
            return Loaded(
                summary,
                tuple(checkin_summary.list_checkins(actor, patient_id)),
                tuple(staff.list_staff(actor)),
            )

        self._loading = True
        self.context.jobs.run(read, on_done=self._loaded, on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self._set_busy("")
        show_error(self, exc)

    def _loaded(self, loaded: Loaded) -> None:
        self._loading = False
        status = self.status.text() if self.saved is not None else ""
        first = self.summary is None
        self.summary, self.checkins, self.staff = loaded.summary, loaded.checkins, loaded.staff
        with QSignalBlocker(self.choice):
            current = self.choice.currentData()
            self.choice.clear()
            self.choice.addItem("New check-in (preparing)", NEW)
            for c in self.checkins:
                self.choice.addItem(f"{c.held_on:%d %b %Y} · saved", c.id)
            index = self.choice.findData(current) if current is not None else 0
            self.choice.setCurrentIndex(max(0, index))
        with QSignalBlocker(self.since_edit):
            self.since_edit.setDate(_qdate(loaded.summary.period.start))
            self.since_edit.setMaximumDate(_qdate(loaded.summary.period.end))
        self._retitle()
        if self.choice.currentData() in (NEW, None):
            if first:
                self._fill_new_form()
            else:
                self._sync_supporters()
            self._show_new()
        elif first:
            self._draft = None  # back on the new check-in, the form starts afresh
        self.status.setText(status or self._period_text())

    def _fill_new_form(self) -> None:
        summary = self.summary
        assert summary is not None
        today = self.context.today()
        blockers = [
            QSignalBlocker(w) for w in (self.held_on, self.next_checkin, self.narrative, self.plan, self.attendees)
        ]
        self.held_on.setMaximumDate(_qdate(today + dt.timedelta(days=1)))
        self.held_on.setDate(_qdate(today))
        self.next_checkin.setDate(_qdate(checkin_summary.default_next_checkin(today)))
        self.attendees.clear()
        me, manager = self.context.actor.user_id, summary.patient.case_manager
        for member in self.staff:
            discipline = f" ({member.discipline})" if member.discipline else ""
            item = QListWidgetItem(f"{member.full_name}{discipline}")
            item.setData(Qt.ItemDataRole.UserRole, member.id)
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            chosen = member.id == me or member.full_name == manager
            item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)
            self.attendees.addItem(item)
        del blockers
        self._sync_supporters()
        self.dirty = False

    def _sync_supporters(self, summary: CheckinSummary | None = None) -> None:
        summary = summary or self.summary
        if summary is None:
            return
        with QSignalBlocker(self.supporters):
            self.supporters.clear()
            for s in summary.supporters:
                # In privacy mode a supporter shows by initials, as in the support-network
                # panel: a name is personal data (and may carry the patient's own).
                who = staff.initials(s.name) if self.privacy else s.name
                item = QListWidgetItem(f"{who} ({s.relationship})")
                item.setData(Qt.ItemDataRole.UserRole, s.id)
                item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                item.setCheckState(Qt.CheckState.Checked if s.on_handout else Qt.CheckState.Unchecked)
                self.supporters.addItem(item)
        self.supporters.setVisible(bool(summary.supporters))
        self.no_supporters.setVisible(not summary.supporters)
        self._fit_list(self.supporters)
        self._fit_list(self.attendees, rows=6)

    def _fit_list(self, widget: QListWidget, rows: int = 4) -> None:
        row = widget.sizeHintForRow(0) if widget.count() else widget.fontMetrics().height() + 4
        widget.setFixedHeight(row * min(max(1, widget.count()), rows) + 2 * widget.frameWidth() + 2)

    # --- what is shown ------------------------------------------------------------------------

    def _period_text(self) -> str:
        if self.saved is not None:
            n = len(self.saved.changes)
            if self.saved.summary is None:
                return "Saved check-in (recorded without a summary), read-only."
            if n:
                return f"Saved check-in, read-only. Changed since this check-in: {n} item{'s' if n != 1 else ''} (marked ⚠)."
            return "Saved check-in, read-only. The data it was built from is unchanged."
        if self.summary is None:
            return ""
        return f"Summary {self.summary.period.label}."

    def signoff(self) -> Signoff:
        """The check-in as typed so far."""
        return Signoff(
            held_on=_day(self.held_on.date()),
            attendees=tuple(item.text() for item in self._checked(self.attendees)),
            narrative=self.narrative.toPlainText().strip() or None,
            plan=self.plan.toPlainText().strip() or None,
            next_checkin=_day(self.next_checkin.date()),
        )

    def _checked(self, widget: QListWidget) -> list[QListWidgetItem]:
        items = (widget.item(i) for i in range(widget.count()))
        return [item for item in items if item.checkState() == Qt.CheckState.Checked]

    def _ids(self, widget: QListWidget) -> list[int]:
        return [int(item.data(Qt.ItemDataRole.UserRole)) for item in self._checked(widget)]

    @property
    def privacy(self) -> bool:
        return bool(self.context.presentation.privacy)

    def current(self) -> tuple[CheckinSummary | None, Signoff, dict[str, str], int | None]:
        """What the output buttons produce: the saved check-in shown, or the one being prepared."""
        if self.saved is not None:
            return self.saved.summary, self.saved.signoff, dict(self.saved.changes), self.saved.checkin.id
        return self.summary, self.signoff(), {}, None

    def render_preview(self) -> None:
        summary, signoff, changes, checkin_id = self.current()
        if summary is None and self.saved is not None:
            clinic_id = self.summary.patient.clinic_id if self.summary else ""
            pdf.show_in(self.preview, summary_doc.checkin_without_summary_report(clinic_id, signoff))
            return
        if summary is None:
            return
        report = summary_doc.summary_report(
            summary, signoff, privacy=self.privacy, changes=changes, draft=checkin_id is None
        )
        scroll = self.preview.verticalScrollBar().value()
        pdf.show_in(self.preview, report, widest_figure_row_mm=summary_doc.WIDEST_ROW_MM)
        self.preview.verticalScrollBar().setValue(scroll)

    def _show_new(self) -> None:
        self.saved = None
        self._set_editable(True)
        self.render_preview()

    def _set_editable(self, editable: bool) -> None:
        writable = self.context.actor.can("write_checkin")
        for text in (self.narrative, self.plan):
            text.setReadOnly(not editable)
        inputs: tuple[QWidget, ...] = (
            self.held_on,
            self.next_checkin,
            self.attendees,
            self.supporters,
            self.draft_button,
        )
        for widget in inputs:
            widget.setEnabled(editable)
        period: tuple[QWidget, ...] = (self.since_edit, self.since_reset, self.since_label)
        for widget in period:
            widget.setVisible(editable)
        self.save_button.setVisible(editable)
        self.save_button.setEnabled(editable and writable and self.summary is not None)
        if editable and not writable:
            self.save_button.setToolTip(f"{self.context.actor.display_name} may read check-ins but not record them")
        has_output = self.context.actor.can("export")
        for button in (self.pdf_button, self.print_button, self.copy_button):
            button.setEnabled(has_output)
        handout_ok = has_output and (self.saved is None or self.saved.summary is not None)
        self.handout_pdf_button.setEnabled(handout_ok)
        self.handout_print_button.setEnabled(handout_ok)
        if editable:
            self.readonly_note.hide()
        else:
            c = self.saved.checkin if self.saved else None
            self.readonly_note.setText(
                f"<b>Saved check-in of {c.held_on:%d %b %Y}</b>, read-only; ⚠ marks today's differences." if c else ""
            )
            self.readonly_note.setStyleSheet(
                f"background: #eef3f9; padding: 6px; border-left: 4px solid {palette.NEUTRAL};"
            )
            self.readonly_note.show()

    def _choice_changed(self, _index: int) -> None:
        checkin_id = self.choice.currentData()
        if checkin_id in (NEW, None):
            if self._draft is not None:
                self._restore_draft()
            elif self.summary is not None:
                self._fill_new_form()
            self._show_new()
            self.status.setText(self._period_text())
            return
        self._stash_draft()
        self._set_busy("Opening the saved check-in…")
        actor = self.context.actor
        self.context.jobs.run(
            lambda _p, _c: checkin_summary.open_checkin(actor, int(checkin_id)),
            on_done=self._show_saved,
            on_error=self._failed,
        )

    def _show_saved(self, saved: SavedCheckin) -> None:
        if self.choice.currentData() != saved.checkin.id:
            return  # the user moved on while it loaded
        self.saved = saved
        signoff = saved.signoff
        blockers = [
            QSignalBlocker(w) for w in (self.held_on, self.next_checkin, self.narrative, self.plan, self.attendees)
        ]
        self.held_on.setDate(_qdate(signoff.held_on))
        if signoff.next_checkin:
            self.next_checkin.setDate(_qdate(signoff.next_checkin))
        self.narrative.setPlainText(signoff.narrative or "")
        self.plan.setPlainText(signoff.plan or "")
        self.attendees.clear()
        for name in signoff.attendees:
            item = QListWidgetItem(name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.attendees.addItem(item)
        del blockers
        self._sync_supporters(saved.summary)
        self._set_editable(False)
        self.render_preview()
        self.status.setText(self._period_text())

    def _stash_draft(self) -> None:
        if self.saved is None:
            self._draft = (
                self.held_on.date(),
                self.next_checkin.date(),
                self.narrative.toPlainText(),
                self.plan.toPlainText(),
                self._ids(self.attendees),
                self._ids(self.supporters),
                self.dirty,
            )

    def _restore_draft(self) -> None:
        if self._draft is None or self.summary is None:
            return
        held, next_date, narrative, plan, attendees, supporters, dirty = self._draft
        self._fill_new_form()
        blockers = [
            QSignalBlocker(w)
            for w in (self.held_on, self.next_checkin, self.narrative, self.plan, self.attendees, self.supporters)
        ]
        self.held_on.setDate(held)
        self.next_checkin.setDate(next_date)
        self.narrative.setPlainText(narrative)
        self.plan.setPlainText(plan)
        for widget, ids in ((self.attendees, attendees), (self.supporters, supporters)):
            for i in range(widget.count()):
                item = widget.item(i)
                chosen = item.data(Qt.ItemDataRole.UserRole) in ids
                item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)
        del blockers
        self.dirty = dirty
        self._draft = None

    # --- editing ------------------------------------------------------------------------------

    def _edited(self) -> None:
        if self.saved is None and self.summary is not None:
            self.dirty = True
            self.preview_timer.start()

    def _since_changed(self, value: QDate) -> None:
        self._set_since(_day(value))

    def _set_since(self, since: dt.date | None) -> None:
        if since == self.since:
            return
        self.since = since
        self._set_busy("Rebuilding the summary…")
        self.load()

    def _held_on_changed(self, _value: QDate) -> None:
        self._edited()
        if self.saved is None and self.summary is not None and self.summary.period.end != _day(self.held_on.date()):
            self.load()  # the summary runs to the check-in's day

    def draft_narrative(self) -> None:
        if self.summary is None:
            return
        draft = checkin_text.draft_narrative(self.summary)
        current = self.narrative.toPlainText().strip()
        self.narrative.setPlainText(f"{current}\n\n{draft}" if current else draft)
        self.narrative.setFocus()

    def _set_busy(self, text: str) -> None:
        self.status.setText(text)

    def _retitle(self) -> None:
        s = self.summary
        if s is None:
            self.setWindowTitle("Prepare check-in")
            return
        who = (
            f"{s.patient.initials} · {s.patient.clinic_id}"
            if self.privacy
            else f"{s.patient.full_name} · {s.patient.clinic_id}"
        )
        self.setWindowTitle(f"Prepare check-in — {who}")

    def _privacy_changed(self, _on: bool) -> None:
        self._retitle()
        chosen = self._ids(self.supporters)
        self._sync_supporters(self.saved.summary if self.saved is not None else None)
        for i in range(self.supporters.count()):
            item = self.supporters.item(i)
            if self.saved is None:
                checked = item.data(Qt.ItemDataRole.UserRole) in chosen
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.render_preview()

    def _data_changed(self, changes: Changes) -> None:
        """Another part of the app wrote for this patient: rebuild the summary (the typed
        check-in stays as it is)."""
        if changes.touches(self.patient_id) and not self._loading and self.summary is not None:
            self.load()
            if self.saved is not None:
                self._choice_changed(self.choice.currentIndex())

    # --- saving -------------------------------------------------------------------------------

    def save(self) -> None:
        if self.saved is not None or self.summary is None or not self.save_button.isEnabled():
            return
        actor, patient_id = self.context.actor, self.patient_id
        signoff = self.signoff()
        attendees, supporters, since = self._ids(self.attendees), self._ids(self.supporters), self.since

        def write(_progress, _cancelled) -> SavedCheckin:
            return checkin_summary.save_checkin(
                actor,
                patient_id,
                held_on=signoff.held_on,
                attendees=attendees,
                narrative=signoff.narrative,
                plan=signoff.plan,
                next_checkin=signoff.next_checkin,
                since=since,
                on_handout=supporters,
            )

        self.save_button.setEnabled(False)
        self._set_busy("Saving the check-in…")
        self.context.jobs.run(write, on_done=self._saved, on_error=self._save_failed)

    def _save_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        self._set_busy("")
        show_error(self, exc)

    def _saved(self, saved: SavedCheckin) -> None:
        self.dirty = False
        self._draft = None
        self.since = None
        self.summary = None  # the next check-in starts from this one
        with QSignalBlocker(self.choice):
            self.choice.insertItem(1, f"{saved.checkin.held_on:%d %b %Y} · saved", saved.checkin.id)
            self.choice.setCurrentIndex(1)
        self._show_saved(saved)
        self.load()  # the list of check-ins, and the next period's summary
        self.context.changes.emit(Changes.of(self.patient_id, "checkin", "patient", "plan"))
        self.status.setText(
            f"Check-in of {saved.checkin.held_on:%d %b %Y} saved; next check-in "
            f"{checkin_text.day(saved.checkin.next_checkin)}."
        )

    # --- output -------------------------------------------------------------------------------

    def _audit(self, kind: str, form: str, *, file_name: str | None = None, page_size: str | None = None) -> None:
        summary, _signoff, _changes, checkin_id = self.current()
        period = summary.period if summary is not None else None
        if period is None:
            return
        actor, patient_id, privacy = self.context.actor, self.patient_id, self.privacy
        self.context.jobs.run(
            lambda _p, _c: checkin_summary.record_output(
                actor,
                patient_id,
                kind=kind,
                form=form,
                period=period,
                checkin_id=checkin_id,
                privacy=privacy,
                page_size=page_size,
                file_name=file_name,
            ),
            on_error=lambda exc: show_error(self, exc),
        )

    def summary_report(self) -> pdf.Report | None:
        summary, signoff, changes, checkin_id = self.current()
        if summary is None:
            if self.saved is not None:
                clinic_id = self.summary.patient.clinic_id if self.summary else ""
                return summary_doc.checkin_without_summary_report(clinic_id, signoff)
            return None
        return summary_doc.summary_report(
            summary, signoff, privacy=self.privacy, changes=changes, draft=checkin_id is None
        )

    def handout_report(self) -> pdf.Report | None:
        summary, signoff, _changes, _checkin_id = self.current()
        if summary is None:
            return None
        chosen = self._ids(self.supporters)
        if self.saved is None:  # the choice as ticked now, before it is saved
            summary = _with_handout_choice(summary, chosen)
        return summary_doc.handout_report(handout.build_handout(summary, signoff, privacy=self.privacy))

    def _file_name(self, what: str) -> str:
        summary, signoff, _c, _i = self.current()
        clinic_id = (
            summary.patient.clinic_id if summary else (self.summary.patient.clinic_id if self.summary else "patient")
        )
        return f"{clinic_id}-{what}-{signoff.held_on:%Y-%m-%d}.pdf"

    def _ask_path(self, title: str, what: str) -> Path | None:
        start = str(Path(str(self.context.settings.value("reports/folder", Path.home()))) / self._file_name(what))
        path, _filter = QFileDialog.getSaveFileName(self, title, start, "PDF documents (*.pdf)")
        if not path:
            return None
        if not path.lower().endswith(".pdf"):
            path += ".pdf"
        target = files.output_file(path, force=True)  # the file dialog asked before replacing
        self.context.settings.setValue("reports/folder", str(target.parent))
        return target

    def _write(self, report: pdf.Report | None, title: str, what: str, kind: str) -> Path | None:
        if report is None:
            return None
        try:
            target = self._ask_path(title, what)
        except TeamDashError as exc:
            show_error(self, exc)
            return None
        if target is None:
            return None
        size = self.page_size.currentText()
        try:
            pages = pdf.write_pdf(target, report, page_size=size)
        except OSError as exc:
            show_error(self, files.write_failed(target, exc))
            return None
        self._audit(kind, "pdf", file_name=target.name, page_size=size)
        self.status.setText(f"Saved {target.name} ({pages} page{'s' if pages != 1 else ''}, {size}).")
        return target

    def save_summary_pdf(self) -> Path | None:
        return self._write(self.summary_report(), "Save the check-in summary as PDF", "check-in", "summary")

    def save_handout_pdf(self) -> Path | None:
        return self._write(self.handout_report(), "Save the patient's handout as PDF", "handout", "handout")

    def choose_printer(self) -> QPrinter | None:
        """The printer the user picks in the system's print dialog (None: cancelled)."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print")
        return printer if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _print(self, report: pdf.Report | None, kind: str) -> None:
        if report is None:
            return
        printer = self.choose_printer()
        if printer is None:
            return
        try:
            pages = pdf.print_report(printer, report)
        except OSError as exc:
            show_error(self, TeamDashError(f"printing failed: {exc}"))
            return
        self._audit(kind, "print", page_size=pdf._size_name(printer.pageLayout().pageSize()))
        self.status.setText(f"Sent {pages} page{'s' if pages != 1 else ''} to the printer.")

    def print_summary(self) -> None:
        self._print(self.summary_report(), "summary")

    def print_handout(self) -> None:
        self._print(self.handout_report(), "handout")

    def copy_text(self) -> str | None:
        summary, signoff, _changes, _checkin_id = self.current()
        if summary is None:
            return None
        text = checkin_text.summary_text(summary, signoff, privacy=self.privacy)
        QGuiApplication.clipboard().setText(text)
        self._audit("summary", "text")
        self.status.setText("The summary is on the clipboard as plain text.")
        return text

    # --- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._may_close():
            event.accept()
        else:
            event.ignore()

    def reject(self) -> None:
        if self._may_close():
            super().reject()

    def _may_close(self) -> bool:
        typed = self.dirty or (self._draft is not None and self._draft[-1])
        if not typed:
            return True
        return confirm(
            self,
            "Close the check-in",
            "The check-in has not been saved. Close and discard what you typed?",
            action="Discard",
            destructive=True,
        )


def _with_handout_choice(summary: CheckinSummary, chosen: list[int]) -> CheckinSummary:
    return replace(summary, supporters=tuple(replace(s, on_handout=s.id in chosen) for s in summary.supporters))


def fit_to_screen(window: QWidget) -> None:
    """Most of the screen: the summary needs width, the form needs height."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(1280, 720)
        return
    area = screen.availableGeometry()
    window.resize(min(1500, int(area.width() * 0.94)), min(980, int(area.height() * 0.92)))


def open_checkin_window(context: AppContext, patient_id: int, parent: QWidget | None = None) -> CheckinWindow:
    window = CheckinWindow(context, patient_id, parent)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    fit_to_screen(window)
    window.show()
    return window
