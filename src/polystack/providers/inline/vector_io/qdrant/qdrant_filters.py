"""Typed filter conditions as Qdrant filters, over the payload keys `attr:<name>` that hold chunk attributes.

Qdrant's matches are typed as `typed_filters` needs: MatchValue on a string or a bool matches only that
type, and Range matches only numbers (int or float, never bool), so a number equality is a closed
range. Qdrant does not order strings: a string Range is Untranslatable.
"""

from __future__ import annotations

from qdrant_client import models

from polystack.providers.utils.vector_index.typed_filters import AllOf, AnyOf, Condition, Equals, Range, Untranslatable

ATTRIBUTE_PREFIX = "attr:"
Clause = models.FieldCondition | models.Filter | models.HasIdCondition


def qdrant_filter(condition: Condition) -> models.Filter:
    clause = _clause(condition)
    return clause if isinstance(clause, models.Filter) else models.Filter(must=[clause])


def _clause(condition: Condition) -> Clause:
    if isinstance(condition, AllOf):
        return models.Filter(must=[_clause(part) for part in condition.parts])
    if isinstance(condition, AnyOf):
        return models.Filter(should=[_clause(part) for part in condition.parts])
    if isinstance(condition, Equals):
        field = _equals(condition)
        return models.Filter(must_not=[field]) if condition.negated else field
    return _range(condition)


def _equals(condition: Equals) -> models.FieldCondition:
    key, value = attribute_path(condition.key), condition.value
    if isinstance(value, str | bool):
        return models.FieldCondition(key=key, match=models.MatchValue(value=value))
    return models.FieldCondition(key=key, range=models.Range(gte=value, lte=value))


def _range(condition: Range) -> models.FieldCondition:
    if isinstance(condition.value, str):
        raise Untranslatable("Qdrant compares only numbers by order")
    return models.FieldCondition(key=attribute_path(condition.key),
                                 range=models.Range(**{condition.op: condition.value}))


def attribute_path(name: str) -> str:
    """The quoted payload path of an attribute, so that dots and brackets in its name stay literal."""
    if '"' in name:
        raise Untranslatable("a Qdrant key path cannot quote a name holding a double quote")
    return f'"{ATTRIBUTE_PREFIX}{name}"'
