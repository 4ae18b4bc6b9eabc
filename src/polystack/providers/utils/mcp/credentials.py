"""Caller credentials for an MCP server: the bearer-token shorthand, a key that hashes them, and masking them.

Header values are credentials whatever the header is called, so they only ever appear hashed (the
session key) or masked (error text).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from polystack.core.secrets import MASK, MIN_LENGTH, scrub


def with_authorization(headers: Mapping[str, str] | None, authorization: str | None) -> dict[str, str]:
    """`headers` plus `Authorization: Bearer <authorization>` (OpenAI's `authorization` field of an mcp tool).

    A value that already names its scheme ("Bearer ...", "Basic ...") is sent as it is.
    """
    merged = dict(headers or {})
    if authorization:
        merged = {name: value for name, value in merged.items() if name.lower() != "authorization"}
        token = authorization.strip()
        merged["Authorization"] = token if " " in token else f"Bearer {token}"
    return merged


def session_key(endpoint: str, headers: Mapping[str, str]) -> str:
    """A digest naming one (endpoint, credentials) pair; header names are case-insensitive, order is ignored."""
    digest = hashlib.sha256(endpoint.encode())
    for name, value in sorted((name.lower(), value) for name, value in headers.items()):
        digest.update(b"\0" + name.encode() + b"\0" + value.encode())
    return digest.hexdigest()


def endpoint_host(endpoint: str) -> str:
    """The host (and port) of an endpoint, without user info, path or query: safe to show."""
    parts = urlsplit(endpoint)
    host = parts.hostname or "unknown host"
    return f"{host}:{parts.port}" if parts.port else host


def masked(text: str, headers: Mapping[str, str]) -> str:
    """`text` with every header value (and every secret the process knows) masked."""
    for value in headers.values():
        for part in {value, *value.split()}:
            if len(part) >= MIN_LENGTH and part.lower() not in ("bearer", "basic"):
                text = text.replace(part, MASK)
    return scrub(text)
