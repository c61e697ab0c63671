"""The programme's disciplines and shared vocabularies, loaded from resources/."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from teamdash import resources
from teamdash.clinical import instruments
from teamdash.errors import NotFound, ValidationError

FILE = "disciplines.toml"

# The patient status of someone in the programme (every other status ends the episode).
ACTIVE_STATUS = "active"


@dataclass(frozen=True)
class DisciplineDef:
    code: str
    name: str
    short: str
    colour: str
    key_instruments: tuple[str, ...]
    session_kinds: tuple[str, ...]
    special_parts: tuple[str, ...]
    plan_categories: tuple[str, ...]
    plan_title: str = ""  # what the discipline calls its structured plan items ("Sleep hygiene")
    # Measured at intake, at the start of every episode; each entry lists alternatives
    # (any one of them will do: ODI or RMDQ).
    baseline_instruments: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class RtwPhaseDef:
    code: int
    label: str
    on_scale: bool = True  # False: outside the off-work → full-return scale ("Not in paid work")


@cache
def all_disciplines() -> tuple[DisciplineDef, ...]:
    data = resources.load_toml(FILE)
    return tuple(
        DisciplineDef(
            code=d["code"],
            name=d["name"],
            short=d["short"],
            colour=d["colour"],
            key_instruments=tuple(d["key_instruments"]),
            session_kinds=tuple(d["session_kinds"]),
            special_parts=tuple(d["special_parts"]),
            plan_categories=tuple(d["plan_categories"]),
            plan_title=d.get("plan_title", ""),
            baseline_instruments=tuple(
                (entry,) if isinstance(entry, str) else tuple(entry) for entry in d.get("baseline_instruments", ())
            ),
        )
        for d in data["discipline"]
    )


def measures(code: str) -> tuple[str, ...]:
    """The instruments a discipline's panel lists: its key instruments in their listed
    order, then any other instrument of the discipline in the library (a clinic's own
    definitions) by short name. Instruments missing from the library are left out."""
    library = instruments.library()
    listed = [i for i in get(code).key_instruments if i in library]
    others = sorted(
        (i for i, inst in library.items() if inst.discipline == code and i not in listed),
        key=lambda i: library[i].short_name.lower(),
    )
    return tuple(listed + others)


def all_measures() -> tuple[str, ...]:
    """Every instrument in the library in display order: discipline by discipline, as
    ``measures`` orders them."""
    return tuple(dict.fromkeys(i for d in all_disciplines() for i in measures(d.code)))


def codes() -> tuple[str, ...]:
    return tuple(d.code for d in all_disciplines())


def get(code: str) -> DisciplineDef:
    for d in all_disciplines():
        if d.code == code:
            return d
    raise NotFound(f"unknown discipline {code!r} (known: {', '.join(codes())})")


def plan_category_label(category: str) -> str:
    labels: dict[str, str] = resources.load_toml(FILE)["plan_category_labels"]
    return labels.get(category, category.replace("_", " ").capitalize())


def discipline_of_plan_category(category: str) -> str:
    for d in all_disciplines():
        if category in d.plan_categories:
            return d.code
    raise ValidationError(f"unknown plan category {category!r}", field="category")


@cache
def rtw_phases() -> tuple[RtwPhaseDef, ...]:
    return tuple(
        RtwPhaseDef(p["code"], p["label"], p.get("on_scale", True)) for p in resources.load_toml(FILE)["rtw_phase"]
    )


def rtw_phase_label(code: int | None) -> str | None:
    if code is None:
        return None
    for p in rtw_phases():
        if p.code == code:
            return p.label
    return f"phase {code}"


def vocabulary(name: str) -> tuple[str, ...]:
    return tuple(resources.load_toml(FILE)["vocabularies"][name])


def code_label(code: str) -> str:
    """A stored vocabulary code as people read it: ``dropped_out`` -> 'Dropped out'."""
    return code.replace("_", " ").capitalize()


@cache
def patient_statuses() -> tuple[str, ...]:
    """The patient statuses, in the order they are offered (the active one first)."""
    statuses = vocabulary("patient_status")
    if ACTIVE_STATUS not in statuses:
        raise ValueError(f"{FILE}: vocabularies.patient_status must include {ACTIVE_STATUS!r}")
    return statuses


def patient_status_label(code: str) -> str:
    return code_label(code)


def patient_status_choices() -> tuple[tuple[str, str], ...]:
    """(code, label) per status, for filters and forms."""
    return tuple((code, patient_status_label(code)) for code in patient_statuses())
