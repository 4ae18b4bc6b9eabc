"""The cache key of an inference request: a hash of what determines its answer, scoped to its caller."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

# Fields that change how an answer is delivered or kept, never what it says.
IGNORED = frozenset({"stream", "stream_options", "store", "metadata", "user", "cache", "model"})


def cache_key(kind: str, model: str, request: Any, scope: str | None) -> str:
    """`kind:model-hash:request-hash`; `scope` (a principal, or None when shared) is part of the hash."""
    body = request.model_dump(mode="json", exclude_none=True, exclude=set(IGNORED))
    extra = getattr(request, "__pydantic_extra__", None) or {}
    body.update({name: value for name, value in extra.items() if name not in IGNORED})
    digest = hashlib.sha256(orjson.dumps([kind, model, scope, body], option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{kind}:{digest}"
