"""CPU cost of DisconnectMiddleware per request, in-process (the wrk benchmarks are too noisy to show it).

Drives a trivial ASGI app with and without the middleware, 100,000 requests each, twice, and prints
microseconds of CPU per request. Run: .venv/bin/python bench/disconnect_overhead.py
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import uvloop

from polystack.core.server.disconnect import DisconnectMiddleware

REQUESTS = 100_000


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"x"})


async def one_request(handler: Any) -> None:
    """One request as a server drives it: the body, then `http.disconnect` once the response is done."""
    done = asyncio.Event()
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        return None

    await handler({"type": "http"}, receive, send)
    done.set()


async def main() -> None:
    wrapped = DisconnectMiddleware(app)
    for name, handler in (("bare app", app), ("with middleware", wrapped)) * 2:
        started = time.process_time()
        for _ in range(REQUESTS):
            await one_request(handler)
        print(f"{name:16} {(time.process_time() - started) / REQUESTS * 1e6:6.2f} us CPU/request")


if __name__ == "__main__":
    uvloop.run(main())
