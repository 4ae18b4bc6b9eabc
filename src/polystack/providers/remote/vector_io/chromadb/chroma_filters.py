"""Typed filter conditions as Chroma `where` clauses, over the metadata keys `a:<name>` holding attributes.

Chroma compares within a type as `typed_filters` needs: `$eq` on a number matches ints and floats but
never a bool, `$ne` passes records where the key is missing or holds another type, and `$gt`...`$lte`
accept only numbers. It does not order strings: a string Range is Untranslatable.
"""

from __future__ import annotations

from typing import Any

from polystack.providers.utils.vector_index.typed_filters import AllOf, AnyOf, Condition, Equals, Untranslatable

ATTRIBUTE_PREFIX = "a:"


def chroma_where(condition: Condition) -> dict[str, Any]:
    if isinstance(condition, AllOf):
        return {"$and": [chroma_where(part) for part in condition.parts]}
    if isinstance(condition, AnyOf):
        return {"$or": [chroma_where(part) for part in condition.parts]}
    key = ATTRIBUTE_PREFIX + condition.key
    if isinstance(condition, Equals):
        return {key: {"$ne" if condition.negated else "$eq": condition.value}}
    if isinstance(condition.value, str):
        raise Untranslatable("Chroma compares only numbers by order")
    return {key: {f"${condition.op}": condition.value}}
