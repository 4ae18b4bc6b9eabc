"""Key ordering: the bytewise (UTF-8) order every backend sorts by, and prefix -> range conversion."""

from __future__ import annotations

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def prefix_end(prefix: str) -> str | None:
    """The smallest key greater than every key that starts with `prefix`; None when there is none.

    UTF-8 byte order is code point order, so `[prefix, prefix_end(prefix))` holds exactly the keys
    with that prefix in every backend. Surrogates cannot be stored, so the successor skips them.
    """
    stem = prefix.rstrip(chr(_MAX_CODE_POINT))
    if not stem:
        return None
    successor = ord(stem[-1]) + 1
    if successor in _SURROGATES:
        successor = _SURROGATES.stop
    return stem[:-1] + chr(successor)


def is_empty_range(start: str, end: str | None) -> bool:
    """[start, end) holds no key (end None means unbounded)."""
    return end is not None and start >= end
