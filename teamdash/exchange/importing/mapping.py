"""Columns to fields: matched by header name ("Patient ID", "Clinic ID" and "MRN" all
mean the patient; "Item 3" and "Q3" the third item), or as the user chose them. The
wizard shows the mapping for confirmation; unmapped columns are ignored and listed."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from teamdash import words
from teamdash.exchange.importing import kinds
from teamdash.exchange.importing.context import Plan
from teamdash.exchange.importing.fields import FieldSpec, normalise
from teamdash.exchange.importing.reading import Table
from teamdash.exchange.importing.report import MalformedFile

ITEM_RE = re.compile(r"^(?:item|q|question|response|answer)\s*(\d{1,2})$")
# The patient's name for an item (a PSFS activity): "Item 1 name" (as exported), "Activity 1".
NAME_RE = re.compile(r"^(?:(?:item|q|question)\s*(\d{1,2})\s*name|activity\s*(\d{1,2})(?:\s*name)?)$")
# The kinds a table is told by its headers when its sheet's name says nothing, most
# specific first.
DETECT_ORDER = ("measurements", "sessions", "patients", "staff")


def field_label(kind: str, name: str) -> str:
    if name.startswith("item_"):
        return f"Item {name[5:]}"
    if name.startswith("name_"):
        return f"Item {name[5:]} name"
    return next(f.label for f in kinds.FIELDS[kind] if f.name == name)


def fields_for(kind: str) -> list[tuple[str, str, bool]]:
    """(field, label, required) of a kind, items included: what the mapping page lists."""
    out = [(f.name, f.label, f.required) for f in kinds.FIELDS[kind]]
    out += [(f"item_{n}", f"Item {n}", False) for n in range(1, kinds.get(kind).item_count() + 1)]
    out += [(f"name_{n}", f"Item {n} name", False) for n in range(1, kinds.get(kind).name_count() + 1)]
    return out


def auto_map(kind: str, headers: Sequence[str]) -> dict[str, int]:
    """Field -> column index, matched by header name (each column used once)."""
    normal = [normalise(h) for h in headers]
    used: set[int] = set()
    out: dict[str, int] = {}
    for spec in kinds.FIELDS[kind]:
        for alias in spec.aliases:
            hit = next((i for i, n in enumerate(normal) if n == alias and i not in used), None)
            if hit is not None:
                out[spec.name] = hit
                used.add(hit)
                break
    if kinds.get(kind).items is not None:
        named = kinds.get(kind).name_count()
        for i, n in enumerate(normal):
            m = ITEM_RE.match(n)
            if m and i not in used and f"item_{int(m.group(1))}" not in out:
                out[f"item_{int(m.group(1))}"] = i
                used.add(i)
                continue
            m = NAME_RE.match(n) if named else None
            if m and i not in used:
                number = int(m.group(1) or m.group(2))
                if 1 <= number <= named and f"name_{number}" not in out:
                    out[f"name_{number}"] = i
                    used.add(i)
    return out


def detect_kind(headers: Sequence[str], sheet_name: str | None = None) -> str | None:
    """What a table holds: by its sheet name, else by which kind's required columns it has."""
    if sheet_name and normalise(sheet_name) in kinds.SHEET_NAMES:
        return kinds.SHEET_NAMES[normalise(sheet_name)]
    for kind in DETECT_ORDER:
        mapped = auto_map(kind, headers)
        if all(f.name in mapped for f in kinds.FIELDS[kind] if f.required):
            return kind
    return None


def make_plan(table: Table, kind: str, mapping: Mapping[str, str | int | None] | None = None) -> Plan:
    """Check a mapping (given by header name or column index; auto-matched when None)."""
    headers = table.headers
    if mapping is None:
        resolved = auto_map(kind, headers)
    else:
        resolved = {}
        for name, target in mapping.items():
            if target is None or target == "":
                continue
            if isinstance(target, int):
                if not 0 <= target < len(headers):
                    raise MalformedFile(f"column {target + 1} does not exist", sheet=table.name)
                resolved[name] = target
            else:
                matches = [i for i, h in enumerate(headers) if h == target]
                if not matches:
                    raise MalformedFile(f"there is no column headed {target!r}", sheet=table.name)
                resolved[name] = matches[0]
    known = {n for n, _label, _req in fields_for(kind)}
    unknown = set(resolved) - known
    if unknown:
        raise MalformedFile(f"{', '.join(sorted(unknown))} is not {words.a(kind)} field", sheet=table.name)
    missing = [f for f in kinds.FIELDS[kind] if f.required and f.name not in resolved]
    if missing:
        names = "; ".join(
            f"{f.label} (a header such as {', '.join(repr(a) for a in _shown_aliases(f))})" for f in missing
        )
        raise MalformedFile(f"has no column for {names}", sheet=table.name)
    if (
        kinds.get(kind).items is not None
        and not any(n.startswith("item_") for n in resolved)
        and "total" not in resolved
    ):
        raise MalformedFile(
            "has no item columns (Item 1, Item 2, …) and no Total column: no scores to import", sheet=table.name
        )
    normal = [normalise(h) for h in headers]
    for i in resolved.values():
        twins = [j for j, n in enumerate(normal) if n == normal[i] and j != i and n]
        if twins and mapping is None:
            letters = ", ".join(table.columns[j] for j in [i, *twins])
            raise MalformedFile(
                f"several columns are headed {headers[i]!r} ({letters}); rename all but one", sheet=table.name
            )
    used = set(resolved.values())
    derived = {normalise(h) for h in kinds.get(kind).derived}
    ignored = [h for i, h in enumerate(headers) if i not in used and h and normalise(h) not in derived]
    return Plan(table.name, kind, list(headers), resolved, ignored)


def _shown_aliases(spec: FieldSpec) -> list[str]:
    return [spec.label, *(a.capitalize() for a in spec.aliases[1:3])]
