"""Clauses for fetch_all: equality and JSON-key filters, a total order, and the keyset cursor condition."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from polystack.apis.errors import InvalidRequestError
from polystack.core.storage.sql import nul_escape

# (column, descending). NULL sorts as the smallest value on both dialects (ASC NULLS FIRST,
# DESC NULLS LAST), so the cursor condition below can treat it as one.
OrderKey = tuple[sa.Column[Any], bool]


def column(table: sa.Table, name: str) -> sa.Column[Any]:
    try:
        return table.c[name]
    except KeyError:
        raise InvalidRequestError(f"Table '{table.name}' has no column '{name}'.", param=name) from None


def equalities(table: sa.Table, where: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """column == value for each item; None matches NULL."""
    return [_equal(column(table, name), value) for name, value in where.items()]


def json_equalities(
    table: sa.Table, dialect: str, filters: Mapping[str, Mapping[str, Any]]
) -> list[ColumnElement[bool]]:
    """column[key] == value, compared as JSON values: "x" matches "x", 3 matches 3 (not "3")."""
    clauses = []
    for name, pairs in filters.items():
        col = column(table, name)
        if not isinstance(col.type, sa.JSON):
            raise InvalidRequestError(f"Column '{name}' of '{table.name}' is not a JSON column.", param=name)
        for key, value in pairs.items():
            clauses.append(_json_key_equals(col, dialect, key, value))
    return clauses


def _json_key_equals(col: sa.Column[Any], dialect: str, key: str, value: Any) -> ColumnElement[bool]:
    if dialect == "postgresql":  # keys and values escaped as the stored documents are (see nul_escape)
        element = col.op("->", return_type=JSONB)(sa.literal(nul_escape.escape_text(key), sa.Text()))
        return element == sa.cast(sa.literal(nul_escape.dumps(value), sa.Text()), JSONB)
    if "\x00" in key:  # SQLite's JSON functions end every key at a NUL
        raise InvalidRequestError(f"A JSON filter key may not contain U+0000 on SQLite: {key!r}.", param=key)
    if '"' in key or "\\" in key:  # no JSON path can name these keys on SQLite: look the key up
        return _sqlite_key_lookup(col, key, value)
    path = f'$."{key}"'
    if value is None:  # an explicit JSON null, as on PostgreSQL (a missing key is not null)
        return sa.func.json_type(col, path) == "null"
    if isinstance(value, str):  # json_extract cuts text at a NUL: compare the JSON text (json.dumps wrote both)
        return col.op("->", return_type=sa.Text())(path) == json.dumps(value)
    # json_extract yields SQL values (text, integer, real) or minified JSON for objects and arrays,
    # the same for the stored document and for the value given.
    return sa.func.json_extract(col, path) == sa.func.json_extract(sa.literal(json.dumps(value)), "$")


def _sqlite_key_lookup(col: sa.Column[Any], key: str, value: Any) -> ColumnElement[bool]:
    """The same test through json_each, whose keys are plain values (slower: used only for odd keys)."""
    each = sa.func.json_each(col).table_valued("key", "value", "type").alias()
    if value is None:
        matches = each.c.type == "null"
    else:
        matches = each.c.value == sa.func.json_extract(sa.literal(json.dumps(value)), "$")
    return sa.exists(sa.select(1).select_from(each).where(each.c.key == key, matches))


def order_keys(
    table: sa.Table, order_by: Sequence[tuple[str, str]], tiebreakers: Sequence[str]
) -> list[OrderKey]:
    """The requested order, completed with `tiebreakers` so that it is total and pages are stable."""
    keys: list[OrderKey] = []
    for name, direction in order_by:
        if direction not in ("asc", "desc"):
            raise InvalidRequestError(f"Order must be 'asc' or 'desc', not '{direction}'.", param="order")
        keys.append((column(table, name), direction == "desc"))
    descending = keys[-1][1] if keys else False
    named = {col.name for col, _ in keys}
    keys += [(column(table, name), descending) for name in tiebreakers if name not in named]
    return keys


def order_clauses(keys: Sequence[OrderKey]) -> list[ColumnElement[Any]]:
    return [col.desc().nulls_last() if desc else col.asc().nulls_first() for col, desc in keys]


def after(keys: Sequence[OrderKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after the row whose order-key values are `values`, in `keys` order."""
    clauses = []
    for i, (col, desc) in enumerate(keys):
        same_prefix = [_equal(c, v) for (c, _), v in zip(keys[:i], values[:i], strict=True)]
        beyond = _less(col, values[i]) if desc else _greater(col, values[i])
        clauses.append(sa.and_(*same_prefix, beyond))
    return sa.or_(*clauses)


def _equal(col: sa.Column[Any], value: Any) -> ColumnElement[bool]:
    return col.is_(None) if value is None else col == value


def _greater(col: sa.Column[Any], value: Any) -> ColumnElement[bool]:
    return col.is_not(None) if value is None else col > value


def _less(col: sa.Column[Any], value: Any) -> ColumnElement[bool]:
    return sa.false() if value is None else sa.or_(col < value, col.is_(None))
