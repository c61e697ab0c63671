"""The baseline checklist of an episode: each discipline's intake measures from
resources/disciplines.toml, due until one of their alternatives is recorded."""

from __future__ import annotations

import datetime as dt

from teamdash.clinical import disciplines, intake

START = dt.date(2026, 9, 1)


def _items(checklist: intake.BaselineChecklist) -> dict[str, list[tuple[tuple[str, ...], bool]]]:
    return {d.discipline.code: [(i.alternatives, i.due) for i in d.items] for d in checklist.disciplines}


def test_every_discipline_lists_known_intake_measures():
    from teamdash.clinical import instruments

    library = instruments.library()
    for d in disciplines.all_disciplines():
        assert d.baseline_instruments, f"{d.code} has no baseline_instruments"
        for alternatives in d.baseline_instruments:
            assert all(i in library for i in alternatives), alternatives
    assert ("odi", "rmdq") in disciplines.get("pt").baseline_instruments  # one of two will do


def test_a_new_episode_has_everything_due():
    checklist = intake.checklist([], START)
    assert checklist.due_count == sum(len(d.baseline_instruments) for d in disciplines.all_disciplines())
    assert not checklist.complete
    assert checklist.due_text().startswith("PT: NRS pain, ODI or RMDQ, PSFS")


def test_recorded_in_this_episode_counts_earlier_episodes_do_not():
    measured = [
        ("nrs_pain", dt.datetime(2026, 9, 2, 10, 0)),
        ("rmdq", dt.date(2026, 9, 3)),  # the alternative to ODI
        ("phq9", dt.datetime(2026, 3, 1, 9, 0)),  # an earlier episode's
        ("wpai", START),  # on the first day counts
    ]
    checklist = intake.checklist(measured, START)
    pt = next(d for d in checklist.disciplines if d.discipline.code == "pt")
    assert [(i.label, i.due) for i in pt.items][:2] == [("NRS pain", False), ("RMDQ", False)]
    assert pt.items[1].recorded_on == dt.date(2026, 9, 3)
    items = _items(checklist)
    assert (("phq9",), True) in items["psychology"]
    assert items["social"] == [(("wpai",), False)]
    assert "Social" not in checklist.due_text() and "Psych: PHQ-9" in checklist.due_text()


def test_complete_once_every_measure_is_recorded():
    measured = [
        (alternatives[-1], START) for d in disciplines.all_disciplines() for alternatives in d.baseline_instruments
    ]
    checklist = intake.checklist(measured, START)
    assert checklist.complete and checklist.due_text() == ""
