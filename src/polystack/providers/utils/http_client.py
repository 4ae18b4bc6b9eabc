"""The one place providers get an httpx client: the transport is the seam for record/replay.

The default transport is aiohttp's (through httpx-aiohttp): httpx's own pool costs ~1 ms a request
and collapses under concurrency on small machines, which a proxy cannot afford (see bench/).
"""

from __future__ import annotations

from http.cookiejar import CookieJar, CookiePolicy
from typing import Any

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=60.0)
DEFAULT_MAX_CONNECTIONS = 512  # per provider
DEFAULT_POOL_TIMEOUT = 30.0  # seconds a request may wait for one of them before a 503


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing: one client serves every caller, so an upstream's Set-Cookie
    for one caller must never ride along on the next caller's requests (and parsing it costs ~4%)."""

    def __init__(self) -> None:
        super().__init__()
        self.jar = CookieJar(policy=_RejectAll())

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _RejectAll(CookiePolicy):
    """http.cookiejar policy refusing every cookie, for anything that reaches the jar directly."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


class ProviderHTTPClient(httpx.AsyncClient):
    """An httpx.AsyncClient shared by all callers of a provider: it never stores upstream cookies."""

    _jar = _NoCookies()

    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:  # httpx's constructor assigns this; nothing is kept
        return None


def make_http_client(
    *, base_url: str = "", headers: dict[str, str] | None = None, timeout: httpx.Timeout | float | None = None,
    transport: httpx.AsyncBaseTransport | None = None, max_connections: int = DEFAULT_MAX_CONNECTIONS,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT,
) -> httpx.AsyncClient:
    """An AsyncClient with its own bounded pool (`max_connections`; a request waiting longer than
    `pool_timeout` for one fails with httpx.PoolTimeout), whose transport records or replays traffic
    when POLYSTACK_TEST_INFERENCE_MODE is set."""
    from polystack.core.telemetry.transport import TracingTransport
    from polystack.providers.utils.connection_limit import LimitedTransport
    from polystack.testing.recorder import wrap_transport

    inner = transport or _default_transport(max_connections)
    return ProviderHTTPClient(
        base_url=base_url,
        headers=headers,
        timeout=timeout or DEFAULT_TIMEOUT,
        transport=TracingTransport(  # a span per upstream call and `traceparent` sent, when tracing is on
            LimitedTransport(wrap_transport(inner), limit=max_connections, pool_timeout=pool_timeout)),
    )


def _default_transport(max_connections: int) -> httpx.AsyncBaseTransport:
    """aiohttp's pool, and a connection of its own for a request whose pooled connection was stale."""
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    from polystack.providers.utils.stale_connections import RetryStale, reuse_tracing

    ssl_context = httpx.create_ssl_context(trust_env=True)

    def pooled() -> aiohttp.ClientSession:  # called on first use, inside the running loop
        connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=30, ssl=ssl_context)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     trace_configs=[reuse_tracing()])

    def fresh() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=0, force_close=True, ssl=ssl_context)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return RetryStale(AiohttpTransport(client=pooled), AiohttpTransport(client=fresh))
