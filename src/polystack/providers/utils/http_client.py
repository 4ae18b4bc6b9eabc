"""The one place providers get an httpx client: the transport is the seam for record/replay."""

from __future__ import annotations

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=60.0)


def make_http_client(
    *, base_url: str = "", headers: dict[str, str] | None = None, timeout: httpx.Timeout | float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient whose transport records or replays traffic when POLYSTACK_TEST_INFERENCE_MODE is set."""
    from polystack.testing.recorder import wrap_transport

    inner = transport or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64), retries=1
    )
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=timeout or DEFAULT_TIMEOUT,
        transport=wrap_transport(inner),
    )
