"""Reading server-sent event streams from providers: one JSON object per event."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx
import orjson

from polystack.apis.errors import ProviderError
from polystack.providers.utils.openai_compat.errors import transport_error


async def sse_data(response: httpx.Response) -> AsyncIterator[str]:
    """The data of each event as text, multi-line data joined with newlines (comments skipped)."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif not line and data:
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)


async def json_events(
    response: httpx.Response, provider_id: str, base_url: str
) -> AsyncGenerator[dict[str, Any], None]:
    """Each event's JSON object until the stream ends or sends OpenAI's `[DONE]`; closes the response."""
    try:
        async for text in sse_data(response):
            if text == "[DONE]":
                break
            try:
                event = orjson.loads(text)
            except ValueError:
                raise ProviderError(provider_id, "sent a stream event that is not JSON") from None
            if not isinstance(event, dict):
                raise ProviderError(provider_id, "sent a stream event that is not a JSON object")
            yield event
    except httpx.HTTPError as exc:
        raise transport_error(provider_id, base_url, exc) from None
    finally:
        await response.aclose()
