"""Real MCP servers on loopback for tests: a small tool server (streamable HTTP at /mcp, SSE at /sse) and
PyPI's mcp-server-time (streamable HTTP at /mcp), each served by uvicorn in a background thread on a free port.

mcp-server-time is a stdio server; its `MCPServer` object (from `mcp_server_time.server.create_server`) is
served directly by the SDK's streamable HTTP session manager instead of bridging stdio (mcp-proxy pins mcp<2).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self

import anyio
import uvicorn
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

TOOL_NAMES = ("echo", "add", "fail", "sleep", "whoami")
PRIVATE_TOKEN = "letmein-private-token"  # what /private/mcp requires as a bearer token


@dataclass
class ToolServerStats:
    """What the tool server saw, counted on the server side (read from the test's thread)."""

    initializations: int = 0  # one per MCP session opened
    calls: int = 0
    listings: int = 0  # tools/list requests
    authorizations: list[str | None] = field(default_factory=list)  # the Authorization header of each whoami call
    session_ids: set[str] = field(default_factory=set)  # streamable HTTP session ids seen by tool calls
    sleeping: int = 0  # sleep calls in progress now
    most_sleeping: int = 0  # the most sleep calls ever in progress together: proves calls overlapped


def tool_server(stats: ToolServerStats) -> MCPServer[Any]:
    """The test tool server: echo, add, fail (a tool error), sleep, whoami (the caller's Authorization)."""
    server: MCPServer[Any] = MCPServer("polystack-test-tools", version="1.0", log_level="WARNING")

    async def count(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "initialize":
            stats.initializations += 1
        elif ctx.method == "tools/call":
            stats.calls += 1
        elif ctx.method == "tools/list":
            stats.listings += 1
        return await call_next(ctx)

    server.middleware.append(count)

    @server.tool(description="Returns the text it is given.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Adds two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Always fails with the given message.")
    def fail(message: str) -> str:
        raise ToolError(message)

    @server.tool(description="Sleeps for the given number of seconds, then says so.")
    async def sleep(seconds: float) -> str:
        stats.sleeping += 1
        stats.most_sleeping = max(stats.most_sleeping, stats.sleeping)
        try:
            await anyio.sleep(seconds)
        finally:
            stats.sleeping -= 1
        return f"slept {seconds}"

    @server.tool(description="The Authorization header the call arrived with, or 'anonymous'.")
    def whoami(ctx: Context) -> str:
        headers = ctx.headers or {}
        authorization = headers.get("authorization")
        stats.authorizations.append(authorization)
        session_id = headers.get("mcp-session-id")
        if session_id:
            stats.session_ids.add(session_id)
        return authorization or "anonymous"

    return server


def both_transports_app(server: MCPServer[Any]) -> Starlette:
    """One app serving `server` over streamable HTTP (/mcp) and SSE (/sse, /messages/), and over SSE only at
    /legacy (a URL that does not say SSE: the streamable HTTP POST there gets a 405)."""
    http_app = server.streamable_http_app()
    sse_app = server.sse_app()
    legacy_app = server.sse_app(sse_path="/legacy", message_path="/legacy-messages/")
    return Starlette(routes=[*http_app.routes, *sse_app.routes, *legacy_app.routes],
                     lifespan=http_app.router.lifespan_context)


class PrivatePrefix:
    """/private/... is the app's /... for a caller with `Authorization: Bearer PRIVATE_TOKEN`, else a 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/private/"):
            if dict(scope["headers"]).get(b"authorization") != f"Bearer {PRIVATE_TOKEN}".encode():
                await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
                return
            scope = {**scope, "path": scope["path"].removeprefix("/private")}
        await self.app(scope, receive, send)


class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1 (a free port) in a daemon thread with its own event loop."""

    def __init__(self, app: Any, name: str, port: int = 0) -> None:
        self.name = name
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                     lifespan="on", timeout_graceful_shutdown=1))
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the MCP server {self.name} did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(15)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ToolServer(LoopbackServer):
    """The test tool server on loopback, with its stats."""

    def __init__(self, port: int = 0) -> None:
        self.stats = ToolServerStats()
        super().__init__(PrivatePrefix(both_transports_app(tool_server(self.stats))), "mcp-test-tools", port)

    @property
    def http_url(self) -> str:
        return f"{self.base_url}/mcp"

    @property
    def sse_url(self) -> str:
        return f"{self.base_url}/sse"

    @property
    def legacy_url(self) -> str:
        return f"{self.base_url}/legacy"

    @property
    def private_url(self) -> str:
        """Streamable HTTP that answers 401 unless the caller sends PRIVATE_TOKEN."""
        return f"{self.base_url}/private/mcp"


class TimeServer(LoopbackServer):
    """mcp-server-time (PyPI) over streamable HTTP at /mcp, its local timezone UTC."""

    def __init__(self, local_timezone: str = "UTC") -> None:
        from mcp_server_time.server import create_server

        super().__init__(create_server(local_timezone).streamable_http_app(), "mcp-server-time")

    @property
    def http_url(self) -> str:
        return f"{self.base_url}/mcp"
