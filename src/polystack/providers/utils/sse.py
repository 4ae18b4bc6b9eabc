"""Reading server-sent event streams from providers: one JSON object per event.

Parsed from the raw bytes in one generator: httpx's aiter_lines stacks four generators and a text
decoder on every network read, which a proxy relaying many small chunks pays for on each of them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from typing import Any

import httpx
import orjson

from polystack.apis.errors import ProviderError
from polystack.providers.utils.openai_compat.errors import transport_error


class SSEDecoder:
    """Turns pieces of an event stream into the data of each event (multi-line data joined with newlines).

    Lines end with \\r\\n, \\n or \\r, as the SSE specification allows; fields other than `data` are ignored.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, piece: bytes) -> Iterator[bytes]:
        buffer = self._buffer + piece
        if b"\r" in buffer:
            held = buffer.endswith(b"\r")  # its \n may come in the next piece
            buffer = buffer[:-1] if held else buffer
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if held else b"")
        *lines, self._buffer = buffer.split(b"\n")
        for line in lines:
            yield from self._line(line)

    def close(self) -> Iterator[bytes]:
        """What a stream that ends without a final blank line still holds."""
        rest, self._buffer = self._buffer.rstrip(b"\r"), b""
        if rest:
            yield from self._line(rest)
        if self._data:
            yield b"\n".join(self._data)
            self._data = []

    def _line(self, line: bytes) -> Iterator[bytes]:
        if line.startswith(b"data:"):
            self._data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        elif not line and self._data:
            yield b"\n".join(self._data)
            self._data = []


async def json_events(
    response: httpx.Response, provider_id: str, base_url: str
) -> AsyncGenerator[dict[str, Any], None]:
    """Each event's JSON object until the stream ends or sends OpenAI's `[DONE]`; closes the response."""
    async with aclosing(raw_events(response, provider_id, base_url)) as events:
        async for data in events:
            yield event_object(data, provider_id)


async def raw_events(response: httpx.Response, provider_id: str, base_url: str) -> AsyncGenerator[bytes, None]:
    """Each event's data as bytes, for a caller that validates them itself (`Model.model_validate_json`)."""
    decoder = SSEDecoder()
    try:
        async for piece in response.aiter_bytes():
            for data in decoder.feed(piece):
                if data == b"[DONE]":
                    return
                yield data
        for data in decoder.close():
            if data == b"[DONE]":
                return
            yield data
    except httpx.HTTPError as exc:
        raise transport_error(provider_id, base_url, exc) from None
    finally:
        await response.aclose()


def event_object(data: bytes, provider_id: str) -> dict[str, Any]:
    """An event's JSON object, or the provider's error naming what is wrong with it."""
    try:
        event = orjson.loads(data)
    except ValueError:
        raise ProviderError(provider_id, "sent a stream event that is not JSON") from None
    if not isinstance(event, dict):
        raise ProviderError(provider_id, "sent a stream event that is not a JSON object")
    return event  # type: ignore[no-any-return]
