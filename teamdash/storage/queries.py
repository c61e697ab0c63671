"""Typed views of Peewee query results.

Peewee's stubs type every select as yielding model instances, whatever it was turned
into: the rows of ``.tuples()`` and ``.dicts()`` would be models to the type checker.
``tuples`` and ``dicts`` say what they are, in one place, so the code that reads them
is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeAlias, cast

import peewee as pw

# A select over any model (the stubs' ModelSelect is invariant in its model; a string, as
# ModelSelect is not generic at run time).
Query: TypeAlias = "pw.ModelSelect[Any]"
# One row of ``tuples``: the selected columns in order.
Row: TypeAlias = tuple[Any, ...]


def tuples(query: pw.BaseQuery) -> Iterator[Row]:
    """The rows of ``query`` as plain tuples, in its column order (runs the query)."""
    return cast(Iterator[Row], iter(query.tuples()))


def dicts(query: pw.BaseQuery) -> Iterator[dict[str, Any]]:
    """The rows of ``query`` as dicts by column name (runs the query)."""
    return cast(Iterator[dict[str, Any]], iter(query.dicts()))


def delete_where(model: type[pw.Model], *conditions: Any) -> int:
    """DELETE the rows of ``model`` that meet every condition (every row without one);
    how many went. (Called on a concrete model class, the stubs' ``delete`` is ambiguous.)"""
    query = model.delete()
    if conditions:
        query = query.where(*conditions)
    return int(query.execute())
