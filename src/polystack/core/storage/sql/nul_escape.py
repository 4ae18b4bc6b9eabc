"""Reversible escaping of U+0000, which PostgreSQL refuses in text and in jsonb, as private-use text.

U+0000 becomes U+E000 "0" and U+E000 itself becomes U+E000 U+E000, so every string round-trips
exactly and equal strings stay equal once escaped (equality filters keep working). JSON is escaped
in its serialized text: in JSON, U+0000 is always written as the escape `\\u0000`, and private-use
characters can only occur inside strings.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

ESCAPE = "\ue000"
_NUL_JSON = "\\u0000"
_ESCAPED = re.compile(f"{ESCAPE}([{ESCAPE}0])")
# Scanned left to right: an escaped backslash is consumed whole, so `\\u0000` (a backslash, then
# the text "u0000") is never mistaken for the escape of U+0000.
_JSON_SPECIALS = re.compile(r"\\\\|\\u0000|" + ESCAPE)


def escape_text(text: str) -> str:
    if "\x00" not in text and ESCAPE not in text:
        return text
    return text.replace(ESCAPE, ESCAPE + ESCAPE).replace("\x00", ESCAPE + "0")


def unescape_text(text: str) -> str:
    if ESCAPE not in text:
        return text
    return _ESCAPED.sub(lambda m: "\x00" if m.group(1) == "0" else ESCAPE, text)


def _escape_json_special(match: re.Match[str]) -> str:
    found = match.group(0)
    if found == ESCAPE:
        return ESCAPE + ESCAPE
    return ESCAPE + "0" if found == _NUL_JSON else found


def escape_json(text: str) -> str:
    """Escape serialized JSON whose non-ASCII characters are written as themselves (as orjson writes it)."""
    if _NUL_JSON not in text and ESCAPE not in text:
        return text
    return _JSON_SPECIALS.sub(_escape_json_special, text)


def unescape_json(text: str) -> str:
    if ESCAPE not in text:
        return text
    return _ESCAPED.sub(lambda m: _NUL_JSON if m.group(1) == "0" else ESCAPE, text)


def dumps(value: Any) -> str:
    """JSON text PostgreSQL's jsonb accepts, for any value (see module docstring)."""
    return escape_json(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode())


def loads(text: str) -> Any:
    return orjson.loads(unescape_json(text))
