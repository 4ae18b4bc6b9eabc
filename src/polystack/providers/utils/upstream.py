"""Sending one request to a provider's server and reading its JSON, with errors that name the provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson

from polystack.apis.errors import PolystackError, ProviderError
from polystack.providers.utils.openai_compat.errors import status_error, transport_error

StatusError = Callable[[str, int, bytes], PolystackError]


async def send(client: httpx.AsyncClient, request: httpx.Request, *, provider_id: str, base_url: str,
               stream: bool = False, on_status: StatusError = status_error) -> httpx.Response:
    """The response, or the Polystack error for a failed connection or an error status.

    An error status is raised here, before any streaming starts, so the caller answers with a plain
    4xx/5xx instead of a broken stream.
    """
    try:
        response = await client.send(request, stream=stream)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise on_status(provider_id, response.status_code, response.content)
    except httpx.HTTPError as exc:
        raise transport_error(provider_id, base_url, exc) from None
    return response


def json_body(response: httpx.Response, provider_id: str) -> Any:
    try:
        return orjson.loads(response.content)
    except ValueError:
        raise ProviderError(provider_id, "answered with a body that is not JSON") from None
