"""The content of a compaction item: the summary of the compacted conversation, in an opaque token.

OpenAI's `encrypted_content` is opaque to clients; here it is `pcmp1.` + base64url(JSON {"summary": ...}),
readable only by this server's code (it is not a secret: it holds the caller's own conversation). A token
that is not one of ours (OpenAI's own, encrypted, in items copied from there) cannot be read: the item is
left out of the context, as items of unknown types are.
"""

from __future__ import annotations

import base64
import binascii

import orjson

PREFIX = "pcmp1."


def encode_summary(summary: str) -> str:
    return PREFIX + base64.urlsafe_b64encode(orjson.dumps({"summary": summary})).decode().rstrip("=")


def decode_summary(token: str) -> str | None:
    """The summary a compaction item holds; None for a token this server did not make (e.g. OpenAI's)."""
    if not token.startswith(PREFIX):
        return None
    body = token[len(PREFIX):]
    try:
        data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("summary"), str):
        summary: str = data["summary"]
        return summary
    return None
