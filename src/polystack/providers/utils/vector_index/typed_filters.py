"""OpenAI attribute filters restated as typed conditions, for engines whose comparisons never mix types.

The reference (`apis/vector_io/filters.py`) follows Python: equality is Python's `==`, so True == 1
== 1.0 and "1" != 1; `gt`/`gte`/`lt`/`lte` compare numbers with numbers, strings with strings and
booleans with booleans, and a missing key fails everything but `ne`/`nin`. Vector engines compare
within one type (Qdrant, Chroma) or need the type stated (Milvus), so `plan()` spells the reference
out in conditions that each hold one kind of value:

- `Equals(key, value)`: the attribute holds a value of `value`'s kind (string, number or boolean;
  int and float are one kind) equal to it; `negated`: it is missing, of another kind, or different.
- `Range(key, op, value)`: it holds a number (never a boolean) or a string, as `value` does, and
  compares with `op`. Booleans are never ordered: a bool range becomes Equals on True/False.
- `AllOf` / `AnyOf`, and the constants True (everything) and False (nothing), folded away inside.

Negation only ever wraps equality (`ne`, `nin`), so engines never need a general NOT.
An engine that cannot state a condition (e.g. Chroma and Qdrant order only numbers) raises
`Untranslatable`, and the index then evaluates the filter itself with the reference.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from typing import Any, Literal

from polystack.apis.vector_io.index import AttributeValue, ComparisonFilter, CompoundFilter, Filter

RangeOp = Literal["gt", "gte", "lt", "lte"]
_ORDER = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


class Untranslatable(Exception):
    """An engine cannot express this condition natively."""


@dataclass(frozen=True)
class Equals:
    key: str
    value: str | int | float | bool
    negated: bool = False


@dataclass(frozen=True)
class Range:
    key: str
    op: RangeOp
    value: str | int | float


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


Condition = Equals | Range | AllOf | AnyOf
Plan = Condition | bool


def kind(value: object) -> Literal["boolean", "number", "string", "other"]:
    """The type an engine compares within: bool is not a number here, unlike in Python."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "other"


def plan(condition: Filter | None) -> Plan:
    """The filter as typed conditions; True when it passes everything, False when nothing."""
    if condition is None:
        return True
    if isinstance(condition, CompoundFilter):
        parts = [plan(inner) for inner in condition.filters]
        return all_of(parts) if condition.type == "and" else any_of(parts)
    return _comparison(condition)


def evaluate(condition: Plan, attributes: dict[str, Any]) -> bool:
    """The plan evaluated as an engine would: comparisons within one kind of value, missing keys fail."""
    if isinstance(condition, bool):
        return condition
    if isinstance(condition, AllOf):
        return all(evaluate(part, attributes) for part in condition.parts)
    if isinstance(condition, AnyOf):
        return any(evaluate(part, attributes) for part in condition.parts)
    present = condition.key in attributes and kind(attributes[condition.key]) == kind(condition.value)
    if isinstance(condition, Equals):
        return (present and attributes[condition.key] == condition.value) != condition.negated
    return present and bool(_ORDER[condition.op](attributes[condition.key], condition.value))


def all_of(parts: list[Plan]) -> Plan:
    if any(part is False for part in parts):
        return False
    kept = tuple(part for part in parts if not isinstance(part, bool))
    return True if not kept else kept[0] if len(kept) == 1 else AllOf(kept)


def any_of(parts: list[Plan]) -> Plan:
    if any(part is True for part in parts):
        return True
    kept = tuple(part for part in parts if not isinstance(part, bool))
    return False if not kept else kept[0] if len(kept) == 1 else AnyOf(kept)


def _comparison(condition: ComparisonFilter) -> Plan:
    key, target = condition.key, condition.value
    if condition.type in ("eq", "ne", "in", "nin"):
        values = target if condition.type in ("in", "nin") and isinstance(target, list) else [target]
        found = any_of([_equal_to(key, value) for value in values])
        return found if condition.type in ("eq", "in") else _negated(found)
    if isinstance(target, list):  # a scalar attribute never orders against a list
        return False
    if isinstance(target, bool):  # False < True, and only booleans compare with booleans
        passing = [value for value in (False, True) if _holds(condition.type, value, target)]
        return any_of([Equals(key, value) for value in passing])
    return Range(key, condition.type, target)  # type: ignore[arg-type]


def _equal_to(key: str, target: AttributeValue | list[AttributeValue]) -> Plan:
    """Python's `attribute == target` as typed equalities: True == 1 == 1.0 and False == 0."""
    if isinstance(target, list):
        return False
    if isinstance(target, bool):
        return any_of([Equals(key, target), Equals(key, int(target))])
    if isinstance(target, int | float) and target in (0, 1):
        return any_of([Equals(key, target), Equals(key, bool(target))])
    return Equals(key, target)


def _negated(found: Plan) -> Plan:
    if isinstance(found, bool):
        return not found
    if isinstance(found, Equals):
        return replace(found, negated=not found.negated)
    if isinstance(found, AnyOf):
        return all_of([_negated(part) for part in found.parts])
    if isinstance(found, AllOf):
        return any_of([_negated(part) for part in found.parts])
    raise AssertionError(f"only equalities are negated, not {found!r}")


def _holds(op: str, left: bool, right: bool) -> bool:
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
