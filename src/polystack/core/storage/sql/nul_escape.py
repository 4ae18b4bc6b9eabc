"""Reversible, order-preserving escaping of U+0000, which PostgreSQL refuses in text and in jsonb.

U+0000 becomes U+0001 U+0001 and U+0001 itself becomes U+0001 U+0002. Every string round-trips
exactly, equal strings stay equal (equality filters keep working) and the order of escaped strings
is the order of the originals (range scans and cursors keep working). JSON is escaped in its
serialized text, where these characters are always written as `\\u0000` and `\\u0001`.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

_ESCAPED_TEXT = re.compile("\x01([\x01\x02])")
# Scanned left to right: an escaped backslash is consumed whole, so `\\u0000` (a backslash, then
# the text "u0000") is never mistaken for the escape of U+0000.
_JSON_TO_ESCAPE = re.compile(r"\\\\|\\u000[01]")
_JSON_TO_UNESCAPE = re.compile(r"\\\\|\\u0001\\u000[12]")
_JSON_ESCAPES = {"\\u0000": "\\u0001\\u0001", "\\u0001": "\\u0001\\u0002"}
_JSON_UNESCAPES = {"\\u0001\\u0001": "\\u0000", "\\u0001\\u0002": "\\u0001"}


def escape_text(text: str) -> str:
    if "\x00" not in text and "\x01" not in text:
        return text
    return text.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")


def unescape_text(text: str) -> str:
    if "\x01" not in text:
        return text
    return _ESCAPED_TEXT.sub(lambda m: "\x00" if m.group(1) == "\x01" else "\x01", text)


def escape_json(text: str) -> str:
    """Escape serialized JSON (as orjson or PostgreSQL write it: lowercase `\\u00xx` escapes)."""
    if "\\u000" not in text:
        return text
    return _JSON_TO_ESCAPE.sub(lambda m: _JSON_ESCAPES.get(m.group(0), m.group(0)), text)


def unescape_json(text: str) -> str:
    if "\\u0001" not in text:
        return text
    return _JSON_TO_UNESCAPE.sub(lambda m: _JSON_UNESCAPES.get(m.group(0), m.group(0)), text)


def dumps(value: Any) -> str:
    """JSON text PostgreSQL's jsonb accepts, for any value (see module docstring)."""
    return escape_json(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode())


def loads(text: str) -> Any:
    return orjson.loads(unescape_json(text))
