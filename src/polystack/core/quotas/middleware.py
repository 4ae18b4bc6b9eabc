"""The quota middleware: Llama Stack's per-period request limit, and `x-ratelimit-*` headers on responses."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polystack.apis.errors import PolystackError
from polystack.core.quotas.enforcer import QuotaEnforcer, RateLimitState, rate_limit_state
from polystack.core.request_context import request_context
from polystack.core.server.middleware import OPEN_PATHS
from polystack.core.server.replies import send_error


class QuotaMiddleware:
    """Runs inside the request-context middleware (the principal is known). `enforcer` returns the stack's
    QuotaEnforcer once it is started (None: no quota configured, and this middleware costs a call)."""

    def __init__(self, app: ASGIApp, enforcer: Callable[[], QuotaEnforcer | None]) -> None:
        self.app = app
        self._enforcer = enforcer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        enforcer = self._enforcer() if scope["type"] == "http" else None
        if enforcer is None:
            await self.app(scope, receive, send)
            return
        state = RateLimitState()
        token = rate_limit_state.set(state)
        try:
            if scope["path"] not in OPEN_PATHS:
                client = scope.get("client")
                bucket = enforcer.period_bucket(request_context().user, client[0] if client else "unknown")
                if bucket is not None:
                    try:
                        await enforcer.hit(bucket)
                    except PolystackError as error:  # 429, or 503 when the quota store is down
                        await _send_error(send, error)
                        return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start" and state.verdicts:
                    message = {**message, "headers": [*message.get("headers", ()), *_missing(message, state)]}
                await send(message)

            await self.app(scope, receive, send_with_headers)
        finally:
            rate_limit_state.reset(token)


def _missing(message: Message, state: RateLimitState) -> list[tuple[bytes, bytes]]:
    """The state's headers the response does not carry already (a 429 raised by the hook has them)."""
    present = {name.lower() for name, _ in message.get("headers", ())}
    return [(name, value) for name, value in state.headers() if name not in present]


async def _send_error(send: Send, error: PolystackError) -> None:
    headers = tuple((name.lower().encode(), value.encode()) for name, value in (error.headers or {}).items())
    await send_error(send, error, extra_headers=headers)
