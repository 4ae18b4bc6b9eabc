"""The cheapest proxy Python can be: raw ASGI on uvicorn, aiohttp to the upstream, bytes passed through.

A yardstick, not a product: no validation, routing, errors or storage. It shows what any single-worker
Python proxy costs on this machine, so Polystack's throughput can be read against it as well as against
calling the upstream directly. Run: python bench/bare_proxy.py --port 9200 --upstream http://127.0.0.1:9100
"""

from __future__ import annotations

import argparse

import aiohttp
import uvicorn
from instant_upstream import read_body

UPSTREAM = ""
_session: aiohttp.ClientSession | None = None


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    global _session
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    if _session is None:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))
    async with _session.post(UPSTREAM + scope["path"], data=body,
                             headers={"content-type": "application/json"}) as upstream:
        await send({"type": "http.response.start", "status": upstream.status,
                    "headers": [(b"content-type", upstream.headers.get("content-type", "").encode())]})
        async for piece in upstream.content.iter_any():
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:9100")
    args = parser.parse_args()
    UPSTREAM = args.upstream
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False)
