"""The Sleep diary sheet: one night per row (Consensus Sleep Diary). Each night is
scored by ``sleep_diary.NIGHTS`` (the sleep_diary instrument): time in bed, total sleep
time and efficiency are computed again, not read."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services import sleep_diary
from teamdash.services.sleep_diary import NIGHTS

SHEET = r.RecordSheet(
    name="sleep_diary",
    label="Sleep diary",
    nouns=("sleep-diary night", "sleep-diary nights"),
    sheet_names=("sleep diary nights", "sleep log"),
    fields=(
        patient_field(),
        field("night_of", "Night of", True, "night", "date"),
        field("bed_time", "Bed time", True, "bedtime", "went to bed"),
        field("lights_out", "Lights out", True, "tried to sleep"),
        field("sol_minutes", "Sleep latency (min)", True, "sleep latency", "minutes to fall asleep", "sol"),
        field("awakenings", "Awakenings", False, "times woke"),
        field("waso_minutes", "Wake after sleep onset (min)", True, "waso", "minutes awake"),
        field("final_wake", "Final wake", True, "woke", "final awakening"),
        field("out_of_bed", "Out of bed", True, "got up"),
        field("quality", "Quality", False, "sleep quality"),
        field("note", "Note", False, "notes", "comment"),
    ),
    readers={
        "night_of": r.date,
        "bed_time": r.clock_time,
        "lights_out": r.clock_time,
        "sol_minutes": r.number,
        "awakenings": r.number,
        "waso_minutes": r.number,
        "final_wake": r.clock_time,
        "out_of_bed": r.clock_time,
        "quality": r.number,
        "note": r.text,
    },
    validate=NIGHTS.validate_new,
    key=("night_of",),
    existing=lambda owners: NIGHTS.existing(owners, ("night_of",)),
    write=lambda actor, rows, details: NIGHTS.add_many(actor, rows, details=details),
    date_fields=("night_of",),
    derived=("Time in bed (min)", "Total sleep time (min)", "Sleep efficiency"),
    items=sleep_diary.ITEM_ORDER,
)
KIND = SHEET.kind()
