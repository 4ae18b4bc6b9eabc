"""The one place providers get an httpx client: the transport is the seam for record/replay.

The default transport is aiohttp's (through httpx-aiohttp): httpx's own pool costs ~1 ms a request
and collapses under concurrency on small machines, which a proxy cannot afford (see bench/).
"""

from __future__ import annotations

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=60.0)


def make_http_client(
    *, base_url: str = "", headers: dict[str, str] | None = None, timeout: httpx.Timeout | float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient whose transport records or replays traffic when POLYSTACK_TEST_INFERENCE_MODE is set."""
    from polystack.testing.recorder import wrap_transport

    inner = transport or _default_transport()
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=timeout or DEFAULT_TIMEOUT,
        transport=wrap_transport(inner),
    )


def _default_transport() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport(limits=httpx.Limits(max_connections=512, keepalive_expiry=30), trust_env=True)
