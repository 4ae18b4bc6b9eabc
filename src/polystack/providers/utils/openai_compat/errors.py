"""Turns upstream HTTP failures into Polystack errors that name the provider and leak no credentials."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from polystack.apis.errors import (
    InvalidRequestError,
    NotFoundError,
    PolystackError,
    ProviderError,
    ProviderTimeoutError,
    QuotaExceededError,
)


def upstream_message(content: bytes) -> str:
    """The `error.message` of an OpenAI-style error body, or a short excerpt of the body."""
    try:
        body: Any = orjson.loads(content)
    except ValueError:
        return content[:300].decode(errors="replace").strip() or "no details"
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error)[:1000]
        return str(error)[:1000]
    return str(body)[:300]


def status_error(provider_id: str, status: int, content: bytes) -> PolystackError:
    """The Polystack error for an upstream error status."""
    if status in (401, 403):
        # the upstream message may echo part of the key: do not pass it on
        return ProviderError(provider_id, f"authentication with the provider failed (HTTP {status}); check its API key")
    message = upstream_message(content)
    if status == 404:
        return NotFoundError(f"Provider '{provider_id}': {message}", param="model")
    if status == 429:
        return QuotaExceededError(f"Provider '{provider_id}' is rate limiting: {message}")
    if 400 <= status < 500:
        error = InvalidRequestError(f"Provider '{provider_id}' rejected the request: {message}")
        error.status_code = 400 if status in (400, 422) else status
        return error
    return ProviderError(provider_id, f"HTTP {status}: {message}")


def transport_error(provider_id: str, url: str, exc: httpx.HTTPError) -> PolystackError:
    from polystack.testing.errors import RecordingError

    if isinstance(exc, RecordingError):  # its message says which recording is missing and how to make it
        return ProviderError(provider_id, str(exc))
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeoutError(provider_id, f"timed out talking to {url}")
    if isinstance(exc, httpx.ConnectError | httpx.RemoteProtocolError | httpx.ReadError):
        return ProviderError(provider_id, f"cannot reach {url}: {type(exc).__name__}")
    return ProviderError(provider_id, f"{type(exc).__name__} talking to {url}")

