"""The page an empty database opens on: load the demo clinic (built on the database
thread with progress and cancel) or import the clinic's data."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from teamdash import demo
from teamdash.errors import Cancelled
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error
from ui.jobs import JobHandle
from ui.widgets.cards import centre_card

log = logging.getLogger(__name__)

DEMO_PATIENTS = 60


class FirstStartPage(QWidget):
    """Shown instead of the list and patient view while the database holds no patients."""

    demo_loaded = Signal(int)  # number of patients created

    def __init__(
        self,
        context: AppContext,
        database: str,
        import_action: Callable[[], QAction | None],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("firstStart")
        self.context = context
        self.import_action = import_action
        self.job: JobHandle | None = None
        self.progress: QProgressDialog | None = None

        title = QLabel("Welcome to TeamDash", self)
        title.setObjectName("welcomeTitle")
        where = QLabel(f"This clinic database is empty:<br><span style='color:#6b7580'>{database}</span>", self)
        where.setTextFormat(Qt.TextFormat.RichText)
        where.setWordWrap(True)

        self.demo_size = QSpinBox(self)
        self.demo_size.setRange(1, 10_000)
        self.demo_size.setValue(DEMO_PATIENTS)
        self.demo_size.setSuffix(" patients")
        self.demo_size.setAccessibleName("Number of demo patients")
        self.demo_button = QPushButton("Load the demo clinic", self)
        self.demo_button.setAccessibleName("Load the demo clinic")
        self.demo_button.setObjectName("primary")
        self.demo_button.setDefault(True)
        self.demo_button.clicked.connect(self.load_demo)
        demo_text = QLabel(
            "A synthetic clinic to explore or train with: invented patients with measurements, sessions, goals, "
            "check-ins and flags over the last months. Every name and score is made up.",
            self,
        )
        demo_text.setWordWrap(True)
        demo_text.setObjectName("muted")

        self.import_button = QPushButton("Import the clinic's data…", self)
        self.import_button.setAccessibleName("Import the clinic's data")
        self.import_button.clicked.connect(self.start_import)
        self.import_text = QLabel(self)
        self.import_text.setWordWrap(True)
        self.import_text.setObjectName("muted")

        card = QFrame(self)
        card.setObjectName("welcomeCard")
        demo_row = QHBoxLayout()
        demo_row.addWidget(self.demo_button)
        demo_row.addWidget(self.demo_size)
        demo_row.addStretch(1)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(10)
        inner.addWidget(title)
        inner.addWidget(where)
        inner.addSpacing(8)
        inner.addLayout(demo_row)
        inner.addWidget(demo_text)
        inner.addSpacing(8)
        inner.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignLeft)
        inner.addWidget(self.import_text)
        # A fixed width lets the wrapped paragraphs take the height they need (an aligned
        # widget in a box layout gets its size hint and would cut them).
        card.setFixedWidth(600)
        centre_card(self, card)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._update_import()

    def _update_import(self) -> None:
        """The import itself lives under File → Import…; offer it when it is there."""
        action = self.import_action()
        self.import_button.setEnabled(action is not None and action.isEnabled())
        self.import_text.setText(
            "Patients, measurements and sessions from an Excel or CSV file (File → Import…)."
            if action is not None
            else "Importing is not installed in this version; it will appear here and under File → Import…"
        )

    def start_import(self) -> None:
        action = self.import_action()
        if action is not None:
            action.trigger()

    # --- the demo clinic ---------------------------------------------------------------------

    def load_demo(self) -> None:
        patients = self.demo_size.value()
        actor, today = self.context.actor, self.context.today()
        self.demo_button.setEnabled(False)
        self.progress = QProgressDialog("Building the demo clinic…", "Cancel", 0, patients, self)
        self.progress.setWindowTitle("TeamDash")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(300)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.job = self.context.jobs.run(
            lambda progress, cancelled: demo.generate(
                actor, patients=patients, today=today, progress=progress, cancelled=cancelled
            ),
            on_done=self._demo_done,
            on_error=self._demo_failed,
            on_progress=self._demo_progress,
        )
        self.progress.canceled.connect(self.job.cancel)

    def _demo_progress(self, done: int, total: int) -> None:
        if self.progress is not None and self.job is not None and self.progress.wasCanceled():
            self.job.cancel()  # Esc or closing the dialog cancels as well as the button
        if self.progress is not None:
            self.progress.setMaximum(total)
            self.progress.setValue(done)
            self.progress.setLabelText(f"Building the demo clinic… {done:,} of {total:,} patients")

    def _finish(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None
        self.demo_button.setEnabled(True)
        self.job = None

    def _demo_done(self, report: demo.DemoReport) -> None:
        self._finish()
        log.info("demo clinic loaded: %d patients", report.patients)
        self.context.changes.emit(Changes(None, frozenset({"demo"})))
        self.demo_loaded.emit(report.patients)

    def _demo_failed(self, exc: BaseException) -> None:
        self._finish()
        if not isinstance(exc, Cancelled):  # cancelling rolled everything back: nothing to say
            show_error(self, exc)
