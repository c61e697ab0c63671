"""File → Export… and File → Import…: the Excel export dialog and the import wizard.

Both are thin: the work is ``teamdash.export.export`` and ``teamdash.importing``, run on
the job runner (the database thread) with progress and Cancel; the widgets only collect
choices and show results. Nothing here queries the database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QDate, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from teamdash.clinical import disciplines
from teamdash.errors import Cancelled, TeamDashError
from teamdash.exchange import importing
from teamdash.exchange.export import KIND_LABELS, ExportOptions, ExportResult, export
from teamdash.services import patients, staff
from teamdash.words import plural
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error
from ui.jobs import JobHandle

LAST_FOLDER = "exchange/last_folder"
NOT_IMPORTED = "(not imported)"


def _folder(context: AppContext) -> str:
    folder = context.settings.value(LAST_FOLDER, "")
    if isinstance(folder, str) and folder and Path(folder).is_dir():
        return folder
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return documents if documents and Path(documents).is_dir() else str(Path.home())


def _remember_folder(context: AppContext, path: str) -> None:
    context.settings.setValue(LAST_FOLDER, str(Path(path).parent))


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(qdate: QDate) -> dt.date:
    return dt.date(qdate.year(), qdate.month(), qdate.day())


# --- export --------------------------------------------------------------------------------------


def run_export(actor, path: str, options: ExportOptions, clinic_id: str | None, progress, cancelled) -> ExportResult:
    """The export job (database thread): resolves the clinic ID, then exports."""
    if clinic_id:
        options = ExportOptions(**{**options.__dict__, "patient_id": patients.find_by_clinic_id(actor, clinic_id).id})
    # The save dialog has already asked before replacing an existing file.
    return export(actor, path, options, overwrite=True, progress=progress, cancelled=cancelled)


class ExportDialog(QDialog):
    """Choose the workbook and its filters, then export with a progress bar and Cancel."""

    exported = Signal(object)  # ExportResult
    failed = Signal(object)  # the exception (Cancelled included)

    def __init__(self, context: AppContext, patient_id: int | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Export to Excel")
        self.setObjectName("export_dialog")
        self.handle: JobHandle | None = None
        self.result_: ExportResult | None = None
        self.error: BaseException | None = None
        self.current_clinic_id: str | None = None  # the open patient's, once loaded

        self.kind = QComboBox(self)
        for kind in ("cohort", "long", "patient"):
            self.kind.addItem(KIND_LABELS[kind], kind)
        self.kind.setToolTip(
            "Cohort: one row per patient with baseline, latest and change of each key measure, "
            "plus long sheets.\nLong format: tidy sheets of every score, session, goal and check-in "
            "(imports back).\nPer-patient: one patient, one sheet per discipline, with charts."
        )
        self.patient = QLineEdit(self)
        self.patient.setPlaceholderText("all patients (or a clinic ID)")
        self.patient.setClearButtonEnabled(True)
        self.use_from, self.use_to = QCheckBox("From", self), QCheckBox("To", self)
        today = context.today()
        self.date_from = QDateEdit(_qdate(today.replace(month=1, day=1)), self)
        self.date_to = QDateEdit(_qdate(today), self)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.use_from.toggled.connect(self.date_from.setEnabled)
        self.use_to.toggled.connect(self.date_to.setEnabled)
        self.status = QComboBox(self)
        self.status.addItem("Any status", None)
        for value, label in disciplines.patient_status_choices():
            self.status.addItem(label, value)
        self.case_manager = QComboBox(self)
        self.case_manager.addItem("Any case manager", None)
        self.discipline = QComboBox(self)
        self.discipline.addItem("All disciplines", None)
        for d in disciplines.all_disciplines():
            self.discipline.addItem(d.name, d.code)
        self.deidentify = QCheckBox("De-identified for research or quality improvement", self)
        self.deidentify.setToolTip(
            "Pseudonymous codes instead of names and clinic IDs, days and weeks since "
            "programme start instead of dates, no free text; only patients who consented "
            "to research."
        )
        self.out = QLineEdit(self)
        self.out.setPlaceholderText("choose where to save the workbook")
        self.out.textEdited.connect(lambda _text: self.out.setProperty("chosen", True))  # typed: keep it
        self.choose = QPushButton("Choose…", self)
        self.choose.clicked.connect(self._choose_file)

        form = QFormLayout()
        form.addRow("Workbook", self.kind)
        form.addRow("Patient", self.patient)
        dates = QHBoxLayout()
        dates.addWidget(self.use_from)
        dates.addWidget(self.date_from)
        dates.addSpacing(12)
        dates.addWidget(self.use_to)
        dates.addWidget(self.date_to)
        dates.addStretch(1)
        form.addRow("Dates", dates)
        form.addRow("Status", self.status)
        form.addRow("Case manager", self.case_manager)
        form.addRow("Discipline", self.discipline)
        form.addRow("", self.deidentify)
        target = QHBoxLayout()
        target.addWidget(self.out, 1)
        target.addWidget(self.choose)
        form.addRow("Save as", target)

        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button = self.buttons.addButton("Open folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setVisible(False)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.open_button.clicked.connect(self._open_folder)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.deidentify.setEnabled(context.actor.can("export"))
        if not context.actor.can("export"):
            self.export_button.setEnabled(False)
            self.message.setText(f"{context.actor.display_name} ({context.actor.role}) may not export.")
        self._load_choices(patient_id)
        self._kind_changed()

    # --- filling ------------------------------------------------------------------------------

    def _load_choices(self, patient_id: int | None) -> None:
        """Case managers and the current patient's clinic ID come from the database thread."""
        actor = self.context.actor

        def load(_progress, _cancelled):
            managers = [(m.full_name, m.id) for m in staff.case_managers(actor)]
            clinic_id = patients.get_patient(actor, patient_id).clinic_id if patient_id is not None else None
            return managers, clinic_id

        self.context.jobs.run(load, on_done=self._choices_loaded, on_error=lambda exc: show_error(self, exc))

    def _choices_loaded(self, loaded) -> None:
        managers, clinic_id = loaded
        for name, user_id in managers:
            self.case_manager.addItem(name, user_id)
        self.current_clinic_id = clinic_id
        self._kind_changed()

    def _kind_changed(self) -> None:
        """The open patient is offered for a per-patient workbook only: a cohort export
        limited to one patient because a patient happened to be open would surprise."""
        kind = self.kind.currentData()
        per_patient = kind == "patient"
        self.deidentify.setEnabled(not per_patient and self.context.actor.can("export"))
        current = getattr(self, "current_clinic_id", None)
        if per_patient:
            self.deidentify.setChecked(False)
            self.patient.setPlaceholderText("the patient's clinic ID")
            if current and not self.patient.text().strip():
                self.patient.setText(current)
        else:
            self.patient.setPlaceholderText("all patients (or a clinic ID)")
            if current and self.patient.text().strip() == current and not self.patient.isModified():
                self.patient.clear()
        self._suggest_name()

    def _suggest_name(self) -> None:
        if self.out.property("chosen"):
            return
        kind = self.kind.currentData()
        who = f"-{self.patient.text().strip()}" if kind == "patient" and self.patient.text().strip() else ""
        name = f"teamdash-{kind}{who}-{self.context.today().isoformat()}.xlsx"
        self.out.setText(str(Path(_folder(self.context)) / name))

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the workbook as", self.out.text() or _folder(self.context), "Excel workbook (*.xlsx)"
        )
        if path:
            if not path.lower().endswith(".xlsx"):
                path += ".xlsx"
            self.out.setText(path)
            self.out.setProperty("chosen", True)

    # --- running ------------------------------------------------------------------------------

    def options(self) -> tuple[ExportOptions, str | None]:
        kind = self.kind.currentData()
        clinic_id = self.patient.text().strip() or None
        return ExportOptions(
            kind=kind,
            date_from=_pydate(self.date_from.date()) if self.use_from.isChecked() else None,
            date_to=_pydate(self.date_to.date()) if self.use_to.isChecked() else None,
            status=self.status.currentData(),
            case_manager_id=self.case_manager.currentData(),
            discipline=self.discipline.currentData(),
            deidentify=self.deidentify.isChecked() and kind != "patient",
        ), clinic_id

    @property
    def running(self) -> bool:
        return self.handle is not None

    def start(self) -> None:
        if self.running:
            return
        path = self.out.text().strip()
        if not path:
            self.message.setText("Choose where to save the workbook.")
            return
        options, clinic_id = self.options()
        if options.kind == "patient" and not clinic_id:
            self.message.setText("A per-patient workbook needs the patient's clinic ID.")
            self.patient.setFocus()
            return
        _remember_folder(self.context, path)
        actor = self.context.actor
        self.result_, self.error = None, None
        self.progress.setRange(0, 0)  # busy until the first report
        self.progress.setVisible(True)
        self.message.setText("Exporting…")
        self.open_button.setVisible(False)
        self._set_running(True)
        self.handle = self.context.jobs.run(
            lambda progress, cancelled: run_export(actor, path, options, clinic_id, progress, cancelled),
            on_done=self._done,
            on_error=self._failed,
            on_progress=self._progress,
        )

    def _set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(True)
        for widget in (
            self.kind,
            self.patient,
            self.use_from,
            self.use_to,
            self.status,
            self.case_manager,
            self.discipline,
            self.deidentify,
            self.out,
            self.choose,
            self.export_button,
        ):
            widget.setEnabled(not running)
        if not running:
            self.date_from.setEnabled(self.use_from.isChecked())
            self.date_to.setEnabled(self.use_to.isChecked())
            self._kind_changed()
        else:
            self.date_from.setEnabled(False)
            self.date_to.setEnabled(False)
        self.cancel_button.setText("Cancel" if running else "Close")

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))
            self.message.setText(f"Exporting… {done:,} of {total:,} rows")

    def _done(self, result: ExportResult) -> None:
        self.handle = None
        self.result_ = result
        self._set_running(False)
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000)
        variant = " (de-identified)" if result.deidentified else ""
        self.message.setText(
            f"Exported {KIND_LABELS[result.kind].lower()}{variant}: {result.patients:,} patient"
            f"{'s' if result.patients != 1 else ''}, {result.total_rows:,} rows, to {result.path}"
        )
        self.open_button.setVisible(True)
        self.exported.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self.handle = None
        self.error = exc
        self._set_running(False)
        self.progress.setVisible(False)
        if isinstance(exc, Cancelled):
            self.message.setText("Export cancelled: no file was written.")
        else:
            self.message.setText(str(exc) if isinstance(exc, TeamDashError) else "The export failed.")
            show_error(self, exc, title="Export")
        self.failed.emit(exc)

    def _cancel_or_close(self) -> None:
        if self.handle is not None:  # running
            self.handle.cancel()
            self.message.setText("Cancelling…")
            self.cancel_button.setEnabled(False)
        else:
            self.reject()

    def reject(self) -> None:
        if self.running:  # Esc or the window's close button while exporting: stop it first
            self._cancel_or_close()
            return
        super().reject()

    def _open_folder(self) -> None:
        if self.result_ is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result_.path.parent)))


# --- import ---------------------------------------------------------------------------------------

KIND_CHOICES = (("Tell from the file", None), *((label, kind) for kind, label in importing.KIND_LABELS.items()))
WHOLE_WORKBOOK = "\u0000all"  # the sheet choice that imports every recognised sheet


class ImportWizard(QWizard):
    """Pick file and sheet → confirm the column mapping → preview and check → import."""

    imported = Signal(object)  # ImportReport

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Import from Excel or CSV")
        self.setObjectName("import_wizard")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.path: str | None = None
        self.sheets: list[importing.SheetInfo] = []
        self.report: importing.ImportReport | None = None
        self.file_page = FilePage(self)
        self.mapping_page = MappingPage(self)
        self.check_page = CheckPage(self)
        self.run_page = RunPage(self)
        for page in (self.file_page, self.mapping_page, self.check_page, self.run_page):
            self.addPage(page)
        self.resize(860, 600)

    def busy(self) -> bool:
        """A job of this wizard is running on the database thread."""
        return any(page.handle is not None for page in (self.file_page, self.check_page, self.run_page))

    def reject(self) -> None:
        """Cancel or the window's close button: stop a running job first (its answer
        must not reach a closed wizard), then close."""
        if self.busy():
            for page in (self.file_page, self.check_page, self.run_page):
                if page.handle is not None:
                    page.handle.cancel()
            self._close_when_idle = True
            return
        super().reject()

    def _job_ended(self) -> None:
        if getattr(self, "_close_when_idle", False) and not self.busy():
            self._close_when_idle = False
            super().reject()

    # --- what was chosen ------------------------------------------------------------------------

    @property
    def sheet(self) -> str | None:
        data = self.file_page.sheet.currentData()
        return None if data in (None, WHOLE_WORKBOOK) else data

    @property
    def whole_workbook(self) -> bool:
        return self.file_page.sheet.currentData() == WHOLE_WORKBOOK

    @property
    def kind(self) -> str | None:
        chosen = self.file_page.kind.currentData()
        if chosen or self.whole_workbook:
            return chosen
        info = self.sheet_info()
        return info.kind if info else None

    def chosen_path(self) -> str:
        """The file read by the first page (the later pages open only once it was read)."""
        assert self.path is not None
        return self.path

    def sheet_info(self) -> importing.SheetInfo | None:
        name = self.sheet
        if name is None and self.sheets and not self.whole_workbook:
            return self.sheets[0]
        return next((s for s in self.sheets if s.name == name), None)

    def import_arguments(self) -> dict:
        if self.whole_workbook:
            return {"kind": None, "sheet": None, "mapping": None}
        csv = self.path is not None and not self.path.lower().endswith((".xlsx", ".xlsm"))
        return {"kind": self.kind, "sheet": None if csv else self.sheet, "mapping": self.mapping_page.mapping()}


class FilePage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__(wizard)
        self.wiz = wizard
        self.setTitle("Choose the file")
        self.setSubTitle(
            "An Excel workbook (.xlsx) or a CSV file with one row per patient, measurement, session or other "
            "record and column names in the first row. A TeamDash long-format export imports as a whole."
        )
        self.path = QLineEdit(self)
        self.path.setReadOnly(True)
        self.path.setPlaceholderText("no file chosen")
        choose = QPushButton("Choose…", self)
        choose.clicked.connect(self._choose)
        self.sheet = QComboBox(self)
        self.kind = QComboBox(self)
        for label, value in KIND_CHOICES:
            self.kind.addItem(label, value)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(choose)
        form = QFormLayout(self)
        form.addRow("File", row)
        form.addRow("Sheet", self.sheet)
        form.addRow("It holds", self.kind)
        form.addRow("", self.info)
        self.sheet.currentIndexChanged.connect(self._describe)
        self.kind.currentIndexChanged.connect(self._describe)
        self._loading = False
        self.handle: JobHandle | None = None

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import from", _folder(self.wiz.context), "Spreadsheets (*.xlsx *.csv *.txt);;All files (*)"
        )
        if path:
            self.set_file(path)

    def set_file(self, path: str) -> None:
        """Read the file's sheets and headers on the database thread."""
        _remember_folder(self.wiz.context, path)
        self.wiz.path = path
        self.path.setText(path)
        self.wiz.sheets = []
        self.sheet.clear()
        self.info.setText("Reading the file…")
        self._loading = True
        self.completeChanged.emit()
        self.handle = self.wiz.context.jobs.run(
            lambda _p, _c: importing.inspect(path), on_done=self._inspected, on_error=self._unreadable
        )

    def _inspected(self, sheets: list) -> None:
        self.handle = None
        self._loading = False
        self.wiz.sheets = sheets
        self.sheet.blockSignals(True)
        self.sheet.clear()
        recognised = [s for s in sheets if importing.normalise(s.name) in importing.SHEET_NAMES and s.kind]
        if len(recognised) > 1:
            names = ", ".join(s.name for s in recognised)
            label = (
                f"All recognised sheets ({names})"
                if len(recognised) <= 4
                else f"All {len(recognised)} recognised sheets"
            )
            self.sheet.addItem(label, WHOLE_WORKBOOK)
            self.sheet.setItemData(0, names, Qt.ItemDataRole.ToolTipRole)
        for s in sheets:
            what = f" — {s.kind}" if s.kind else (" — cannot be read" if s.problem else "")
            self.sheet.addItem(f"{s.name}{what}", s.name)
        self.sheet.blockSignals(False)
        self._describe()
        self.completeChanged.emit()
        self.wiz._job_ended()

    def _unreadable(self, exc: BaseException) -> None:
        self.handle = None
        self._loading = False
        self.wiz.sheets = []
        self.info.setText(str(exc) if isinstance(exc, TeamDashError) else "The file could not be read.")
        if not isinstance(exc, TeamDashError):
            show_error(self, exc, title="Import")
        self.completeChanged.emit()
        self.wiz._job_ended()

    def _describe(self) -> None:
        if self.wiz.whole_workbook:
            self.kind.setEnabled(False)
            order = {kind: i for i, kind in enumerate(importing.KINDS)}
            recognised = sorted(
                (s for s in self.wiz.sheets if importing.normalise(s.name) in importing.SHEET_NAMES and s.kind),
                key=lambda s: order.get(s.kind or "", len(order)),
            )
            self.info.setText(
                "Imports these sheets in this order (each may refer to those before it), each with its columns "
                f"matched by name: {', '.join(s.name for s in recognised)}."
            )
        else:
            self.kind.setEnabled(True)
            info = self.wiz.sheet_info()
            if info is None:
                return
            if info.problem:
                self.info.setText(info.problem)
            else:
                kind = self.wiz.kind
                self.info.setText(
                    f"{len(info.headers)} columns, about {info.estimated_rows:,} rows"
                    + (f"; looks like {kind}." if kind else "; choose what it holds.")
                )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        if self._loading or not self.wiz.sheets:
            return False
        if self.wiz.whole_workbook:
            return True
        info = self.wiz.sheet_info()
        return info is not None and not info.problem and self.wiz.kind is not None


class MappingPage(QWizardPage):
    """Each field with the file's column matched to it; change any, or leave it out."""

    def __init__(self, wizard: ImportWizard):
        super().__init__(wizard)
        self.wiz = wizard
        self.setTitle("Check the columns")
        self.setSubTitle(
            "Columns were matched by their names. Change a match if it is wrong; fields marked * are "
            "required. Columns not matched are not imported."
        )
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["TeamDash field", "Column in the file"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.ignored = QLabel(self)
        self.ignored.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.ignored)
        self.combos: dict[str, QComboBox] = {}
        self.required: set[str] = set()

    def initializePage(self) -> None:
        self.table.setRowCount(0)
        self.combos.clear()
        if self.wiz.whole_workbook:
            self.table.setEnabled(False)
            self.ignored.setText(
                "Each sheet's columns are matched by name; the check on the next page lists what "
                "was matched and any problems."
            )
            return
        self.table.setEnabled(True)
        info = self.wiz.sheet_info()
        kind = self.wiz.kind
        assert info is not None and kind is not None  # the file page is complete only with both
        headers = list(info.headers)
        auto = importing.auto_map(kind, headers)
        fields = importing.fields_for(kind)
        if kind == "measurements":  # item fields beyond the file's item columns add nothing
            fields = [f for f in fields if not f[0].startswith(("item_", "name_")) or f[0] in auto]
        self.required = {name for name, _label, required in fields if required}
        self.table.setRowCount(len(fields))
        for row, (name, label, required) in enumerate(fields):
            item = QTableWidgetItem(f"{label}{' *' if required else ''}")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, 0, item)
            combo = QComboBox(self.table)
            combo.addItem(NOT_IMPORTED, None)
            for header in headers:
                if header:
                    combo.addItem(header, header)
            if name in auto:
                combo.setCurrentIndex(combo.findData(headers[auto[name]]))
            combo.currentIndexChanged.connect(self._changed)
            self.table.setCellWidget(row, 1, combo)
            self.combos[name] = combo
        self._changed()

    def mapping(self) -> dict[str, str] | None:
        if self.wiz.whole_workbook or not self.combos:
            return None
        return {name: combo.currentData() for name, combo in self.combos.items() if combo.currentData()}

    def _changed(self) -> None:
        used = set((self.mapping() or {}).values())
        info = self.wiz.sheet_info()
        unused = [h for h in (info.headers if info else ()) if h and h not in used]
        self.ignored.setText(f"Not imported: {', '.join(unused)}" if unused else "Every column is imported.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        if self.wiz.whole_workbook:
            return True
        mapping = self.mapping() or {}
        return all(name in mapping for name in self.required)


class CheckPage(QWizardPage):
    """The first rows as read, and a full check (a dry run) before anything is written."""

    def __init__(self, wizard: ImportWizard):
        super().__init__(wizard)
        self.wiz = wizard
        self.setTitle("Preview and check")
        self.setSubTitle(
            "The first rows as TeamDash reads them. The check validates every row against the "
            "database and changes nothing."
        )
        self.preview = QTableWidget(0, 0, self)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.skip = QCheckBox(
            "Skip bad rows: import the good ones and write the bad ones to an error workbook to fix and import again",
            self,
        )
        self.check_button = QPushButton("Check", self)
        self.check_button.clicked.connect(self.run_check)
        self.result = QPlainTextEdit(self)
        self.result.setReadOnly(True)
        self.result.setPlaceholderText("Press Check to validate every row.")
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 2)
        row = QHBoxLayout()
        row.addWidget(self.skip, 1)
        row.addWidget(self.check_button)
        layout.addLayout(row)
        layout.addWidget(self.result, 2)
        self.checked: importing.ImportReport | None = None
        self.problems = False
        self.handle: JobHandle | None = None
        self.skip.toggled.connect(self._reset)

    def initializePage(self) -> None:
        self._reset()
        path, sheet = self.wiz.chosen_path(), self.wiz.sheet
        if self.wiz.whole_workbook:
            first = next((s.name for s in self.wiz.sheets if s.kind), None)
            sheet = first
        self.wiz.context.jobs.run(
            lambda _p, _c: importing.preview(path, sheet),
            on_done=self._show_preview,
            on_error=lambda exc: show_error(self, exc, title="Import"),
        )
        self.run_check()

    def _show_preview(self, data) -> None:
        headers, rows = data
        self.preview.setColumnCount(len(headers))
        self.preview.setHorizontalHeaderLabels(headers)
        self.preview.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values[: len(headers)]):
                text = (
                    ""
                    if value is None
                    else (value.isoformat(sep=" ") if isinstance(value, dt.datetime) else str(value))
                )
                self.preview.setItem(r, c, QTableWidgetItem(text))
        self.preview.resizeColumnsToContents()

    def _reset(self) -> None:
        self.checked = None
        self.problems = False
        self.result.clear()
        self.completeChanged.emit()

    def run_check(self) -> None:
        actor, path, skip = self.wiz.context.actor, self.wiz.chosen_path(), self.skip.isChecked()
        arguments = self.wiz.import_arguments()
        self._reset()
        self.check_button.setEnabled(False)
        self.result.setPlainText("Checking every row…")

        def check(progress, cancelled):
            try:
                return importing.import_file(
                    actor, path, dry_run=True, skip_bad_rows=skip, progress=progress, cancelled=cancelled, **arguments
                )
            except importing.ImportFailed as exc:
                return exc.report

        self.handle = self.wiz.context.jobs.run(check, on_done=self._checked, on_error=self._check_failed)

    def _checked(self, report: importing.ImportReport) -> None:
        self.handle = None
        self.check_button.setEnabled(True)
        self.checked = report
        self.problems = report.problem_count > 0 and not report.skip_bad_rows
        lines = []
        for s in report.sheets:
            mapping = ", ".join(
                f"{header} → {importing.field_label(s.kind, name)}" for name, header in s.mapping.items()
            )
            lines.append(f"Sheet '{s.sheet}' as {s.what}: {plural(s.rows, 'row')}. Columns: {mapping}.")
        lines += [f"• {p}" for p in report.problems]
        if report.more_problems:
            lines.append(f"… and {plural(report.more_problems, 'more problem')}")
        if report.stopped:
            lines.append(report.stopped_text()[0].upper() + report.stopped_text()[1:] + ".")
        if self.problems:
            lines.insert(
                0,
                f"{plural(report.problem_count, 'problem')} in {plural(report.bad_rows, 'row')}: fix the file, "
                "or tick 'Skip bad rows' to import the rest.",
            )
        else:
            lines.insert(0, "Ready: " + report.summary().replace("; nothing was changed (dry run)", "") + ".")
        self.result.setPlainText("\n".join(lines))
        self.completeChanged.emit()
        self.wiz._job_ended()

    def _check_failed(self, exc: BaseException) -> None:
        self.handle = None
        self.check_button.setEnabled(True)
        self.checked = None
        self.result.setPlainText(str(exc) if isinstance(exc, TeamDashError) else "The check failed.")
        if not isinstance(exc, TeamDashError):
            show_error(self, exc, title="Import")
        self.completeChanged.emit()
        self.wiz._job_ended()

    def isComplete(self) -> bool:
        return self.checked is not None and not self.problems


class RunPage(QWizardPage):
    """The import itself, with progress and Cancel; the views refresh after it."""

    def __init__(self, wizard: ImportWizard):
        super().__init__(wizard)
        self.wiz = wizard
        self.setTitle("Import")
        self.setFinalPage(True)
        self.progress = QProgressBar(self)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel_button = QPushButton("Cancel import", self)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        layout.addStretch(1)
        self.handle: JobHandle | None = None
        self.finished_ = False

    def initializePage(self) -> None:
        self.finished_ = False
        actor, path = self.wiz.context.actor, self.wiz.chosen_path()
        skip = self.wiz.check_page.skip.isChecked()
        arguments = self.wiz.import_arguments()
        self.progress.setRange(0, 0)
        self.message.setText("Importing…")
        self.cancel_button.setEnabled(True)
        self.handle = self.wiz.context.jobs.run(
            lambda progress, cancelled: importing.import_file(
                actor, path, skip_bad_rows=skip, progress=progress, cancelled=cancelled, **arguments
            ),
            on_done=self._done,
            on_error=self._failed,
            on_progress=self._progress,
        )
        self.completeChanged.emit()

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))

    def _done(self, report: importing.ImportReport) -> None:
        self.handle = None
        self.finished_ = True
        self.wiz.report = report
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000)
        self.cancel_button.setEnabled(False)
        self.message.setText(report.summary()[0].upper() + report.summary()[1:] + ".")
        self.wiz.context.changes.emit(Changes(None, frozenset({"import"})))
        self.wiz.imported.emit(report)
        self.completeChanged.emit()
        self.wiz._job_ended()

    def _failed(self, exc: BaseException) -> None:
        self.handle = None
        self.finished_ = True
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(False)
        if isinstance(exc, Cancelled):
            self.message.setText("Import cancelled: nothing was imported.")
        elif isinstance(exc, importing.ImportFailed):  # the file changed since the check
            report = exc.report
            self.message.setText(
                f"Nothing was imported: {plural(report.problem_count, 'problem')} in "
                f"{plural(report.bad_rows, 'row')} (first: {report.problems[0] if report.problems else '?'}). "
                "The file or the database changed since the check: run the import again."
            )
        elif isinstance(exc, TeamDashError):
            self.message.setText(f"Nothing was imported: {exc}")
        else:
            self.message.setText("The import failed; nothing was imported.")
            show_error(self, exc, title="Import")
        self.completeChanged.emit()
        self.wiz._job_ended()

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.message.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def isComplete(self) -> bool:
        return self.finished_


# --- menu actions -----------------------------------------------------------------------------------


def open_export(window) -> ExportDialog:
    dialog = ExportDialog(window.context, window.current_patient_id(), parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def open_import(window) -> ImportWizard:
    wizard = ImportWizard(window.context, parent=window)
    wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    wizard.show()
    return wizard


def install_actions(window) -> tuple[QAction, QAction]:
    """Add File → Import… and File → Export… (above the menu's first entry) to
    ``window.menus["File"]``; they use ``window.context`` and ``window.current_patient_id()``."""
    menu = window.menus["File"]
    import_action = QAction("&Import…", window)
    import_action.setObjectName("import")
    import_action.setStatusTip("Import patients, measurements or sessions from an Excel or CSV file")
    import_action.triggered.connect(lambda: open_import(window))
    export_action = QAction("&Export…", window)
    export_action.setObjectName("export")
    export_action.setStatusTip("Export a cohort, long-format or per-patient Excel workbook")
    export_action.triggered.connect(lambda: open_export(window))

    def permissions(changes: Changes | None = None) -> None:
        """Enabled for roles that may import/export; again after File → Switch user."""
        if changes is not None and "user" not in changes.kinds:
            return
        actor = window.context.actor
        for action, permission, verb in ((import_action, "import", "import"), (export_action, "export", "export")):
            allowed = actor.can(permission)
            action.setEnabled(allowed)
            action.setToolTip("" if allowed else f"{actor.display_name} ({actor.role}) may not {verb}")

    permissions()
    window.context.changes.changed.connect(permissions)
    first = menu.actions()[0] if menu.actions() else None
    if first is not None:
        menu.insertAction(first, import_action)
        menu.insertAction(first, export_action)
        menu.insertSeparator(first)
    else:
        menu.addAction(import_action)
        menu.addAction(export_action)
    return import_action, export_action
