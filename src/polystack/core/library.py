"""The in-process client: the same Stack and ASGI app as the server, reached without a socket.

    async with polystack.connect("starter") as stack:
        reply = await stack.openai.chat.completions.create(model=..., messages=[...])
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from polystack.core.asgi_transport import StreamingASGITransport
from polystack.core.asgi_websocket import ASGIWebSocket, connect_websocket
from polystack.core.config import RunConfig, load_run_config, resolve_config_path
from polystack.core.server.app import create_app
from polystack.core.stack import Stack

if TYPE_CHECKING:
    from openai import AsyncOpenAI

BASE_URL = "http://polystack.local"


class LibraryStack:
    """A started Stack with an httpx client and an `openai.AsyncOpenAI` client bound to its app."""

    def __init__(self, config: RunConfig, *, provider_data: Mapping[str, Any] | None = None,
                 api_key: str | None = None) -> None:
        self.stack = Stack(config)
        self.app = create_app(self.stack, manage_lifecycle=False)
        headers = {"X-LlamaStack-Provider-Data": orjson.dumps(dict(provider_data)).decode()} if provider_data else {}
        if api_key is not None:  # with server.auth, the caller is whoever this key names, as over HTTP
            headers["Authorization"] = f"Bearer {api_key}"
        self._api_key = api_key
        self.http = httpx.AsyncClient(transport=StreamingASGITransport(self.app), base_url=BASE_URL,
                                      headers=headers, timeout=None)
        self._headers = headers
        self._openai: AsyncOpenAI | None = None

    def websocket(self, path: str, *, headers: Mapping[str, str] | None = None,
                  subprotocols: list[str] | None = None) -> AbstractAsyncContextManager[ASGIWebSocket]:
        """A WebSocket to this stack's app, in-process: `async with stack.websocket("/v1/...") as ws:`.

        Same shape as the `websockets` client over the network (send, recv, close, `async for`).
        """
        return connect_websocket(self.app, path, headers={**self._headers, **(headers or {})},
                                 subprotocols=subprotocols)

    @property
    def openai(self) -> AsyncOpenAI:
        """An `openai.AsyncOpenAI` client speaking to this stack in-process (streaming included)."""
        if self._openai is None:
            from openai import AsyncOpenAI

            self._openai = AsyncOpenAI(base_url=f"{BASE_URL}/v1", api_key=self._api_key or "in-process",
                                       http_client=self.http)  # type: ignore[arg-type]  # openai takes an httpx client; its types name httpx2's
        return self._openai

    async def start(self) -> LibraryStack:
        await self.stack.start()
        return self

    async def close(self) -> None:
        await self.http.aclose()
        await self.stack.stop()

    async def __aenter__(self) -> LibraryStack:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


def connect(config: str | RunConfig, *, env: Mapping[str, str] | None = None,
            provider_data: Mapping[str, Any] | None = None, api_key: str | None = None) -> LibraryStack:
    """A LibraryStack for a distribution name, a YAML path or a RunConfig; use it with `async with`.

    `api_key` authenticates the caller when the config has `server.auth`."""
    if not isinstance(config, RunConfig):
        import os

        merged = {**os.environ, **(env or {})}
        config = load_run_config(resolve_config_path(config), env=merged)
    return LibraryStack(config, provider_data=provider_data, api_key=api_key)
