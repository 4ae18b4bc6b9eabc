"""Sending one request to a provider's server and reading its JSON, with errors that name the provider."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from httpx._client import BoundAsyncStream
from httpx._exceptions import request_context
from pydantic import BaseModel, SecretStr

from polystack.apis.errors import AuthenticationError, PolystackError, ProviderError
from polystack.core.request_context import provider_data
from polystack.providers.utils.openai_compat.errors import passed_on_headers, status_error, transport_error

StatusError = Callable[[str, int, bytes], PolystackError]
_httpx_logger = logging.getLogger("httpx")


async def send(client: httpx.AsyncClient, request: httpx.Request, *, provider_id: str, base_url: str,
               stream: bool = False, on_status: StatusError = status_error) -> httpx.Response:
    """The response, or the Polystack error for a failed connection or an error status.

    An error status's Retry-After and rate-limit headers ride on the error to our caller's response.

    An error status is raised here, before any streaming starts, so the caller answers with a plain
    4xx/5xx instead of a broken stream.
    """
    try:
        response = await exchange(client, request, stream=stream)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            error = on_status(provider_id, response.status_code, response.content)
            error.headers = passed_on_headers(response.headers)
            raise error
    except httpx.HTTPError as exc:
        raise transport_error(provider_id, base_url, exc) from None
    return response


async def exchange(client: httpx.AsyncClient, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
    """`client.send(request)` without the layers a provider's client never uses, straight to its transport.

    httpx's send runs an auth flow, a redirect loop and event hooks around each request (~5% of a proxied
    request's CPU in bench/ profiles). A provider's client has no auth object, no hooks and follows no
    redirects, so the request goes to the same transport (the seam: record/replay, tracing, the pool
    limit) as send would pick; a client that has any of them, or is closed, gets client.send itself.
    """
    hooks = client.event_hooks
    if client.auth is not None or client.follow_redirects or hooks["request"] or hooks["response"] or client.is_closed:
        return await client.send(request, stream=stream)
    if "timeout" not in request.extensions:
        request.extensions["timeout"] = client.timeout.as_dict()
    transport = client._transport_for_url(request.url)
    started = time.perf_counter()
    with request_context(request=request):
        response = await transport.handle_async_request(request)
    response.request = request
    response.stream = BoundAsyncStream(response.stream, response=response, start=started)  # type: ignore[arg-type]
    client.cookies.extract_cookies(response)
    response.default_encoding = client._default_encoding
    if _httpx_logger.isEnabledFor(logging.INFO):
        _httpx_logger.info('HTTP Request: %s %s "%s %d %s"', request.method, request.url, response.http_version,
                           response.status_code, response.reason_phrase)
    if not stream:
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
    return response


def json_body(response: httpx.Response, provider_id: str) -> Any:
    try:
        return orjson.loads(response.content)
    except ValueError:
        raise ProviderError(provider_id, "answered with a body that is not JSON") from None


def caller_or_configured_key(configured: SecretStr | None, validator: type[BaseModel], field: str) -> str | None:
    """The key the caller sent in its provider data (`field`), else the configured one, else None."""
    data = provider_data(validator)
    sent = getattr(data, field, None) if data is not None else None
    if sent is not None:
        return sent.get_secret_value() if isinstance(sent, SecretStr) else str(sent)
    return configured.get_secret_value() if configured is not None and configured.get_secret_value() else None


def missing_key_error(provider_id: str, field: str) -> AuthenticationError:
    return AuthenticationError(
        f"Provider '{provider_id}' has no API key: set 'api_key' in its config or send "
        f'{{"{field}": "..."}} in the X-LlamaStack-Provider-Data header')
