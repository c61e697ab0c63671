"""One running export: its options, the patients it covers, how patients and staff are
named in it (identified or pseudonymous), progress and cancellation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from teamdash.clinical import disciplines
from teamdash.errors import Cancelled
from teamdash.exchange.export import deid
from teamdash.exchange.export.options import ExportOptions
from teamdash.exchange.export.query import PatientInfo, Selection, staff_names
from teamdash.services.auth import Actor
from teamdash.services.results import age_on, weeks_between

CHECK_EVERY = 1000  # rows between cancellation checks and progress reports


class Job:
    def __init__(
        self,
        actor: Actor,
        options: ExportOptions,
        *,
        now: dt.datetime,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        key: bytes | None = None,
    ):
        self.actor = actor
        self.options = options
        self.now = now
        self.today = now.date()
        self.deidentify = options.deidentify
        self.select = Selection(options)
        self.pseudonyms = (
            deid.Pseudonyms(key if key is not None else deid.database_key()) if options.deidentify else None
        )
        self._progress = progress
        self._cancelled = cancelled
        self.done = 0
        self.total = 0
        self._next_check = CHECK_EVERY
        self.patients: list[PatientInfo] = self.select.patients()
        pseudonyms = self.pseudonyms  # set exactly when de-identifying
        if pseudonyms is not None:
            # Registration order (clinic IDs) must not survive in a de-identified sheet.
            self.patients.sort(key=lambda p: pseudonyms.patient(p.id))
        self.by_id: dict[int, PatientInfo] = {p.id: p for p in self.patients}
        self.staff = staff_names()
        self.rows: dict[str, int] = {}

    # --- naming -------------------------------------------------------------------------

    @property
    def patient_header(self) -> str:
        return "Patient code" if self.deidentify else "Patient ID"

    def patient_label(self, patient_id: int) -> str:
        if self.pseudonyms is not None:
            return self.pseudonyms.patient(patient_id)
        return self.by_id[patient_id].clinic_id

    def staff_label(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if self.pseudonyms is not None:
            return self.pseudonyms.staff(user_id)
        return self.staff.get(user_id)

    def anchor(self, patient_id: int) -> dt.date:
        p = self.by_id[patient_id]
        return deid.anchor(p.programme_start, p.referral_date)

    def relative(self, patient_id: int, when) -> tuple[int | None, float | None]:
        """(days, weeks) since the patient's programme start: the de-identified date."""
        days = deid.days_since(when, self.anchor(patient_id))
        return days, deid.weeks(days)

    def age(self, p: PatientInfo) -> int | None:
        if self.deidentify:
            return deid.capped_age(age_on(p.date_of_birth, deid.anchor(p.programme_start, p.referral_date)))
        return age_on(p.date_of_birth, self.today)

    def weeks_in_programme(self, p: PatientInfo) -> int | None:
        return weeks_between(p.programme_start, p.programme_end(self.today))

    @staticmethod
    def discipline_name(code: str | None) -> str | None:
        return disciplines.get(code).name if code else None

    # --- progress -------------------------------------------------------------------------

    def check(self) -> None:
        if self._cancelled is not None and self._cancelled():
            raise Cancelled("export cancelled; no file was written")

    def tick(self, n: int = 1) -> None:
        """Count ``n`` rows written: report progress and honour Cancel now and then."""
        self.done += n
        if self.done >= self._next_check:
            self._next_check = self.done + CHECK_EVERY
            self.check()
            if self._progress is not None:
                self._progress(min(self.done, self.total), self.total)

    def finished(self) -> None:
        if self._progress is not None:
            self._progress(self.total, self.total)
