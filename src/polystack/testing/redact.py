"""What counts as a secret in a request, and scrubbing secrets out of what is written to disk."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx

REDACTED = "<redacted>"

# Names are compared lower-cased with "-" and "_" removed, so "x-goog-api-key" == "xgoogapikey".
_SECRET_FIELDS = frozenset({
    "apikey", "xapikey", "xgoogapikey", "authorization", "accesstoken", "refreshtoken", "idtoken",
    "sessiontoken", "bearertoken", "clientsecret", "password", "privatekey",
})
# Query strings are a common place for keys (Gemini's `?key=`), so broader names are secret there;
# in JSON bodies "key" and "token" are ordinary fields (filters, logprobs) and stay.
_SECRET_QUERY_PARAMS = _SECRET_FIELDS | {"key", "token", "auth", "secret", "sig", "signature", "code"}
_SECRET_HEADER_PARTS = ("auth", "key", "token", "secret", "cookie", "signature", "session")
# Short values are not real credentials and replacing them could corrupt unrelated text.
_MIN_SCRUB_LENGTH = 8


def _squash(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def is_secret_field(name: str) -> bool:
    return _squash(name) in _SECRET_FIELDS


def is_secret_query_param(name: str) -> bool:
    return _squash(name) in _SECRET_QUERY_PARAMS


def is_secret_header(name: str) -> bool:
    squashed = _squash(name)
    return any(part in squashed for part in _SECRET_HEADER_PARTS)


def redact_json(value: Any, found: set[str]) -> Any:
    """A copy of `value` with secret fields replaced by REDACTED; the removed values go into `found`."""
    if isinstance(value, dict):
        result: dict[Any, Any] = {}
        for name, item in value.items():
            if is_secret_field(str(name)) and item not in (None, ""):
                if isinstance(item, str):
                    found.add(item)
                result[name] = REDACTED
            else:
                result[name] = redact_json(item, found)
        return result
    if isinstance(value, list):
        return [redact_json(item, found) for item in value]
    return value


def header_secrets(headers: httpx.Headers) -> set[str]:
    """Values of credential-like headers, with and without their scheme ("Bearer sk-..." and "sk-...")."""
    found: set[str] = set()
    for name, value in headers.items():
        if is_secret_header(name) and value:
            found.add(value)
            found.add(value.split(" ", 1)[-1].strip())
    return found


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """`text` (a JSON document) with each secret, as written inside a JSON string, replaced."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SCRUB_LENGTH:
            text = text.replace(json.dumps(secret, ensure_ascii=False)[1:-1], REDACTED)
    return text

