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
    ServiceUnavailableError,
)
from polystack.core.secrets import scrub


def upstream_message(content: bytes) -> str:
    """The `error.message` of an OpenAI-style error body, or a short excerpt of the body.

    Servers sometimes put their own stack trace in the message: it is cut off, never passed on; and
    they may echo the request's key: every known secret is masked.
    """
    return scrub(_message(content))


def _message(content: bytes) -> str:
    try:
        body: Any = orjson.loads(content)
    except ValueError:
        return _without_trace(content[:300].decode(errors="replace"))
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or ""
        return _without_trace(str(error)[:1000])
    return _without_trace(str(body)[:300])


def _without_trace(message: str) -> str:
    kept = []
    for line in message.strip().splitlines():
        if line.lstrip().startswith(("Traceback", 'File "')):
            break
        kept.append(line)
    return "\n".join(kept).strip() or "no details"


# What a caller needs to back off as the upstream asks: Retry-After and the rate-limit headers of OpenAI
# (x-ratelimit-*), the IETF draft (ratelimit-*) and Anthropic (anthropic-ratelimit-*).
_PASSED_ON_PREFIXES = ("x-ratelimit-", "ratelimit-", "anthropic-ratelimit-")
_PASSED_ON = frozenset({"retry-after", "retry-after-ms"})


def passed_on_headers(headers: httpx.Headers) -> dict[str, str] | None:
    """The upstream response headers an error passes on to our caller; None when there are none."""
    kept = {name: value for name, value in headers.items()
            if name in _PASSED_ON or name.startswith(_PASSED_ON_PREFIXES)}
    return kept or None


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
    if status == 503:  # overloaded or down for maintenance: the caller may retry (after Retry-After)
        return ProviderError(provider_id, f"HTTP {status}: {message}", status_code=503)
    return ProviderError(provider_id, f"HTTP {status}: {message}")


def transport_error(provider_id: str, url: str, exc: httpx.HTTPError) -> PolystackError:
    from polystack.testing.errors import RecordingError

    url = scrub(url)  # a base URL may carry a password

    if isinstance(exc, RecordingError):  # its message says which recording is missing and how to make it
        return ProviderError(provider_id, scrub(str(exc)))
    if isinstance(exc, httpx.PoolTimeout):
        return ServiceUnavailableError(f"Provider '{provider_id}' is busy: {exc}; retry later")
    if isinstance(exc, httpx.TimeoutException) and not _refused(exc):
        return ProviderTimeoutError(provider_id, f"timed out talking to {url}")
    if isinstance(exc, httpx.ConnectError) or _refused(exc):
        return ProviderError(provider_id, f"cannot reach {url}: the connection failed")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return ProviderError(provider_id, f"the connection to {url} broke: {type(exc).__name__}")
    return ProviderError(provider_id, f"{type(exc).__name__} talking to {url}")



def _refused(exc: httpx.HTTPError) -> bool:
    """httpx-aiohttp reports a refused or dropped connection as ConnectTimeout; the cause tells the truth."""
    try:
        import aiohttp
    except ImportError:
        return False
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, aiohttp.ServerTimeoutError)
