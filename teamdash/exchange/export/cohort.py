"""The cohort workbook: a "Cohort" sheet with one row per patient (demographics,
programme, and for each key measure baseline, latest, change, % change, MCID met and
reliable change, bands coloured), then the long sheets and About."""

from __future__ import annotations

from collections import defaultdict

from teamdash.clinical import analytics, disciplines, instruments
from teamdash.exchange.export import tables
from teamdash.exchange.export.job import Job
from teamdash.exchange.export.sheets import BOOL, DATE, INT, LABEL, NUMBER, PERCENT, Book, Column, TableSheet

PATIENT_CHUNK = 500  # patients whose key measures are read in one query


def key_measures(job: Job) -> list[instruments.Instrument]:
    """Key measures in the order the disciplines list them (one discipline when filtered)."""
    library = instruments.library()
    out = []
    for d in disciplines.all_disciplines():
        if job.options.discipline and d.code != job.options.discipline:
            continue
        out += [library[i] for i in d.key_instruments if i in library and library[i].key_measure]
    return out


def _value_format(inst: instruments.Instrument, signed: bool = False) -> str:
    body = "0" if inst.decimals == 0 else "0." + "0" * inst.decimals
    return f"+{body};-{body};{body}" if signed else body


def measure_columns(inst: instruments.Instrument) -> list[Column]:
    s = inst.short_name
    banded = bool(inst.bands or (inst.scoring and inst.scoring.subgroups))
    columns = [Column(f"{s} baseline", NUMBER, _value_format(inst))]
    if banded:
        columns.append(Column(f"{s} baseline band", LABEL))
    columns.append(Column(f"{s} latest", NUMBER, _value_format(inst)))
    if banded:
        columns.append(Column(f"{s} latest band", LABEL))
    columns += [
        Column(f"{s} change", NUMBER, _value_format(inst, signed=True)),
        Column(f"{s} % change", PERCENT, "+0.0%;-0.0%;0.0%"),
        Column(f"{s} MCID met", BOOL),
        Column(f"{s} reliable change", LABEL),
    ]
    return columns


def measure_values(inst: instruments.Instrument, points: list, bands: dict[int, str | None], episode_start) -> list:
    banded = bool(inst.bands or (inst.scoring and inst.scoring.subgroups))
    in_episode = [p for p in points if p.taken_at.date() >= episode_start]
    first, last = analytics.baseline(in_episode), analytics.latest(in_episode)
    if first is None:
        return [None] * len(measure_columns(inst))
    band_from, band_to = bands.get(first.id), bands.get(last.id)
    row = [first.value]
    if banded:
        row.append(band_from)
    if last.id == first.id:  # one measurement: no change to speak of
        row.append(None)
        if banded:
            row.append(None)
        return row + [None, None, None, None]
    change = analytics.change(inst, first.value, last.value, band_from=band_from, band_to=band_to)
    row.append(last.value)
    if banded:
        row.append(band_to)
    return row + [change.points, change.percent, change.mcid_met, change.rci_verdict]


def _band_rules(inst: instruments.Instrument) -> tuple[list[tuple[str, int]], int]:
    labelled = [(b.label, b.severity) for b in inst.bands]
    if inst.scoring and inst.scoring.subgroups:
        labelled += [(g.label, g.severity) for g in inst.scoring.subgroups]
    worst = max((s for _, s in labelled), default=0)
    return labelled, worst


def cohort_columns(job: Job, measures: list[instruments.Instrument]) -> tuple[list[Column], int]:
    if job.deidentify:
        base = [*tables.DEID_PATIENT_COLUMNS, Column("Return-to-work phase", LABEL)]
        frozen = 1
    else:
        base = [
            Column("Patient ID", LABEL),
            Column("Given name", LABEL),
            Column("Family name", LABEL),
            Column("Date of birth", DATE),
            Column("Age", INT),
            Column("Sex", LABEL),
            Column("Referral date", DATE),
            Column("Programme start", DATE),
            Column("Status", LABEL),
            Column("Status since", DATE),
            Column("Weeks in programme", INT),
            Column("Case manager", LABEL),
            Column("Next check-in", DATE),
            Column("Return-to-work phase", LABEL),
            Column("Research consent", BOOL),
        ]
        frozen = 3
    columns = list(base)
    for inst in measures:
        columns += measure_columns(inst)
    return columns, frozen


def write_cohort(job: Job, book: Book) -> int:
    measures = key_measures(job)
    columns, frozen = cohort_columns(job, measures)
    sheet = TableSheet(book, "Cohort", columns, freeze_columns=frozen)
    headers = [c.header for c in columns]
    for inst in measures:
        for which in ("baseline band", "latest band"):
            header = f"{inst.short_name} {which}"
            if header in headers:
                labelled, worst = _band_rules(inst)
                sheet.band_fills(headers.index(header), labelled, worst)
    rtw = job.select.rtw_phases()
    ids = tuple(m.id for m in measures)
    patients = job.patients
    for start in range(0, len(patients), PATIENT_CHUNK):
        chunk = patients[start : start + PATIENT_CHUNK]
        series, bands = _series([p.id for p in chunk], job, ids)
        for p in chunk:
            if job.deidentify:
                status_week = job.relative(p.id, p.status_changed_on)[1] if p.status != "active" else None
                row = [
                    job.patient_label(p.id),
                    job.age(p),
                    p.sex,
                    p.status,
                    status_week,
                    job.weeks_in_programme(p),
                    job.staff_label(p.case_manager),
                    disciplines.rtw_phase_label(rtw.get(p.id)),
                ]
            else:
                row = [
                    p.clinic_id,
                    p.given_name,
                    p.family_name,
                    p.date_of_birth,
                    job.age(p),
                    p.sex,
                    p.referral_date,
                    p.programme_start,
                    p.status,
                    p.status_changed_on,
                    job.weeks_in_programme(p),
                    job.staff_label(p.case_manager),
                    p.next_checkin,
                    disciplines.rtw_phase_label(rtw.get(p.id)),
                    p.research_consent,
                ]
            for inst in measures:
                row += measure_values(inst, series.get((p.id, inst.id), []), bands, p.episode_start)
            sheet.add(row)
            job.tick()
    rows = sheet.close()
    job.rows[sheet.title] = rows
    return rows


def _series(patient_ids: list[int], job: Job, instrument_ids: tuple[str, ...]):
    """Key-measure points per (patient, instrument) for some patients, and each
    measurement's stored band (rule-based measures keep their subgroup there)."""
    series: dict[tuple[int, str], list] = defaultdict(list)
    bands: dict[int, str | None] = {}
    rows = job.select.measurements(instrument_ids, light=True, patient_ids=patient_ids)
    for pid, inst, taken_at, _r, total, band, _s, _e, _src, _note, mid in rows:
        if total is None:
            continue
        series[(pid, inst)].append(analytics.Point(taken_at, total, mid))
        bands[mid] = band
    return series, bands


def count(job: Job) -> int:
    return len(job.patients) + sum(tables.count_rows(job).values())


def write(job: Job, book: Book, file_name: str) -> None:
    write_cohort(job, book)
    tables.write_record_sheets(job, book)
    tables.write_about(job, book, file_name, tables.instruments_in_export(job))
