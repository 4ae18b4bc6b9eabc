"""OpenAI attribute filters as a SQL condition on a JSONB column, with exactly the semantics of filters.matches().

Python's rules, restated in SQL: a missing key fails every comparison except `ne` and `nin`;
equality follows Python's `==`, where True == 1 == 1.0 and False == 0 but "1" != 1; `gt`/`gte`/
`lt`/`lte` compare only numbers with numbers, strings with strings (by code point, hence COLLATE
"C" on UTF-8) and booleans with booleans, and are false otherwise. Values and keys are always
parameters, never spliced into the SQL.
"""

from __future__ import annotations

import json
import math
from typing import Any

from polystack.apis.vector_io.index import ComparisonFilter, CompoundFilter, Filter

_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class SqlParams:
    """The positional parameters of one statement: `add` returns the placeholder of a new value."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def filter_sql(condition: Filter | None, params: SqlParams, column: str = "attributes") -> str:
    """A boolean SQL expression (never NULL) true for the rows whose `column` passes `condition`."""
    if condition is None:
        return "TRUE"
    if isinstance(condition, CompoundFilter):
        if not condition.filters:
            return "TRUE" if condition.type == "and" else "FALSE"
        joiner = " AND " if condition.type == "and" else " OR "
        return "(" + joiner.join(filter_sql(inner, params, column) for inner in condition.filters) + ")"
    return _comparison(condition, params, column)


def _comparison(condition: ComparisonFilter, params: SqlParams, column: str) -> str:
    target = condition.value
    if condition.type in ("eq", "ne", "in", "nin"):
        targets = target if condition.type in ("in", "nin") and isinstance(target, list) else [target]
        equal_to = sorted({text for item in targets for text in _equal_json(item)})
        value = f"({column} -> {params.add(condition.key)}::text)"
        found = f"coalesce({value} = ANY({params.add(equal_to)}::text[]::jsonb[]), FALSE)"
        return found if condition.type in ("eq", "in") else f"NOT {found}"
    return _ordered(condition.key, _OPERATORS[condition.type], target, params, column)


def _equal_json(target: Any) -> list[str]:
    """The JSON texts of every attribute value that Python's `==` finds equal to `target`."""
    if isinstance(target, bool):
        return ["true", "1"] if target else ["false", "0"]
    if isinstance(target, int | float):
        if not math.isfinite(target):
            return []  # NaN equals nothing; stored attributes are finite (JSONB has no infinity)
        return [json.dumps(target)] + ["true"] * (target == 1) + ["false"] * (target == 0)
    if isinstance(target, str):
        return [json.dumps(target)]
    return []  # a list never equals a scalar attribute


def _ordered(key: str, operator: str, target: Any, params: SqlParams, column: str) -> str:
    if _never_true(operator, target):
        return "FALSE"
    value = f"({column} -> {params.add(key)}::text)"
    if isinstance(target, bool):
        return f"coalesce(jsonb_typeof({value}) = 'boolean' AND {value} {operator} " \
               f"{params.add(json.dumps(target))}::jsonb, FALSE)"
    if isinstance(target, str):
        text = value.replace(" -> ", " ->> ")
        return f"coalesce(jsonb_typeof({value}) = 'string' AND {text} COLLATE \"C\" {operator} " \
               f"{params.add(target)}::text COLLATE \"C\", FALSE)"
    if math.isinf(target):  # below +inf (or above -inf): every stored number
        return f"coalesce(jsonb_typeof({value}) = 'number', FALSE)"
    return f"coalesce(jsonb_typeof({value}) = 'number' AND {value} {operator} " \
           f"{params.add(json.dumps(target))}::jsonb, FALSE)"


def _never_true(operator: str, target: Any) -> bool:
    """Python raises TypeError with a list (matches() reads it as false), NaN compares false, and no
    stored number (JSONB has no infinity) is above +inf or below -inf."""
    if isinstance(target, list):
        return True
    if isinstance(target, float) and not math.isfinite(target):
        return math.isnan(target) or (target > 0) != (operator in ("<", "<="))
    return False
