"""Evaluates OpenAI attribute filters in Python: the reference semantics every provider must match."""

from __future__ import annotations

from typing import Any

from polystack.apis.vector_io.index import ComparisonFilter, CompoundFilter, Filter


def matches(attributes: dict[str, Any], condition: Filter | None) -> bool:
    """Whether attributes pass the filter. A missing key fails every comparison except `ne` and `nin`."""
    if condition is None:
        return True
    if isinstance(condition, CompoundFilter):
        results = (matches(attributes, inner) for inner in condition.filters)
        return all(results) if condition.type == "and" else any(results)
    return _compare(attributes, condition)


def _compare(attributes: dict[str, Any], condition: ComparisonFilter) -> bool:
    present = condition.key in attributes
    value = attributes.get(condition.key)
    target = condition.value
    if condition.type in ("in", "nin"):
        values = target if isinstance(target, list) else [target]
        found = present and value in values
        return found if condition.type == "in" else not found
    if condition.type == "eq":
        return present and value == target
    if condition.type == "ne":
        return not present or value != target
    if not present or isinstance(value, bool) != isinstance(target, bool):
        return False
    try:
        if condition.type == "gt":
            return bool(value > target)  # type: ignore[operator]
        if condition.type == "gte":
            return bool(value >= target)  # type: ignore[operator]
        if condition.type == "lt":
            return bool(value < target)  # type: ignore[operator]
        return bool(value <= target)  # type: ignore[operator]
    except TypeError:
        return False
