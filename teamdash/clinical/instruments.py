"""Instrument definitions and scoring.

Definitions are data: one TOML file per instrument in ``resources/instruments/`` (the
format is documented in that folder's README). This module loads and validates them
once, normalises item responses and scores them. It is pure: no database, no Qt.

A new questionnaire of a known kind (sum, mean, percent of maximum, reversed items,
subscales, multi-component, rule-based subgroups, named formulas, patient-named items)
is a new file and no code. Formulas are a small closed set of named functions below; a
definition refers to them by name, nothing in a definition is ever evaluated.

Beside the shipped definitions, a clinic may keep its own in a folder
(``paths.clinic_instruments_dir()``). Those are loaded the same way; one with a mistake
is refused (``refusals()`` names the file, the key and the reason) and the rest of the
library loads. ``check_file`` validates one file and scores its boundary cases.
"""

from __future__ import annotations

import logging
import math
import operator
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any, cast

from teamdash import paths, resources
from teamdash.errors import InvalidItemName, InvalidResponse, TeamDashError, UnknownInstrument

log = logging.getLogger(__name__)

DISCIPLINES = ("pt", "psychology", "nutrition", "sleep", "social")
DIRECTIONS = ("higher_worse", "higher_better")
ITEM_KINDS = ("int", "float", "bool", "time")
METHODS = ("value", "sum", "mean", "percent_of_max", "components", "formula")
Z95 = 1.96  # two-sided 95 % normal quantile used by Jacobson & Truax (1991)
Z90 = 1.645  # two-sided 90 % normal quantile of a published MDC90 (Stratford 1996, Davidson & Keating 2002)
MAX_ITEM_NAME = 80  # characters in a patient-named item (a PSFS activity)

# One item's response once checked: a number, a time of day "HH:MM", or None (blank).
Response = float | str | None

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}


class DefinitionError(TeamDashError):
    """An instrument definition file is malformed. Not caused by a clinician's input,
    but by whoever edited the definition: the message names file and key, and
    ``file``/``key``/``problem`` keep them apart for a refusal list."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None, problem: str | None = None):
        super().__init__(message)
        self.file = file
        self.key = key
        self.problem = problem or message


# --- public data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    label: str
    low: float  # inclusive
    high: float  # inclusive
    severity: int  # 0 = best

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Condition:
    """``subject op value``: subject is an item number (int) or a score name (str:
    "total" or a subscale name)."""

    subject: int | str
    op: str
    value: float

    def holds(self, actual: float | None) -> bool:
        return actual is not None and OPS[self.op](actual, self.value)

    def __str__(self) -> str:
        subject = f"item {self.subject}" if isinstance(self.subject, int) else self.subject
        return f"{subject} {self.op} {_fmt(self.value)}"


@dataclass(frozen=True)
class Item:
    number: int
    label: str | None
    kind: str
    minimum: float | None
    maximum: float | None
    choices: tuple[tuple[float, str], ...]
    unit: str | None
    optional: bool
    # The item is required only while this condition on another item holds (WPAI's
    # work questions are asked only of people in paid work).
    required_when: Condition | None = None
    # Scored as this value when left blank (PSQI 5j "other reason" per the
    # University of Pittsburgh scoring instructions).
    score_if_missing: float | None = None
    # The item's number in the instrument it was taken from (CPAQ-8 item 2 is CPAQ-20
    # item 13); the scoring key may be written in these numbers.
    source_number: int | None = None
    # Never blank, whatever the missing-item rule allows (PHQ-9 item 9: a missing answer
    # must not hide a positive safety item).
    mandatory: bool = False

    def allowed(self) -> str:
        """What a valid answer looks like, for error messages and input hints."""
        if self.kind == "time":
            return "a time of day HH:MM (00:00–23:59)"
        if self.kind == "bool":
            return "1 (yes) or 0 (no)"
        unit = f" {self.unit}" if self.unit else ""
        return f"{_fmt(self.minimum)}–{_fmt(self.maximum)}{unit}"

    def choice_label(self, value: float) -> str | None:
        return next((label for code, label in self.choices if code == value), None)


@dataclass(frozen=True)
class Steps:
    """Maps a number to a score: the first step whose threshold the value meets
    (``at_least``: value >= threshold; ``above``: value > threshold) gives the score,
    otherwise ``otherwise``."""

    rule: str
    steps: tuple[tuple[float, float], ...]
    otherwise: float

    def apply(self, value: float) -> float:
        # Plain loops: scoring a PSQI applies a dozen of these (a bulk import, thousands).
        if self.rule == "at_least":
            for threshold, score in self.steps:
                if value >= threshold:
                    return score
        else:
            for threshold, score in self.steps:
                if value > threshold:
                    return score
        return self.otherwise


@dataclass(frozen=True)
class Component:
    name: str
    items: tuple[int, ...]  # summed after per-item recode ...
    recode: Mapping[int, Steps]
    derived: str | None  # ... or one value from a derived formula
    mapping: Steps | None  # then mapped to the component score


@dataclass(frozen=True)
class Derivation:
    formula: str
    inputs: tuple[int, ...]


@dataclass(frozen=True)
class Subgroup:
    label: str
    severity: int
    when: tuple[Condition, ...]  # all must hold


@dataclass(frozen=True)
class FlagRule:
    item: int
    when: Condition
    kind: str
    reason: str


@dataclass(frozen=True)
class Scoring:
    method: str
    reverse: tuple[int, ...]
    recode: Mapping[int, Steps]
    max_missing: int
    subscales: Mapping[str, tuple[int, ...]]
    components: tuple[Component, ...]
    derivations: tuple[Derivation, ...]
    total_key: str | None
    subgroups: tuple[Subgroup, ...]
    flags: tuple[FlagRule, ...]
    # A sum with missing items is prorated to the full item count: sum / answered x
    # items, rounded half up to the instrument's decimals (DC/TMD scoring manual).
    prorate: bool = False


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    short_name: str
    discipline: str
    key_measure: bool
    items: tuple[Item, ...]
    direction: str | None
    total_min: float | None
    total_max: float | None
    unit: str | None
    decimals: int
    bands: tuple[Band, ...]
    mcid_abs: float | None
    mcid_pct: float | None
    # |x2 - x1| must exceed this to be reliable (Jacobson & Truax: 1.96 * sqrt(2) * SEM),
    # or, when ``reliable_change_inclusive``, reach it (published "N or more" criteria
    # such as NHS Talking Therapies' PHQ-9 6 / GAD-7 4).
    reliable_change: float | None
    sem: float | None
    loinc: str | None
    licence: str
    interval_days: int | None
    sources: tuple[str, ...]
    notes: str
    subscale_names: tuple[str, ...]
    component_names: tuple[str, ...]
    reliable_change_inclusive: bool = False
    band_ties: str = "lower"  # on a boundary shared by two bands, which one wins
    derived_names: tuple[str, ...] = ()
    subgroup_labels: tuple[str, ...] = ()
    scoring: Scoring | None = None
    # The period the questions ask about, as the form states it ("the last 2 weeks").
    recall: str | None = None
    # Rules that decide what is shown but could not be verified from a primary source:
    # shown wherever the rule's result is shown (form, panel, exports).
    unverified: tuple[str, ...] = ()
    # Items numbered as in another instrument (CPAQ-8 items as CPAQ-20 numbers).
    item_source: str | None = None
    # Each item is an activity the patient names (PSFS): the names are stored with the
    # measurement and change is computed over items named and rated at both times.
    named_items: bool = False
    item_name_label: str = "Activity"
    # Reliability of one patient-named item (PSFS single activity), like reliable_change/sem.
    item_reliable_change: float | None = None
    item_sem: float | None = None
    # The published figure the reliable change comes from ("SEM 1.02", "MDC90 5").
    reliability_basis: str | None = None
    item_reliability_basis: str | None = None
    origin: str = "shipped"  # or "clinic": a definition from the clinic's own folder
    path: str | None = None  # the definition file

    # Worked out once per definition for the scorer (cached, not fields: never compared).

    @cached_property
    def cells_read(self) -> tuple[dict[object, Response], ...]:
        """Per item, what cells already read made of it (``_normalise_all``)."""
        return tuple({} for _ in self.items)

    @cached_property
    def names_checked(self) -> dict[tuple[tuple[object, ...], tuple[bool, ...]], tuple[str | None, ...] | None]:
        """Item names already checked (``_item_names``), by the names and which items were rated."""
        return {}

    @cached_property
    def scores_are_answers(self) -> bool:
        """An answered item scores its answer as it is: no recoding, reversing or time."""
        spec = self.scoring
        return spec is not None and not spec.recode and not spec.reverse and all(i.kind != "time" for i in self.items)

    @cached_property
    def top_score(self) -> float:
        """The sum of every item's maximum (a percent of maximum with all items answered)."""
        return sum(_bounds(item)[1] for item in self.items)

    def item_name_words(self, count: int = 1) -> str:
        """'activity' / 'activities': what a patient-named item is called in a sentence."""
        word = self.item_name_label.lower()
        if count == 1:
            return word
        if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
            return word[:-1] + "ies"
        return word + "s"

    def displayed(self, value: float) -> float:
        """``value`` as the team reads it: rounded to the instrument's decimals exactly
        as ``format`` shows it."""
        return float(f"{value:.{self.decimals}f}")

    def band_for(self, value: float | None) -> Band | None:
        """The band of ``value`` as displayed (BMI 18.4998 shows as 18.5 and is Normal
        weight, never '18.5 Underweight'). Rule-based instruments (STarT Back) cannot be
        banded from the total alone: use ``score`` for them."""
        if value is None or self.subgroup_labels:
            return None
        shown = self.displayed(value)
        hits = [b for b in self.bands if b.low <= shown <= b.high]  # Band.contains, inlined: scoring calls it per row
        if len(hits) < 2:
            return hits[0] if hits else None
        pick = min if self.band_ties == "lower" else max
        return pick(hits, key=lambda b: b.low)

    def band_named(self, label: str | None) -> Band | None:
        return next((b for b in self.bands if b.label == label), None)

    def format(self, value: float | None) -> str:
        """The value as the team reads it (the instrument's decimals)."""
        if value is None:
            return "–"
        return f"{value:.{self.decimals}f}"

    def item_role(self, number: int) -> str:
        """What an item counts towards, for form hints: 'activity engagement',
        'pain willingness, reverse-scored'."""
        spec = self.scoring
        if spec is None:
            return ""
        parts = [name.replace("_", " ") for name, items in spec.subscales.items() if number in items]
        if number in spec.reverse:
            parts.append("reverse-scored")
        return ", ".join(parts)

    def prorated(self, responses: Sequence[object]) -> bool:
        """Whether a stored administration's total was prorated (items left blank on an
        instrument whose sum is prorated)."""
        if self.scoring is None or not self.scoring.prorate:
            return False
        return any(_is_blank(r) for r in responses)


@dataclass(frozen=True)
class ItemFlag:
    kind: str  # "safety"
    item: int
    reason: str


@dataclass(frozen=True)
class ScoreResult:
    instrument: str
    total: float | None
    band: str | None
    band_severity: int | None
    subscales: dict[str, float | None]
    components: dict[str, float | None]
    derived: dict[str, float | None]
    missing_items: tuple[int, ...]
    responses: tuple[float | str | None, ...]
    flags: tuple[ItemFlag, ...]
    # The total was prorated from the answered items (a sum with items left blank).
    prorated: bool = False
    # Patient-named items: each item's name (None where unnamed); None for other instruments.
    item_names: tuple[str | None, ...] | None = None

    @property
    def has_safety_flag(self) -> bool:
        return any(f.kind == "safety" for f in self.flags)


# --- library ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A clinic definition that was not loaded: which file, which key, and why."""

    file: Path
    key: str | None
    reason: str

    def __str__(self) -> str:
        where = f"key '{self.key}' " if self.key else ""
        return f"{self.file}: {where}{self.reason}"


@dataclass(frozen=True)
class _Library:
    instruments: dict[str, Instrument]
    refusals: tuple[Refusal, ...]
    folder: Path


@cache
def _load() -> _Library:
    """The shipped definitions (a mistake there is a bug: it raises), then the clinic's
    folder (a mistake there refuses that file only)."""
    out: dict[str, Instrument] = {}
    for file in sorted(resources.path("instruments").glob("*.toml")):
        instrument = _parse_file(file.name, resources.load_toml("instruments", file.name))
        out[instrument.id] = instrument
    folder = paths.clinic_instruments_dir()
    refused: list[Refusal] = []
    for file in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
        try:
            instrument = _read_clinic_file(file, shipped=out)
        except DefinitionError as exc:
            refused.append(Refusal(file, exc.key, exc.problem))
            log.warning("instrument definition refused: %s", refused[-1])
            continue
        out[instrument.id] = instrument
    return _Library(out, tuple(refused), folder)


def _read_clinic_file(file: Path, *, shipped: Mapping[str, Instrument]) -> Instrument:
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(
            f"instrument definition {file.name}: is not valid TOML ({exc})",
            file=file.name,
            problem=f"is not valid TOML ({exc})",
        ) from None
    except OSError as exc:
        reason = f"cannot be read ({exc.strerror or exc})"
        raise DefinitionError(f"instrument definition {file.name}: {reason}", file=file.name, problem=reason) from None
    instrument = _parse_file(file.name, data, origin="clinic", path=str(file))
    if shipped.get(instrument.id) is not None and shipped[instrument.id].origin == "shipped":
        raise _Table(file.name, data).error("id", f"{instrument.id!r} is a shipped instrument: choose another ID")
    return instrument


def library() -> dict[str, Instrument]:
    """Every definition, shipped and the clinic's own, loaded and validated once."""
    return _load().instruments


def refusals() -> tuple[Refusal, ...]:
    """The clinic definitions refused at load, each with its file, key and reason."""
    return _load().refusals


def clinic_folder() -> Path:
    """Where the clinic's own definitions were read from."""
    return _load().folder


def reload() -> None:
    """Read the definitions again (after the clinic folder or its files changed)."""
    _load.cache_clear()


def check_file(path: str | Path) -> Instrument:
    """Validate one definition file as the library would load it from the clinic
    folder. Raises ``DefinitionError`` naming the file, the key and the reason."""
    file = Path(path)
    if file.suffix != ".toml":
        raise DefinitionError(
            f"instrument definition {file.name}: must be a .toml file", file=file.name, problem="must be a .toml file"
        )
    if not file.is_file():
        reason = "does not exist" if not file.exists() else "is not a file"
        raise DefinitionError(f"instrument definition {file}: {reason}", file=file.name, problem=reason)
    # A shipped definition checked in place is itself, not a clash with itself.
    itself = file.resolve() == resources.path("instruments", file.name).resolve()
    shipped = {i.id: i for i in library().values() if i.origin == "shipped" and not (itself and i.path is None)}
    if itself:
        shipped.pop(file.stem, None)
    return _read_clinic_file(file, shipped=shipped)


def get(instrument_id: str) -> Instrument:
    """The instrument with this ID; case does not matter (``PHQ9`` is ``phq9``)."""
    found = library().get(instrument_id) if isinstance(instrument_id, str) else None
    if found is None and isinstance(instrument_id, str):
        wanted = instrument_id.strip().casefold()
        found = next((inst for key, inst in library().items() if key.casefold() == wanted), None)
    if found is None:
        raise UnknownInstrument(str(instrument_id), list(library()))
    return found


def parse_responses(text: str) -> list[str | None]:
    """``"1,2,,3"`` -> ``["1", "2", None, "3"]``: the command line's response list,
    an empty slot for a missing item."""
    if text is None or not text.strip():
        return []
    return [part.strip() or None for part in text.split(",")]


def result_json(result: ScoreResult) -> dict[str, Any]:
    """A ScoreResult as plain JSON-ready data (the CLI's ``--json`` and stored details)."""
    return {
        "instrument": result.instrument,
        "total": result.total,
        "prorated": result.prorated,
        "band": result.band,
        "band_severity": result.band_severity,
        "subscales": dict(result.subscales),
        "components": dict(result.components),
        "derived": dict(result.derived),
        "missing_items": list(result.missing_items),
        "responses": list(result.responses),
        "item_names": None if result.item_names is None else list(result.item_names),
        "flags": [{"kind": f.kind, "item": f.item, "reason": f.reason} for f in result.flags],
    }


# --- scoring ---------------------------------------------------------------------------


def score(
    instrument_id: str,
    responses: Sequence[str | int | float | None],
    item_names: Sequence[str | None] | None = None,
) -> ScoreResult:
    """Validate and score one administration. Raises ``InvalidResponse`` naming the item
    and its allowed values, ``UnknownInstrument`` for a bad ID. ``item_names`` are the
    patient's names for the items of a patient-named instrument (PSFS activities)."""
    return score_with(get(instrument_id), responses, item_names)


def score_with(
    inst: Instrument,
    responses: Sequence[str | int | float | None],
    item_names: Sequence[str | None] | None = None,
) -> ScoreResult:
    """``score`` for a definition that need not be in the library (one being checked)."""
    values, names = read(inst, responses, item_names)
    return score_read(inst, values, names)


def read(
    inst: Instrument,
    responses: Sequence[str | int | float | None],
    item_names: Sequence[str | None] | None = None,
) -> tuple[tuple[Response, ...], tuple[str | None, ...] | None]:
    """The first half of ``score_with``: each cell read for its item, and the names of
    a patient-named instrument's items checked against what was rated. Raises what
    ``score_with`` raises for a bad cell or name, in the same order."""
    _rules(inst)  # a definition without rules is refused before any cell is read
    values = _normalise_all(inst, responses)
    return tuple(values), _item_names(inst, values, item_names)


def score_read(
    inst: Instrument, values: tuple[Response, ...], item_names: tuple[str | None, ...] | None
) -> ScoreResult:
    """The second half of ``score_with``: what ``read`` returned, scored. The names do
    not change the score, so a patient's activities rated the same twice score once
    (an import keys its cache by the values alone and adds the names)."""
    spec = _rules(inst)
    missing = _check_missing(inst, values)
    item_scores = _item_scores(inst, values)
    derived = _derive(inst, values)
    components = {c.name: _component(c, item_scores, derived) for c in spec.components}
    subscales = {name: _sum_or_none(item_scores, items) for name, items in spec.subscales.items()}
    raw_total, prorated = _total(inst, item_scores, components, derived)
    total = _clean(raw_total)
    band, severity = _classify(inst, total, subscales)
    return ScoreResult(
        instrument=inst.id,
        total=total,
        band=band,
        band_severity=severity,
        subscales=subscales,
        components=components,
        derived={k: _clean(v) for k, v in derived.items()},
        missing_items=missing,
        responses=values,
        flags=_flags(inst, values),
        prorated=prorated,
        item_names=item_names,
    )


_CONTROL = re.compile("[\x00-\x1f\x7f]")  # control characters: never in a one-line name


def normal_item_name(name: str) -> str:
    """How two item names are compared (the same activity written twice): case, accents
    kept, spacing and letter case ignored."""
    return " ".join(name.split()).casefold()


def _item_names(
    inst: Instrument, values: Sequence[Response], names: Sequence[str | None] | None
) -> tuple[str | None, ...] | None:
    """Checked names of a patient-named instrument's items: every rated item named, no
    name twice. None for other instruments (which take no names)."""
    if names is None and not inst.named_items:
        return None
    if inst.named_items and type(names) is tuple:
        # A patient's activities come back with every rating: checked once per set rated.
        key = (names, tuple([v is not None for v in values]))
        try:
            return inst.names_checked[key]
        except KeyError:
            checked = inst.names_checked[key] = _check_item_names(inst, values, names)
            return checked
        except TypeError:  # a name that cannot be a key (a list): checked, not remembered
            pass
    return _check_item_names(inst, values, names)


def _check_item_names(
    inst: Instrument, values: Sequence[Response], names: Sequence[str | None] | None
) -> tuple[str | None, ...] | None:
    given = [] if names is None else list(names)
    if not inst.named_items:
        if any(not _is_blank(n) for n in given):
            raise InvalidResponse(
                f"responses for {inst.short_name}: its items are not named by the patient (no names are taken)",
                instrument=inst.id,
                item=None,
            )
        return None
    if len(given) > len(inst.items):
        raise InvalidResponse(
            f"responses for {inst.short_name}: {len(given)} {inst.item_name_label.lower()} names for "
            f"{len(inst.items)} items",
            instrument=inst.id,
            item=None,
        )
    given += [None] * (len(inst.items) - len(given))
    out: list[str | None] = []
    seen: dict[str, int] = {}
    what = inst.item_name_label.lower()
    for item, value, raw in zip(inst.items, values, given):
        if raw is not None and not isinstance(raw, str):
            raise InvalidItemName(
                f"item {item.number} of {inst.short_name}: the {what} name must be text, not {raw!r}",
                instrument=inst.id,
                item=item.number,
            )
        name = " ".join(raw.split()) if raw else None  # line breaks and runs of spaces become one space
        if name and (len(name) > MAX_ITEM_NAME or _CONTROL.search(name)):
            raise InvalidItemName(
                f"item {item.number} of {inst.short_name}: the {what} name must be one line of at most "
                f"{MAX_ITEM_NAME} characters",
                instrument=inst.id,
                item=item.number,
            )
        if name is None and value is not None:
            raise InvalidItemName(
                f"item {item.number} of {inst.short_name}: rated {_fmt(value)} but the {what} has no name "
                f"(write the {what} the patient rated)",
                instrument=inst.id,
                item=item.number,
            )
        if name is not None:
            key = normal_item_name(name)
            if key in seen:
                raise InvalidItemName(
                    f"item {item.number} of {inst.short_name}: {name!r} is already {what} {seen[key]} "
                    f"(each {what} once)",
                    instrument=inst.id,
                    item=item.number,
                )
            seen[key] = item.number
        out.append(name)
    return tuple(out)


def _rules(inst: Instrument) -> Scoring:
    """The instrument's scoring rules (every parsed definition has them)."""
    if inst.scoring is None:
        raise DefinitionError(f"instrument {inst.id} has no scoring rules")
    return inst.scoring


def _bounds(item: Item) -> tuple[float, float]:
    """The range of a numeric item (int, float, bool: always set by the parser)."""
    if item.minimum is None or item.maximum is None:
        raise DefinitionError(f"item {item.number} has no numeric range")
    return item.minimum, item.maximum


def _clean(value: float | None) -> float | None:
    # Float noise (18.499999999 for a BMI of 18.5) must not move a value across a band
    # boundary; nine decimals are far below any instrument's display precision.
    return None if value is None else round(value, 9) + 0.0


def _invalid(inst: Instrument, item: Item, message: str) -> InvalidResponse:
    return InvalidResponse(
        f"item {item.number} of {inst.short_name}: {message}",
        instrument=inst.id,
        item=item.number,
        allowed=item.allowed(),
    )


def _normalise_all(inst: Instrument, responses: Sequence[object]) -> list[Response]:
    usual = type(responses) is tuple or type(responses) is list  # checked cheaply, before the ABC
    if not usual and (isinstance(responses, (str, bytes)) or not isinstance(responses, Sequence)):
        raise InvalidResponse(
            f"responses for {inst.short_name}: expected a list of {len(inst.items)} responses",
            instrument=inst.id,
            item=None,
        )
    if len(responses) != len(inst.items):
        raise InvalidResponse(
            f"responses for {inst.short_name}: expected {len(inst.items)} responses "
            f"(one per item, blank for a missing item), got {len(responses)}",
            instrument=inst.id,
            item=None,
        )
    values: list[Response] = []
    for item, raw, read in zip(inst.items, responses, inst.cells_read):
        if type(raw) in _REMEMBERED:
            value = read.get(raw, _UNREAD)
            if value is _UNREAD:
                value = _normalise(inst, item, raw)
                if len(read) < _REMEMBERED_PER_ITEM:
                    read[raw] = value
            values.append(value)  # type: ignore[arg-type]  # never _UNREAD here
        else:
            values.append(_normalise(inst, item, raw))
    return values


# The cell values an item's reading is remembered for (``Instrument.cells_read``): an
# import meets the same few cells ("3", 3, 2.5, blank) thousands of times. Never a bool:
# True equals 1 as a key but is refused as a number. Equal keys of these types (2, 2.0)
# read the same for every item kind.
_REMEMBERED = frozenset({str, int, float, type(None)})
_REMEMBERED_PER_ITEM = 1_000
_UNREAD = object()


def _is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _normalise(inst: Instrument, item: Item, raw: object) -> Response:
    """One cell read and checked for its item (a number in range, a time, yes/no) or
    None when blank; raises ``InvalidResponse`` naming the item."""
    if _is_blank(raw):
        return None
    kind = item.kind
    if kind == "time":
        return _parse_time(inst, item, raw)
    if kind == "bool":
        return _parse_bool(inst, item, raw)
    number = _parse_number(inst, item, raw)
    low, high = _bounds(item)
    if not low <= number <= high:
        raise _invalid(inst, item, f"{_fmt(number)} is outside {item.allowed()}")
    if kind == "int":
        if not float(number).is_integer():
            raise _invalid(inst, item, f"{_fmt(number)} is not a whole number (allowed {item.allowed()})")
        return int(number)
    return number


def _shown(raw: object) -> str:
    """A response as the message echoes it: short, whatever was typed."""
    if not isinstance(raw, str):
        shown = repr(raw)
        return shown if len(shown) <= 24 else f"{shown[:12]}…"
    text = raw.strip()
    return repr(text) if len(text) <= 24 else f"{text[:12]!r}… ({len(text):,} characters)"


def _parse_number(inst: Instrument, item: Item, raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise _invalid(inst, item, f"{_shown(raw)} is not a number (allowed {item.allowed()})")
    if isinstance(raw, str) and not raw.isascii():
        # float() reads Arabic-Indic or full-width digits too; a form never holds them.
        raise _invalid(
            inst, item, f"{_shown(raw)} is not a number written with the digits 0–9 (allowed {item.allowed()})"
        )
    try:
        number = float(raw.strip().replace(",", ".")) if isinstance(raw, str) else float(raw)
    except (ValueError, OverflowError):
        raise _invalid(inst, item, f"{_shown(raw)} is not a number (allowed {item.allowed()})") from None
    if math.isinf(number) and isinstance(raw, str) and raw.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise _invalid(inst, item, f"{_shown(raw)} is outside {item.allowed()}")  # digits beyond any float
    if not math.isfinite(number):
        raise _invalid(inst, item, f"{_shown(raw)} is not a number (allowed {item.allowed()})")
    return number


_TRUE = {"1", "yes", "y", "true", "agree"}
_FALSE = {"0", "no", "n", "false", "disagree"}


def _parse_bool(inst: Instrument, item: Item, raw: object) -> int:
    text = str(raw).strip().lower()
    if isinstance(raw, float) and raw in (0.0, 1.0):
        text = str(int(raw))
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    raise _invalid(inst, item, f"{raw!r} is not yes/no (allowed {item.allowed()})")


_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def _parse_time(inst: Instrument, item: Item, raw: object) -> str:
    match = _TIME.match(raw.strip()) if isinstance(raw, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise _invalid(inst, item, f"{raw!r} is not {item.allowed()}")
    return f"{int(match[1]):02d}:{match[2]}"


def _required(item: Item, values: Sequence[Response]) -> bool:
    condition = item.required_when
    if condition is not None:
        assert isinstance(condition.subject, int)  # an item's condition names an item (the parser checks)
        return condition.holds(_as_number(values[condition.subject - 1]))
    return not item.optional


def _check_missing(inst: Instrument, values: Sequence[Response]) -> tuple[int, ...]:
    if None not in values:  # every item answered: the usual case
        return ()
    missing = tuple(item.number for item, v in zip(inst.items, values) if v is None)
    if len(missing) == len(values):
        raise InvalidResponse(f"responses for {inst.short_name}: no item was answered", instrument=inst.id, item=None)
    for item in inst.items:
        if item.mandatory and values[item.number - 1] is None:
            raise _invalid(
                inst,
                item,
                f"missing — item {item.number} must always be answered, whatever else is left blank "
                f"(allowed {item.allowed()})",
            )
    required = [item for item in inst.items if values[item.number - 1] is None and _required(item, values)]
    allowed = _rules(inst).max_missing
    if len(required) > allowed:
        item = required[allowed]
        rule = (
            f"{inst.short_name} needs every item answered"
            if allowed == 0
            else f"at most {allowed} of {len(inst.items)} items may be missing"
        )
        numbers = ", ".join(str(i.number) for i in required)
        raise _invalid(inst, item, f"missing — {rule} (missing items: {numbers}; allowed {item.allowed()})")
    return missing


def _as_number(value: object) -> float | None:
    return value if isinstance(value, (int, float)) else None


def _item_scores(inst: Instrument, values: Sequence[Response]) -> list[float | None]:
    if inst.scores_are_answers and None not in values:
        return list(values)  # type: ignore[arg-type]  # no time item: every answer is a number
    spec = _rules(inst)
    out: list[float | None] = []
    for item, value in zip(inst.items, values):
        number = _as_number(value)
        if number is None:
            out.append(item.score_if_missing)
            continue
        if item.number in spec.recode:
            number = spec.recode[item.number].apply(number)
        if item.number in spec.reverse:
            low, high = _bounds(item)
            number = low + high - number
        out.append(number)
    return out


def _sum_or_none(item_scores: Sequence[float | None], items: Sequence[int]) -> float | None:
    picked = [item_scores[i - 1] for i in items]
    numbers = [v for v in picked if v is not None]
    return None if len(numbers) < len(picked) else float(sum(numbers))


def _derive(inst: Instrument, values: Sequence[Response]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for d in _rules(inst).derivations:
        args = [values[i - 1] for i in d.inputs]
        try:
            out.update(FORMULAS[d.formula].fn(args))
        except FormulaInputError as problem:
            raise _invalid(inst, inst.items[d.inputs[problem.position] - 1], problem.message) from None
    return out


def _component(c: Component, item_scores: Sequence[float | None], derived: Mapping[str, float | None]) -> float | None:
    raw: float | None
    if c.derived is not None:
        raw = derived.get(c.derived)
    else:
        parts: list[float] = []
        for number in c.items:
            value = item_scores[number - 1]
            if value is None:
                break
            parts.append(c.recode[number].apply(value) if number in c.recode else value)
        raw = None if len(parts) < len(c.items) else sum(parts)
    if raw is None:
        return None
    return float(c.mapping.apply(raw) if c.mapping else raw)


def round_half_up(value: float, decimals: int = 0) -> float:
    """Round a total the way it is reported on paper: 4.5 -> 5 (not Python's 4)."""
    step = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


def _total(
    inst: Instrument,
    item_scores: Sequence[float | None],
    components: Mapping[str, float | None],
    derived: Mapping[str, float | None],
) -> tuple[float | None, bool]:
    """The total and whether it was prorated."""
    spec = _rules(inst)
    method = spec.method
    complete = None not in item_scores
    answered = cast(Sequence[float], item_scores) if complete else [v for v in item_scores if v is not None]
    if method == "value":
        return item_scores[0], False
    if method == "sum":
        if spec.prorate and len(answered) < len(item_scores):
            # DC/TMD scoring manual: sum of the answered items / answered x all items,
            # in the metric of a complete form; multiplied first to keep 4 x 9 / 8 = 4.5 exact.
            return round_half_up(sum(answered) * len(item_scores) / len(answered), inst.decimals), True
        return float(sum(answered)), False
    if method == "mean":
        return sum(answered) / len(answered), False
    if method == "percent_of_max":
        # Multiply before dividing so 9/45 gives exactly 20.0, not 20.000000000000004.
        top = (
            inst.top_score
            if complete
            else sum(_bounds(item)[1] for item, v in zip(inst.items, item_scores) if v is not None)
        )
        return sum(answered) * 100 / top, False
    if method == "components":
        parts = [v for v in components.values() if v is not None]
        return (None if len(parts) < len(components) else float(sum(parts))), False
    return (derived.get(spec.total_key) if spec.total_key else None), False  # "formula"


def _classify(
    inst: Instrument, total: float | None, subscales: Mapping[str, float | None]
) -> tuple[str | None, int | None]:
    subgroups = _rules(inst).subgroups
    if subgroups:
        scores = {"total": total, **subscales}
        for group in subgroups:
            # Subgroup conditions name scores (the parser checks), never item numbers.
            if all(c.holds(scores.get(c.subject) if isinstance(c.subject, str) else None) for c in group.when):
                return group.label, group.severity
        return None, None
    band = inst.band_for(total)
    return (band.label, band.severity) if band else (None, None)


def _flags(inst: Instrument, values: Sequence[Response]) -> tuple[ItemFlag, ...]:
    out = []
    for rule in _rules(inst).flags:
        value = _as_number(values[rule.item - 1])
        if value is not None and rule.when.holds(value):
            item = inst.items[rule.item - 1]
            answer = item.choice_label(value) or _fmt(value)
            reason = rule.reason.replace("{value}", _fmt(value)).replace("{answer}", answer)
            out.append(ItemFlag(kind=rule.kind, item=rule.item, reason=reason))
    return tuple(out)


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)) and abs(value) >= 1e9:
        return f"{value:.3g}"  # an absurd number is shown short, never as 300 digits
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- boundary cases (checking a definition) ---------------------------------------------


@dataclass(frozen=True)
class BoundaryCase:
    """One test administration of a definition and what the scorer made of it."""

    label: str  # "all items at minimum", "band 'Mild' from 5"
    responses: tuple[float | str, ...] | None  # None: no response set reaches this value
    result: ScoreResult | None
    problem: str | None = None  # why it could not be scored
    value: float | None = None  # the band edge looked for
    band: str | None = None  # the band that value is shown in (band_for)


def _extreme(item: Item, top: bool) -> float | str:
    if item.kind == "time":
        return "23:59" if top else "00:00"
    if item.choices:
        codes = [code for code, _ in item.choices]
        value = max(codes) if top else min(codes)
    else:
        low, high = _bounds(item)
        value = high if top else low
    return int(value) if item.kind in ("int", "bool") else value


def _names_for(inst: Instrument, responses: Sequence[object]) -> list[str | None] | None:
    if not inst.named_items:
        return None
    return [None if r is None else f"{inst.item_name_label} {n}" for n, r in enumerate(responses, 1)]


def _try(
    inst: Instrument,
    label: str,
    responses: Sequence[float | str],
    *,
    value: float | None = None,
    band: str | None = None,
) -> BoundaryCase:
    try:
        result = score_with(inst, responses, _names_for(inst, responses))
    except TeamDashError as exc:
        return BoundaryCase(label, tuple(responses), None, str(exc), value=value, band=band)
    return BoundaryCase(label, tuple(responses), result, value=value, band=band)


def _answers_for_total(inst: Instrument, target: float) -> list[float] | None:
    """Answers (every item answered) whose total is exactly ``target``, for sum, mean and
    percent-of-maximum instruments without recoding; None when none exists."""
    spec = inst.scoring
    if spec is None or spec.method not in ("sum", "mean", "percent_of_max", "value") or spec.recode:
        return None
    items = inst.items
    if any(i.kind not in ("int", "float", "bool") or not _contiguous(i) for i in items):
        return None
    lows = [_bounds(i)[0] for i in items]
    highs = [_bounds(i)[1] for i in items]
    if spec.method == "value":
        wanted = target
    elif spec.method == "mean":
        wanted = target * len(items)
    elif spec.method == "percent_of_max":
        wanted = target * sum(highs) / 100
    else:
        wanted = target
    extra = round(wanted - sum(lows), 9)
    room = [h - lo for lo, h in zip(lows, highs)]
    if extra < 0 or extra > sum(room) + 1e-9:
        return None
    if all(i.kind != "float" for i in items) and not float(extra).is_integer():
        return None
    scores = []
    for lo, span in zip(lows, room):
        step = min(span, extra)
        scores.append(lo + step)
        extra = round(extra - step, 9)
    answers: list[float] = []
    for item, item_score, low, high in zip(items, scores, lows, highs):
        value = low + high - item_score if item.number in spec.reverse else item_score
        answers.append(int(value) if item.kind in ("int", "bool") else value)
    return answers


def _contiguous(item: Item) -> bool:
    """Every whole number of the item's range is an answer (choices, if any, included)."""
    if not item.choices:
        return True
    codes = sorted(code for code, _ in item.choices)
    low, high = _bounds(item)
    return item.kind == "int" and codes == [float(n) for n in range(int(low), int(high) + 1)]


def boundary_cases(inst: Instrument) -> list[BoundaryCase]:
    """Every item at its minimum and at its maximum, then each band's edges (the lowest
    and highest value of each band, scored from answers that reach it where such answers
    exist): what ``teamdash instruments check`` prints for a definition."""
    cases = [
        _try(inst, "all items at minimum", [_extreme(i, False) for i in inst.items]),
        _try(inst, "all items at maximum", [_extreme(i, True) for i in inst.items]),
    ]
    reverse = inst.scoring.reverse if inst.scoring else ()
    if reverse:  # with reversed items the extremes of the total are elsewhere
        cases += [
            _try(inst, "lowest total", [_extreme(i, i.number in reverse) for i in inst.items]),
            _try(inst, "highest total", [_extreme(i, i.number not in reverse) for i in inst.items]),
        ]
    for band in sorted(inst.bands, key=lambda b: b.low):
        for edge, value in (("from", band.low), ("to", band.high)):
            label = f"band '{band.label}' {edge} {_fmt(value)}"
            shown = inst.band_for(value)
            answers = _answers_for_total(inst, value)
            if answers is None:
                cases.append(BoundaryCase(label, None, None, None, value, shown.label if shown else None))
            else:
                cases.append(_try(inst, label, answers, value=value, band=shown.label if shown else None))
    return cases


# --- named formulas --------------------------------------------------------------------


class FormulaInputError(Exception):
    """An impossible combination of inputs; ``position`` indexes the formula's inputs so
    the message can name the instrument's item."""

    def __init__(self, position: int, message: str):
        super().__init__(message)
        self.position = position
        self.message = message


@dataclass(frozen=True)
class Formula:
    fn: Callable[[Sequence[Any]], dict[str, float | None]]
    inputs: int
    outputs: tuple[str, ...]


def minutes_of_day(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def minutes_between(start: str, end: str) -> int:
    """Clock minutes from ``start`` to the next ``end`` (crossing midnight): 23:00 ->
    07:00 is 480. Equal times are 0 minutes apart."""
    return (minutes_of_day(end) - minutes_of_day(start)) % 1440


def bmi(args: Sequence[Any]) -> dict[str, float | None]:
    """Body mass index from weight (kg) and height (cm), in that order."""
    weight_kg, height_cm = args
    return {"bmi": weight_kg / (height_cm / 100) ** 2}


def _pct(numerator: float, denominator: float) -> float:
    return numerator * 100 / denominator


def wpai(args: Sequence[Any]) -> dict[str, float | None]:
    """WPAI:SHP scores (Reilly Associates scoring): Q1 employed (1/0), Q2 hours missed
    for the problem, Q3 hours missed for other reasons, Q4 hours worked, Q5 effect on
    productivity while working (0-10), Q6 effect on regular activities (0-10). Work
    scores exist only for people in paid work; each is None when undefined."""
    employed, missed, _other, worked, at_work, activity = args
    out: dict[str, float | None] = {"absenteeism_pct": None, "presenteeism_pct": None, "work_impairment_pct": None}
    out["activity_impairment_pct"] = None if activity is None else _pct(activity, 10)
    if employed != 1:
        return out
    hours = (missed or 0) + (worked or 0)
    absent = missed / hours if missed is not None and worked is not None and hours > 0 else None
    present = at_work / 10 if at_work is not None and worked else None
    out["absenteeism_pct"] = None if absent is None else absent * 100
    out["presenteeism_pct"] = None if present is None else present * 100
    if absent is not None and present is not None:
        out["work_impairment_pct"] = (absent + (1 - absent) * present) * 100
    elif absent == 1:  # missed every hour: no hours worked to be impaired in
        out["work_impairment_pct"] = 100.0
    return out


def sleep_diary(args: Sequence[Any]) -> dict[str, float | None]:
    """One night of the Consensus Sleep Diary: into bed, lights out, sleep-onset latency
    (min), awakenings, wake after sleep onset (min), final wake, out of bed, quality.
    Clock times run forward across midnight in that order.
    TIB = out of bed - into bed; TST = (final wake - lights out) - SOL - WASO;
    SE = TST / TIB * 100."""
    bed, lights, sol, _awakenings, waso, wake, out_of_bed, _quality = args
    to_lights = minutes_between(bed, lights)
    sleep_window = minutes_between(lights, wake)
    to_rise = minutes_between(wake, out_of_bed)
    tib = to_lights + sleep_window + to_rise
    if tib == 0:
        raise FormulaInputError(6, f"into bed at {bed} and out of bed at {out_of_bed} give no time in bed")
    if tib >= 1440:
        raise FormulaInputError(
            6,
            f"into bed {bed}, lights out {lights}, final wake {wake}, out of bed {out_of_bed} span a day or more: check their order",
        )
    tst = sleep_window - sol - waso
    if tst < 0:
        raise FormulaInputError(
            4,
            f"sleep-onset latency {sol} min + wake after sleep onset {waso} min exceed the "
            f"{sleep_window} min from lights out ({lights}) to final wake ({wake})",
        )
    return {
        "tib_min": float(tib),
        "tst_min": float(tst),
        "se_pct": _pct(tst, tib),
        "sol_min": float(sol),
        "waso_min": float(waso),
    }


def psqi_sleep_efficiency(args: Sequence[Any]) -> dict[str, float | None]:
    """PSQI habitual sleep efficiency: hours asleep (Q4) / hours in bed (Q1 bed time to
    Q3 getting-up time, crossing midnight) * 100."""
    bed, rise, asleep = args
    if bed is None or rise is None or asleep is None:
        return {"hours_in_bed": None, "sleep_efficiency_pct": None}
    in_bed = minutes_between(bed, rise) / 60
    if in_bed == 0:
        raise FormulaInputError(1, f"bed time {bed} and getting-up time {rise} are the same")
    if asleep > in_bed:
        raise FormulaInputError(
            2, f"{_fmt(asleep)} hours asleep is more than the {_fmt(round(in_bed, 2))} hours in bed (items 1 and 3)"
        )
    return {"hours_in_bed": in_bed, "sleep_efficiency_pct": _pct(asleep, in_bed)}


FORMULAS: dict[str, Formula] = {
    "bmi": Formula(bmi, 2, ("bmi",)),
    "wpai": Formula(wpai, 6, ("absenteeism_pct", "presenteeism_pct", "work_impairment_pct", "activity_impairment_pct")),
    "sleep_diary": Formula(sleep_diary, 8, ("tib_min", "tst_min", "se_pct", "sol_min", "waso_min")),
    "psqi_sleep_efficiency": Formula(psqi_sleep_efficiency, 3, ("hours_in_bed", "sleep_efficiency_pct")),
}


# --- definition parsing ----------------------------------------------------------------


class _Table:
    """A TOML table that names the file and key in every complaint."""

    def __init__(self, file: str, data: Mapping[str, Any], where: str = "") -> None:
        self.file, self.data, self.where = file, data, where

    def error(self, key: str, problem: str) -> DefinitionError:
        return DefinitionError(
            f"instrument definition {self.file}: key '{self.where}{key}' {problem}",
            file=self.file,
            key=f"{self.where}{key}",
            problem=problem,
        )

    def get(self, key: str, kinds: type | tuple[type, ...], default: Any = ..., *, allow_none: bool = False) -> Any:
        """The value at ``key`` (TOML: any type), checked to be of ``kinds``."""
        if key not in self.data:
            if default is ...:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        number_wanted = kinds in (float, (int, float))
        if isinstance(value, bool) and kinds is not bool:
            raise self.error(key, f"must be {_kind_name(kinds)}, not {value!r}")
        if number_wanted and isinstance(value, int):
            return float(value)
        if not isinstance(value, kinds):
            raise self.error(key, f"must be {_kind_name(kinds)}, not {value!r}")
        return value

    def required(self, key: str) -> _Table:
        """A sub-table that must be there."""
        value = self.get(key, dict)
        return _Table(self.file, value, f"{self.where}{key}.")

    def table(self, key: str, required: bool = False) -> _Table | None:
        if key not in self.data and not required:
            return None
        value = self.get(key, dict)
        return _Table(self.file, value, f"{self.where}{key}.")

    def only(self, *keys: str) -> None:
        """Reject keys the format does not know: a misplaced key (TOML puts a key under
        the last table header above it) must fail loudly, not be ignored."""
        unknown = sorted(set(self.data) - set(keys))
        if unknown:
            raise self.error(unknown[0], f"is not a known key here (known: {', '.join(keys)})")

    def tables(self, key: str) -> list[_Table]:
        rows = self.get(key, list, [])
        out: list[_Table] = []
        for n, row in enumerate(rows):
            if not isinstance(row, dict):
                raise self.error(f"{key}[{n}]", "must be a table")
            out.append(_Table(self.file, row, f"{self.where}{key}[{n}]."))
        return out


def _kind_name(kinds: type | tuple[type, ...]) -> str:
    names: dict[type, str] = {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    if isinstance(kinds, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kinds)
    return names.get(kinds, kinds.__name__)


TOP_KEYS = (
    "id",
    "name",
    "short_name",
    "discipline",
    "key_measure",
    "direction",
    "unit",
    "decimals",
    "total_min",
    "total_max",
    "band_ties",
    "interval_days",
    "loinc",
    "licence",
    "sources",
    "notes",
    "recall",
    "unverified",
    "items",
    "item",
    "scoring",
    "bands",
    "subgroups",
    "flags",
    "mcid",
    "reliability",
)


def _parse_file(file: str, data: Mapping[str, Any], *, origin: str = "shipped", path: str | None = None) -> Instrument:
    t = _Table(file, data)
    t.only(*TOP_KEYS)
    items, numbering, naming = _parse_items(t)
    scoring = _parse_scoring(t, items, numbering)
    reliability = _parse_reliability(t, named=naming["named_items"])
    instrument = Instrument(
        **_header(t, file),
        items=items,
        bands=_parse_bands(t),
        **_parse_mcid(t),
        **reliability,
        **naming,
        item_source=numbering.source,
        subscale_names=tuple(scoring.subscales),
        component_names=tuple(c.name for c in scoring.components),
        derived_names=tuple(o for d in scoring.derivations for o in FORMULAS[d.formula].outputs),
        subgroup_labels=tuple(g.label for g in scoring.subgroups),
        scoring=scoring,
        origin=origin,
        path=path,
    )
    _check_consistency(t, instrument)
    return instrument


@dataclass(frozen=True)
class _Numbering:
    """How a definition's scoring key names items: by position on the form (1..count)
    or, with ``[items] source_numbers`` and ``[scoring] numbering = "source"``, by their
    number in the instrument they come from (CPAQ-20 numbers for the CPAQ-8)."""

    count: int
    source: str | None = None
    numbers: tuple[int, ...] | None = None  # source number of each position
    by_source: bool = False

    def position(self, number: object) -> int | None:
        if isinstance(number, bool) or not isinstance(number, int):
            return None
        if self.by_source and self.numbers is not None:
            return self.numbers.index(number) + 1 if number in self.numbers else None
        return number if 1 <= number <= self.count else None

    def allowed(self) -> str:
        if self.by_source and self.numbers is not None:
            return f"{self.source} item numbers ({', '.join(map(str, sorted(self.numbers)))})"
        return f"item numbers 1–{self.count}"


def _choice(t: _Table, key: str, allowed: tuple[str | None, ...], default: Any = ...) -> str | None:
    value: str | None = t.get(key, str, default)
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed if a is not None)
        raise t.error(key, f"must be one of {shown}{' or absent' if None in allowed else ''}, not {value!r}")
    return value


def _header(t: _Table, file: str) -> dict[str, Any]:
    inst_id = t.get("id", str)
    if inst_id != file.removesuffix(".toml"):
        raise t.error("id", f"must match the file name ({file.removesuffix('.toml')!r}), not {inst_id!r}")
    return {
        "id": inst_id,
        "name": t.get("name", str),
        "short_name": t.get("short_name", str),
        "discipline": _choice(t, "discipline", DISCIPLINES),
        "key_measure": t.get("key_measure", bool),
        "direction": _choice(t, "direction", (None, *DIRECTIONS), None),
        "total_min": t.get("total_min", float, None),
        "total_max": t.get("total_max", float, None),
        "unit": t.get("unit", str, None),
        "decimals": t.get("decimals", int, 0),
        "band_ties": _choice(t, "band_ties", ("lower", "upper"), "lower"),
        "loinc": t.get("loinc", str, None),
        "licence": t.get("licence", str),
        "interval_days": t.get("interval_days", int, None),
        "sources": tuple(_strings(t, "sources")),
        "notes": t.get("notes", str, ""),
        "recall": _text(t, "recall"),
        "unverified": tuple(_strings(t, "unverified")) if "unverified" in t.data else (),
    }


def _text(t: _Table, key: str) -> str | None:
    value: str | None = t.get(key, str, None)
    if value is not None and not value.strip():
        raise t.error(key, "must not be empty (leave the key out instead)")
    return None if value is None else " ".join(value.split())


def _parse_mcid(t: _Table) -> dict[str, Any]:
    mcid = t.table("mcid")
    if mcid is None:
        return {"mcid_abs": None, "mcid_pct": None}
    mcid.only("abs", "pct")
    return {"mcid_abs": mcid.get("abs", float, None), "mcid_pct": mcid.get("pct", float, None)}


def _strings(t: _Table, key: str) -> list[str]:
    values: list[str] = t.get(key, list, [])
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise t.error(key, "must be a non-empty list of texts")
    return values


def _parse_items(t: _Table) -> tuple[tuple[Item, ...], _Numbering, dict[str, Any]]:
    spec = t.required("items")
    spec.only(
        "count", "kind", "min", "max", "unit", "labels", "choices", "optional", "source", "source_numbers", "named",
        "name_label",
    )  # fmt: skip
    count = spec.get("count", int)
    if count < 1:
        raise spec.error("count", "must be at least 1")
    labels = spec.get("labels", list, [None] * count)
    if len(labels) != count:
        raise spec.error("labels", f"must have {count} entries, one per item")
    if not all(label is None or (isinstance(label, str) and label.strip()) for label in labels):
        raise spec.error("labels", "must be texts, one per item")
    numbering = _parse_source_numbers(spec, count)
    if numbering.numbers is not None:
        labels = [label or f"{numbering.source} item {n}" for label, n in zip(labels, numbering.numbers)]
    overrides: dict[int, _Table] = {}
    for row in t.tables("item"):
        row.only(
            "number", "kind", "min", "max", "unit", "label", "choices", "optional", "required_when", "score_if_missing",
            "mandatory",
        )  # fmt: skip
        number = row.get("number", int)
        if not 1 <= number <= count:
            raise row.error("number", f"must be 1–{count}")
        overrides[number] = row
    items = tuple(
        _parse_item(n, spec, overrides.get(n), labels[n - 1], numbering.numbers[n - 1] if numbering.numbers else None)
        for n in range(1, count + 1)
    )
    named = spec.get("named", bool, False)
    if named and any(i.kind not in ("int", "float") for i in items):
        raise spec.error("named", "patient-named items must be rated with numbers (kind int or float)")
    naming = {"named_items": named, "item_name_label": _text(spec, "name_label") or "Activity"}
    if "name_label" in spec.data and not named:
        raise spec.error("name_label", "only applies with named = true")
    return items, numbering, naming


def _parse_source_numbers(spec: _Table, count: int) -> _Numbering:
    if "source_numbers" not in spec.data and "source" not in spec.data:
        return _Numbering(count)
    source = _text(spec, "source")
    if source is None:
        raise spec.error("source", "is required with source_numbers: the instrument the numbers come from")
    numbers = spec.get("source_numbers", list)
    if (
        len(numbers) != count
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in numbers)
        or len(set(numbers)) != count
    ):
        raise spec.error("source_numbers", f"must list {count} different item numbers of {source}, one per item")
    return _Numbering(count, source, tuple(numbers))


def _pick(
    default: _Table, override: _Table | None, key: str, kinds: type | tuple[type, ...], fallback: Any = ...
) -> Any:
    if override is not None and key in override.data:
        return override.get(key, kinds)
    return default.get(key, kinds, fallback)


def _parse_item(
    number: int, spec: _Table, row: _Table | None, label: str | None, source_number: int | None = None
) -> Item:
    where = row or spec
    kind = _pick(spec, row, "kind", str, "int")
    if kind not in ITEM_KINDS:
        raise where.error("kind", f"must be one of {', '.join(ITEM_KINDS)}, not {kind!r}")
    low: float | None = None
    high: float | None = None
    if kind in ("int", "float"):
        low, high = _pick(spec, row, "min", float), _pick(spec, row, "max", float)
        assert low is not None and high is not None  # required keys: _pick raised if absent
        if low > high:
            raise where.error("min", f"({_fmt(low)}) must not exceed max ({_fmt(high)})")
    elif kind == "bool":
        low, high = 0.0, 1.0
    choices = _choices(where, _pick(spec, row, "choices", list, []))
    if row is not None and "label" in row.data:
        label = row.get("label", str)
    required_when = None
    if row is not None and "required_when" in row.data:
        required_when = _condition(row, "required_when", items=True)
    return Item(
        number=number,
        label=label,
        kind=kind,
        minimum=low,
        maximum=high,
        choices=choices,
        unit=_pick(spec, row, "unit", str, None) if kind in ("int", "float") else None,
        optional=_pick(spec, row, "optional", bool, False),
        required_when=required_when,
        score_if_missing=row.get("score_if_missing", float, None) if row is not None else None,
        source_number=source_number,
        mandatory=row.get("mandatory", bool, False) if row is not None else False,
    )


def _choices(t: _Table, raw: list[Any]) -> tuple[tuple[float, str], ...]:
    if not all(isinstance(c, list) and len(c) == 2 and _is_number(c[0]) and isinstance(c[1], str) for c in raw):
        raise t.error("choices", "must be a list of [code, label] pairs")
    return tuple((float(code), text) for code, text in raw)


def _condition(t: _Table, key: str, *, items: bool) -> Condition:
    raw = t.get(key, list)
    if len(raw) != 3 or raw[1] not in OPS or isinstance(raw[2], bool) or not isinstance(raw[2], (int, float)):
        raise t.error(key, f"must be [subject, operator, number] with an operator from {' '.join(OPS)}, not {raw!r}")
    subject = raw[0]
    if items and (isinstance(subject, bool) or not isinstance(subject, int)):
        raise t.error(key, f"must name an item number, not {subject!r}")
    if not isinstance(subject, (int, str)) or isinstance(subject, bool):
        raise t.error(key, f"subject must be an item number or a score name, not {subject!r}")
    return Condition(subject, raw[1], float(raw[2]))


def _steps(t: _Table) -> Steps:
    t.only("rule", "steps", "otherwise")
    rule = t.get("rule", str)
    if rule not in ("at_least", "above"):
        raise t.error("rule", "must be 'at_least' or 'above'")
    steps = []
    for n, pair in enumerate(t.get("steps", list)):
        if not (isinstance(pair, list) and len(pair) == 2 and all(_is_number(x) for x in pair)):
            raise t.error(f"steps[{n}]", "must be [threshold, score]")
        steps.append((float(pair[0]), float(pair[1])))
    return Steps(rule, tuple(steps), t.get("otherwise", float))


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _item_list(t: _Table, key: str, count: _Numbering) -> tuple[int, ...]:
    raw = t.get(key, list)
    positions = [count.position(n) for n in raw]
    if any(p is None for p in positions):
        raise t.error(key, f"must list {count.allowed()}, not {raw!r}")
    return tuple(p for p in positions if p is not None)


def _recode_table(t: _Table | None, count: _Numbering) -> dict[int, Steps]:
    if t is None:
        return {}
    out: dict[int, Steps] = {}
    for key in t.data:
        position = count.position(int(key)) if key.isdigit() else None
        if position is None:
            raise t.error(key, f"must be one of the {count.allowed()}")
        out[position] = _steps(t.required(key))
    return out


def _parse_scoring(t: _Table, items: tuple[Item, ...], numbering: _Numbering) -> Scoring:
    s = t.required("scoring")
    s.only(
        "method", "reverse", "recode", "max_missing", "subscales", "derived", "total", "components", "prorate",
        "numbering",
    )  # fmt: skip
    by = _choice(s, "numbering", ("position", "source"), "position")
    if by == "source" and numbering.numbers is None:
        raise s.error("numbering", "'source' needs [items] source and source_numbers")
    count = _Numbering(numbering.count, numbering.source, numbering.numbers, by_source=by == "source")
    method = s.get("method", str)
    if method not in METHODS:
        raise s.error("method", f"must be one of {', '.join(METHODS)}, not {method!r}")
    reverse = _item_list(s, "reverse", count) if "reverse" in s.data else ()
    for number in reverse:
        if items[number - 1].kind not in ("int", "float"):
            raise s.error("reverse", f"item {number} is not numeric and cannot be reversed")
    subscales: dict[str, tuple[int, ...]] = {}
    if (table := s.table("subscales")) is not None:
        subscales = {name: _item_list(table, name, count) for name in table.data}
    derivations = tuple(_derivation(d, count) for d in s.tables("derived"))
    return Scoring(
        method=method,
        reverse=reverse,
        recode=_recode_table(s.table("recode"), count),
        max_missing=s.get("max_missing", int, 0),
        subscales=subscales,
        components=tuple(_component_spec(c, count) for c in s.tables("components")),
        derivations=derivations,
        total_key=s.get("total", str, None),
        subgroups=tuple(_subgroup(g) for g in t.tables("subgroups")),
        flags=tuple(_flag_rule(f, count) for f in t.tables("flags")),
        prorate=s.get("prorate", bool, False),
    )


def _derivation(d: _Table, count: _Numbering) -> Derivation:
    d.only("formula", "inputs")
    name = d.get("formula", str)
    if name not in FORMULAS:
        raise d.error("formula", f"names no known formula ({', '.join(FORMULAS)}), not {name!r}")
    inputs = _item_list(d, "inputs", count)
    if len(inputs) != FORMULAS[name].inputs:
        raise d.error("inputs", f"must list {FORMULAS[name].inputs} items for formula {name!r}")
    return Derivation(name, inputs)


def _component_spec(c: _Table, count: _Numbering) -> Component:
    c.only("name", "items", "recode", "derived", "map")
    derived = c.get("derived", str, None)
    items = _item_list(c, "items", count) if "items" in c.data else ()
    if (derived is None) == (not items):
        raise c.error("items", "give either 'items' or 'derived' for a component")
    mapping = c.table("map")
    return Component(
        name=c.get("name", str),
        items=items,
        recode=_recode_table(c.table("recode"), count),
        derived=derived,
        mapping=_steps(mapping) if mapping else None,
    )


def _subgroup(g: _Table) -> Subgroup:
    g.only("label", "severity", "when")
    when = g.get("when", list)
    conditions = []
    for n, _ in enumerate(when):
        row = _Table(g.file, {"c": when[n]}, f"{g.where}when[{n}].")
        conditions.append(_condition(row, "c", items=False))
    return Subgroup(g.get("label", str), g.get("severity", int), tuple(conditions))


def _flag_rule(f: _Table, count: _Numbering) -> FlagRule:
    f.only("item", "when", "kind", "reason")
    position = count.position(f.get("item", int))
    if position is None:
        raise f.error("item", f"must be one of the {count.allowed()}")
    item = position
    when = _condition(_Table(f.file, {"when": [item, *f.get("when", list)]}, f.where), "when", items=True)
    kind = f.get("kind", str)
    if kind != "safety":
        raise f.error("kind", "must be 'safety'")
    return FlagRule(item, when, kind, f.get("reason", str))


def _parse_bands(t: _Table) -> tuple[Band, ...]:
    bands = []
    for b in t.tables("bands"):
        b.only("label", "low", "high", "severity")
        band = Band(b.get("label", str), b.get("low", float), b.get("high", float), b.get("severity", int))
        if band.low > band.high:
            raise b.error("low", f"({_fmt(band.low)}) must not exceed high ({_fmt(band.high)})")
        bands.append(band)
    labels = [b.label for b in bands]
    if len(set(labels)) != len(labels):
        raise t.error("bands", "must not repeat a label")
    if any(b.severity < 0 for b in bands):
        raise t.error("bands", "severity must be 0 (best) or more")
    ordered = sorted(bands, key=lambda b: b.low)
    for prev, band in zip(ordered, ordered[1:]):
        if band.low < prev.high:
            raise t.error("bands", f"'{prev.label}' and '{band.label}' overlap")
    return tuple(bands)


def _parse_reliability(t: _Table, *, named: bool) -> dict[str, Any]:
    """The reliable change threshold and SEM (of the total and, for patient-named items,
    of one item) from one published figure each:

    - ``sem``: a standard error of measurement;
    - ``sd`` with ``retest_r``: SEM = SD x sqrt(1 - r);
    - ``mdc95``: SEM = MDC95 / (1.96 x sqrt 2);
    - ``mdc90``: SEM = MDC90 / (1.645 x sqrt 2) (the MDC90 of Stratford 1996 and Davidson
      & Keating 2002 is 1.645 x SEM x sqrt 2);
    - ``min_change``: a published "N or more points" criterion (NHS Talking Therapies).

    Whatever the figure, the change is judged as Jacobson & Truax do: reliable when
    |x2 - x1| / (sqrt 2 x SEM) > 1.96, i.e. a change beyond 1.96 x sqrt 2 x SEM.
    ``item_sem`` / ``item_mdc95`` / ``item_mdc90`` give one item's figure (PSFS single
    activity)."""
    empty: dict[str, object] = {
        "reliable_change": None,
        "sem": None,
        "reliable_change_inclusive": False,
        "reliability_basis": None,
        "item_reliable_change": None,
        "item_sem": None,
        "item_reliability_basis": None,
    }
    r = t.table("reliability")
    if r is None:
        return empty
    r.only("sem", "sd", "retest_r", "mdc95", "mdc90", "min_change", "item_sem", "item_mdc95", "item_mdc90")
    given = [k for k in ("sem", "sd", "mdc95", "mdc90", "min_change") if k in r.data]
    if len(given) != 1:
        raise r.error("sem", "give exactly one of sem, sd (with retest_r), mdc95, mdc90 or min_change")
    if "retest_r" in r.data and "sd" not in r.data:
        raise r.error("retest_r", "only applies with sd")
    out: dict[str, object] = dict(empty)
    if "min_change" in r.data:
        change = r.get("min_change", float)
        if change <= 0:
            raise r.error("min_change", "must be positive")
        out.update(
            reliable_change=change, reliable_change_inclusive=True, reliability_basis=f"{_fmt(change)} points or more"
        )
    else:
        sem, basis = _sem_from(r, "")
        out.update(reliable_change=Z95 * math.sqrt(2) * sem, sem=sem, reliability_basis=basis)
    item_keys = [k for k in ("item_sem", "item_mdc95", "item_mdc90") if k in r.data]
    if item_keys and not named:
        raise r.error(item_keys[0], "only applies to patient-named items ([items] named = true)")
    if len(item_keys) > 1:
        raise r.error(item_keys[1], "give one of item_sem, item_mdc95 or item_mdc90")
    if item_keys:
        sem, basis = _sem_from(r, "item_")
        out.update(item_reliable_change=Z95 * math.sqrt(2) * sem, item_sem=sem, item_reliability_basis=basis)
    return out


def _sem_from(r: _Table, prefix: str) -> tuple[float, str]:
    """(SEM, the published figure in words) from ``<prefix>sem``/``mdc95``/``mdc90``/``sd``."""
    if f"{prefix}mdc95" in r.data:
        key, figure = f"{prefix}mdc95", r.get(f"{prefix}mdc95", float)
        sem, basis = figure / (Z95 * math.sqrt(2)), f"MDC95 {_fmt(figure)}"
    elif f"{prefix}mdc90" in r.data:
        key, figure = f"{prefix}mdc90", r.get(f"{prefix}mdc90", float)
        sem, basis = figure / (Z90 * math.sqrt(2)), f"MDC90 {_fmt(figure)}"
    elif f"{prefix}sd" in r.data:
        key, sd = f"{prefix}sd", r.get(f"{prefix}sd", float)
        retest = r.get("retest_r", float)
        if not 0 <= retest < 1:
            raise r.error("retest_r", "must be between 0 and 1")
        sem, basis = sd * math.sqrt(1 - retest), f"SD {_fmt(sd)}, test-retest r {_fmt(retest)}"
    else:
        key = f"{prefix}sem"
        sem = r.get(key, float)
        basis = f"SEM {_fmt(sem)}"
    if sem <= 0:
        raise r.error(key, "must be positive")
    return sem, basis


def _check_consistency(t: _Table, inst: Instrument) -> None:
    spec = _rules(inst)
    if spec.method == "value" and len(inst.items) != 1:
        raise t.error("scoring.method", "'value' needs exactly one item")
    if spec.method == "formula" and spec.total_key not in inst.derived_names:
        raise t.error("scoring.total", f"must name a derived value ({', '.join(inst.derived_names)})")
    if spec.method in ("sum", "mean", "percent_of_max") and any(i.kind == "time" for i in inst.items):
        raise t.error("scoring.method", f"'{spec.method}' cannot add up time-of-day items")
    if spec.method == "sum" and spec.max_missing and not spec.prorate:
        raise t.error(
            "scoring.max_missing",
            "a sum cannot allow missing items: prorate it (prorate = true) or use percent_of_max or mean",
        )
    if spec.prorate and (spec.method != "sum" or not spec.max_missing):
        raise t.error("scoring.prorate", "applies to a sum that allows missing items (method = 'sum' with max_missing)")
    if spec.prorate and spec.subscales:
        raise t.error("scoring.prorate", "cannot prorate an instrument with subscales (each would need its own rule)")
    if inst.named_items and spec.method not in ("mean", "sum", "value"):
        raise t.error("items.named", "patient-named items are scored by mean, sum or value")
    for c in spec.components:
        if c.derived is not None and c.derived not in inst.derived_names:
            raise t.error("scoring.components", f"component {c.name!r} uses unknown derived value {c.derived!r}")
    names = {"total", *spec.subscales}
    for g in spec.subgroups:
        for cond in g.when:
            if cond.subject not in names:
                raise t.error("subgroups", f"{g.label!r} tests {cond.subject!r}, which is not total or a subscale")
    if spec.subgroups and inst.bands:
        raise t.error("bands", "an instrument with subgroups is classified by them, not by bands")
