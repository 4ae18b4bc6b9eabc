"""CPU each pure-ASGI middleware adds per request, in-process around a trivial app (no network, no server).

Run: .venv/bin/python bench/middleware_overhead.py
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Callable
from typing import Any

from polystack.core.config import LimitsConfig
from polystack.core.logging import setup_logging
from polystack.core.server.access_log import AccessLogMiddleware
from polystack.core.server.body_limits import BodyLimitMiddleware
from polystack.core.server.disconnect import DisconnectMiddleware
from polystack.core.server.errors import UnhandledErrorMiddleware
from polystack.core.server.json_guard import JSONGuardMiddleware
from polystack.core.server.middleware import RequestContextMiddleware
from polystack.core.server.shutdown import ShutdownGuard

BODY = b'{"model": "upstream/instant-model", "messages": [{"role": "user", "content": "hi"}]}'


def scope_for(path: str) -> dict[str, Any]:
    """A JSON POST of BODY to `path`, as uvicorn hands it to the app."""
    return {"type": "http", "method": "POST", "path": path, "query_string": b"", "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]}


SCOPE = scope_for("/v1/chat/completions")
LAYERS: dict[str, Callable[[Any], Any]] = {
    "json_guard": lambda app: JSONGuardMiddleware(app, max_depth=64),
    "context": lambda app: RequestContextMiddleware(app, auth=None),
    "disconnect": DisconnectMiddleware,
    "body_limit": lambda app: BodyLimitMiddleware(app, limits=LimitsConfig(), upload_bytes=None),
    "unhandled": UnhandledErrorMiddleware,
    "access_log": AccessLogMiddleware,
    "shutdown": ShutdownGuard,
}


async def app(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def send(message: dict[str, Any]) -> None:
    pass


async def cpu_per_request(stack: Any, requests: int = 20000, scope: dict[str, Any] = SCOPE) -> float:
    """Microseconds of this process's CPU per request through `stack`, after 500 to warm up."""
    for _ in range(500):
        await stack(dict(scope), receive, send)
    started = time.process_time()
    for _ in range(requests):
        await stack(dict(scope), receive, send)
    return (time.process_time() - started) / requests * 1e6


async def main() -> None:
    setup_logging()
    sys.stderr = io.StringIO()  # the access log writes here; keep the terminal for the results
    base = await cpu_per_request(app)
    lines = [f"bare app      {base:6.1f} us"]
    for name, wrap in LAYERS.items():
        lines.append(f"{name:13s} +{await cpu_per_request(wrap(app)) - base:5.1f} us")
    stacked: Any = app
    for wrap in LAYERS.values():
        stacked = wrap(stacked)
    lines.append(f"all stacked   +{await cpu_per_request(stacked) - base:5.1f} us")
    await asyncio.sleep(0)  # the access log's lines of this loop turn are written at its end: still to the StringIO
    sys.stderr = sys.__stderr__
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
