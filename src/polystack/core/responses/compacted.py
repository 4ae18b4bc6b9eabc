"""The content of a compaction item: the summary of the compacted conversation, in an opaque token.

OpenAI's `encrypted_content` is opaque to clients; here it is `pcmp1.` + base64url(JSON {"summary": ...}),
readable only by this server's code (it is not a secret: it holds the caller's own conversation). A token
that is not one of ours is a 400 naming the input.
"""

from __future__ import annotations

import base64
import binascii

import orjson

from polystack.apis.errors import InvalidRequestError

PREFIX = "pcmp1."


def encode_summary(summary: str) -> str:
    return PREFIX + base64.urlsafe_b64encode(orjson.dumps({"summary": summary})).decode().rstrip("=")


def decode_summary(token: str) -> str:
    """The summary a compaction item holds; InvalidRequestError for a token this server did not make."""
    if token.startswith(PREFIX):
        body = token[len(PREFIX):]
        try:
            data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("summary"), str):
            summary: str = data["summary"]
            return summary
    raise InvalidRequestError("A compaction item's encrypted_content was not made by this server's "
                              "/v1/responses/compact", param="input")
