"""Typed filter conditions as Milvus boolean expressions over three JSON fields, one per attribute type.

Milvus Lite compares JSON values as Python does (so 1 == True), hence attributes are stored split by
type, `attr_s` (strings), `attr_n` (numbers) and `attr_b` (booleans), and each condition reads the
field of its value's type. A missing key makes a comparison NULL, which `not` keeps NULL, so a
negated equality states the missing case itself: `(not exists f["k"] or f["k"] != v)`.
"""

from __future__ import annotations

import math

from polystack.providers.utils.vector_index.typed_filters import AllOf, AnyOf, Condition, Equals, Untranslatable, kind

FIELDS = {"string": "attr_s", "number": "attr_n", "boolean": "attr_b"}
_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def milvus_expression(condition: Condition) -> str:
    if isinstance(condition, AllOf | AnyOf):
        joiner = " and " if isinstance(condition, AllOf) else " or "
        return "(" + joiner.join(milvus_expression(part) for part in condition.parts) + ")"
    field = f"{FIELDS[kind(condition.value)]}[{quoted(condition.key)}]"
    value = literal(condition.value)
    if isinstance(condition, Equals):
        return f"(not exists {field} or {field} != {value})" if condition.negated else f"{field} == {value}"
    return f"{field} {_OPERATORS[condition.op]} {value}"


def literal(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise Untranslatable("Milvus expressions have no literal for NaN or infinity")
    return repr(value)


def quoted(text: str) -> str:
    """A Milvus string literal. Its parser knows no \\u escapes, so most control characters cannot be written."""
    if any(ord(char) < 0x20 and char not in _ESCAPES for char in text):
        raise Untranslatable("Milvus string literals cannot hold control characters")
    return '"' + "".join(_ESCAPES.get(char, char) for char in text) + '"'
