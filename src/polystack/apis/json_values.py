"""Checks that a JSON value can be stored and sent back: 64-bit integers, no lone surrogates, bounded nesting.

Python's json module accepts all three, but orjson (which writes every response) and most databases
refuse them, so a value holding one would be accepted, stored, and then fail every later read.
"""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 64  # orjson writes at most 254 levels; real requests need fewer than 20
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1


def json_problem(value: Any, *, max_depth: int = MAX_JSON_DEPTH, scalars: bool = True) -> tuple[str, str] | None:
    """The first problem as (key path, message), or None; iterative, so deep input cannot overflow the stack.

    `scalars=False` checks the nesting only, for values whose strings and integers are known good.
    """
    pending: list[tuple[Any, str, int]] = [(value, "", 1)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, dict | list) and depth > max_depth:
            return path, f"nested deeper than {max_depth} levels"
        if isinstance(item, dict):
            for key, child in item.items():
                if scalars or isinstance(child, dict | list):
                    child_path = f"{path}.{_shown(key)}" if path else _shown(key)
                    if scalars and _has_surrogate(key):
                        return child_path, "key holds a lone surrogate (not valid Unicode)"
                    pending.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            kinds = set(map(type, item))  # C-speed: long lists of numbers or strings skip the per-item loop
            if not kinds & {dict, list} and (not scalars or _scalars_fine(item, kinds)):
                continue
            pending.extend((child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item)
                           if scalars or isinstance(child, dict | list))
        elif isinstance(item, str):
            if _has_surrogate(item):
                return path, "string holds a lone surrogate (not valid Unicode)"
        elif isinstance(item, int) and not isinstance(item, bool) and not INT_MIN <= item <= INT_MAX:
            return path, "integer out of range (64 bits at most)"
    return None


def _scalars_fine(items: list[Any], kinds: set[type]) -> bool:
    """True when a list of plain numbers or ASCII strings holds nothing to refuse (else look item by item)."""
    if kinds <= {int, float, bool, type(None)}:
        ints = [item for item in items if type(item) is int] if kinds - {int} else items
        return not ints or (INT_MIN <= min(ints) and max(ints) <= INT_MAX)
    return kinds <= {str, type(None)} and all(item is None or item.isascii() for item in items)


def _has_surrogate(text: Any) -> bool:
    if not isinstance(text, str) or text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(key: Any) -> str:
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8")
