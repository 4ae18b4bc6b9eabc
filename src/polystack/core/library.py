"""The in-process client: the same Stack and ASGI app as the server, reached without a socket.

    async with polystack.connect("starter") as stack:
        reply = await stack.openai.chat.completions.create(model=..., messages=[...])

With `server.auth` in the config, the caller is who `api_key` authenticates as (exactly as over HTTP), or,
in-process only, `as_user=User(principal=..., attributes={...})`: no credential, the principal given.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from polystack.apis.datatypes import User
from polystack.core.access.policy import SYSTEM_PRINCIPAL
from polystack.core.asgi_transport import StreamingASGITransport
from polystack.core.asgi_websocket import ASGIWebSocket, connect_websocket
from polystack.core.config import RunConfig, load_run_config, resolve_config_path
from polystack.core.server.app import close_app, create_app
from polystack.core.server.middleware import IN_PROCESS_USER
from polystack.core.stack import Stack

if TYPE_CHECKING:
    from openai import AsyncOpenAI

BASE_URL = "http://polystack.local"


class _AsUser:
    """Marks every request as `user`'s in its ASGI scope, which only in-process code can write."""

    def __init__(self, app: ASGIApp, user: User) -> None:
        self.app = app
        self.user = user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, IN_PROCESS_USER: self.user}, receive, send)


class LibraryStack:
    """A started Stack with an httpx client and an `openai.AsyncOpenAI` client (the `client` extra) bound to its app."""

    def __init__(self, config: RunConfig, *, provider_data: Mapping[str, Any] | None = None,
                 api_key: str | None = None, as_user: User | None = None) -> None:
        if as_user is not None and api_key is not None:
            raise ValueError("give api_key or as_user, not both")
        if as_user is not None and as_user.principal == SYSTEM_PRINCIPAL:
            raise ValueError(f"'{SYSTEM_PRINCIPAL}' is the server's own principal; use as_system() in-process")
        self.stack = Stack(config)
        self.app = create_app(self.stack, manage_lifecycle=False)
        self._client_app: ASGIApp = _AsUser(self.app, as_user) if as_user is not None else self.app
        headers = {"X-LlamaStack-Provider-Data": orjson.dumps(dict(provider_data)).decode()} if provider_data else {}
        if api_key is not None:  # with server.auth, the caller is whoever this key names, as over HTTP
            headers["Authorization"] = f"Bearer {api_key}"
        self._api_key = api_key
        self.http = httpx.AsyncClient(transport=StreamingASGITransport(self._client_app), base_url=BASE_URL,
                                      headers=headers, timeout=None)
        self._headers = headers
        self._openai: AsyncOpenAI | None = None

    def websocket(self, path: str, *, headers: Mapping[str, str] | None = None,
                  subprotocols: list[str] | None = None) -> AbstractAsyncContextManager[ASGIWebSocket]:
        """A WebSocket to this stack's app, in-process: `async with stack.websocket("/v1/...") as ws:`.

        Same shape as the `websockets` client over the network (send, recv, close, `async for`).
        """
        return connect_websocket(self._client_app, path, headers={**self._headers, **(headers or {})},
                                 subprotocols=subprotocols)

    @property
    def openai(self) -> AsyncOpenAI:
        """An `openai.AsyncOpenAI` client speaking to this stack in-process (streaming included)."""
        if self._openai is None:
            try:
                from openai import AsyncOpenAI
            except ImportError:  # the SDK is the `client` extra: the server and `self.http` run without it
                raise ImportError(
                    "stack.openai needs the openai SDK, which is not installed. Run: pip install 'polystack[client]' "
                    "(or use stack.http, which needs nothing more)"
                ) from None

            self._openai = AsyncOpenAI(base_url=f"{BASE_URL}/v1", api_key=self._api_key or "in-process",
                                       http_client=self.http)  # type: ignore[arg-type]  # openai takes an httpx client; its types name httpx2's
        return self._openai

    async def start(self) -> LibraryStack:
        await self.stack.start()
        self.stack.after_ready()
        return self

    async def close(self) -> None:
        await self.http.aclose()
        await close_app(self.app)
        await self.stack.stop()

    async def __aenter__(self) -> LibraryStack:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


def connect(config: str | RunConfig, *, env: Mapping[str, str] | None = None,
            provider_data: Mapping[str, Any] | None = None, api_key: str | None = None,
            as_user: User | None = None) -> LibraryStack:
    """A LibraryStack for a distribution name, a YAML path or a RunConfig; use it with `async with`.

    With `server.auth`, `api_key` authenticates the caller as over HTTP; `as_user` (in-process only: no
    HTTP request can claim it) runs every call as that principal without a credential."""
    if not isinstance(config, RunConfig):
        import os

        merged = {**os.environ, **(env or {})}
        config = load_run_config(resolve_config_path(config), env=merged)
    return LibraryStack(config, provider_data=provider_data, api_key=api_key, as_user=as_user)
