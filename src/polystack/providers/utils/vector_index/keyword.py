"""Turns a user's search text into an FTS5 query: its words, each quoted, any of them (BM25 ranks the rest)."""

from __future__ import annotations

import re

MAX_TERMS = 64
_WORD = re.compile(r"\w+")


def fts_match(text: str) -> str | None:
    """`"w1" OR "w2" ...`, or None when the text has no word. Quoting keeps FTS5 syntax (AND, *, -, :) inert."""
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:MAX_TERMS]
    return " OR ".join(f'"{word}"' for word in words) or None
