"""The cohort workbook: a "Cohort" sheet with one row per patient (demographics,
programme, and for each key measure baseline, latest, change, % change, MCID met and
reliable change, bands coloured), then the long sheets and About."""

from __future__ import annotations

import json
from collections import defaultdict

from teamdash.clinical import analytics, disciplines, instruments
from teamdash.exchange.export import tables
from teamdash.exchange.export.job import Job
from teamdash.exchange.export.sheets import BOOL, DATE, INT, LABEL, NUMBER, PERCENT, Book, Column, TableSheet

PATIENT_CHUNK = 500  # patients whose key measures are read in one query


def key_measures(job: Job) -> list[instruments.Instrument]:
    """Key measures in the order the disciplines list them, a clinic's own key measures
    after each discipline's (one discipline when filtered)."""
    library = instruments.library()
    out = []
    for d in disciplines.all_disciplines():
        if job.options.discipline and d.code != job.options.discipline:
            continue
        out += [library[i] for i in disciplines.measures(d.code) if library[i].key_measure]
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
    if inst.named_items:
        columns.append(Column(f"{s} change over", LABEL))
    if inst.scoring is not None and inst.scoring.prorate:
        columns.append(Column(f"{s} prorated", LABEL))
    return columns


def measure_values(inst: instruments.Instrument, points: list, episode_start) -> list:
    """One measure's cells of a cohort row, from the core's progress row (the same
    figures as the patient's panels and per-patient workbook)."""
    banded = bool(inst.bands or (inst.scoring and inst.scoring.subgroups))
    p = analytics.progress(inst, points, episode_start)
    first, last, change = p.baseline, p.latest, p.from_baseline
    if first is None or last is None:
        return [None] * len(measure_columns(inst))
    row: list[object] = [first.value]
    if banded:
        row.append(first.band)
    single = last.id == first.id  # one measurement: no change to speak of
    row.append(None if single else last.value)
    if banded:
        row.append(None if single else last.band)
    row += [
        change.points,
        change.percent if not change.matched_items else None,
        change.mcid_met,
        change.rci_verdict,
    ]
    if inst.named_items:
        row.append(_change_over(inst, change, single))
    if inst.scoring is not None and inst.scoring.prorate:
        row.append(_prorated(inst, first, None if single else last))
    return row


def _change_over(inst: instruments.Instrument, change: analytics.Change, single: bool) -> str | None:
    if single:
        return None
    if change.matched_items:
        return f"{change.matched_items} {inst.item_name_words(change.matched_items)} rated both times"
    return change.reason


def _prorated(inst: instruments.Instrument, first: analytics.Point, last: analytics.Point | None) -> str | None:
    which = [
        name
        for name, p in (("baseline", first), ("latest", last))
        if p is not None and inst.prorated(p.responses or ())
    ]
    return " and ".join(which) or None


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
        series = _series([p.id for p in chunk], job, ids)
        for p in chunk:
            row: list[object]  # a cell value per column: text, numbers, dates, yes/no
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
                row += measure_values(inst, series.get((p.id, inst.id), []), p.episode_start)
            sheet.add(row)
            job.tick()
    rows = sheet.close()
    job.rows[sheet.title] = rows
    return rows


def _series(patient_ids: list[int], job: Job, instrument_ids: tuple[str, ...]):
    """Key-measure points per (patient, instrument) for some patients, with each
    measurement's stored band (rule-based measures keep their subgroup there) and, for
    patient-named and prorated measures, the responses and item names."""
    series: dict[tuple[int, str], list] = defaultdict(list)
    rows = job.select.measurements(instrument_ids, light=True, patient_ids=patient_ids)
    library = instruments.library()
    keep = {i for i, d in library.items() if d.named_items or (d.scoring is not None and d.scoring.prorate)}
    for pid, inst, taken_at, responses, total, band, _s, _e, _src, _note, mid, names in rows:
        if total is None:
            continue
        if inst in keep and isinstance(responses, str):
            responses = json.loads(responses)
        series[(pid, inst)].append(
            analytics.Point(
                taken_at,
                total,
                mid,
                band,
                tuple(responses) if isinstance(responses, list) else None,
                tuple(names) if isinstance(names, list) else None,
            )
        )
    return series


def count(job: Job) -> int:
    return len(job.patients) + sum(tables.count_rows(job).values())


def write(job: Job, book: Book, file_name: str) -> None:
    write_cohort(job, book)
    tables.write_record_sheets(job, book)
    tables.write_about(job, book, file_name, tables.instruments_in_export(job))
