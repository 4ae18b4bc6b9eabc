"""Traces providers' upstream HTTP calls: a client span per request (method, upstream host, status) and
the trace context sent upstream in `traceparent`. Wraps every provider's httpx transport
(providers/utils/http_client.py); with tracing off it passes requests straight through."""

from __future__ import annotations

import httpx

from polystack.core.telemetry import tracing


class TracingTransport(httpx.AsyncBaseTransport):
    """The span covers the call up to the response's headers (a stream's body is the router span's)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if tracing.tracer() is None:
            return await self.inner.handle_async_request(request)
        from opentelemetry import context
        from opentelemetry.trace import SpanKind, StatusCode, set_span_in_context

        url = request.url
        made = tracing.start(f"{request.method} {url.host}", {
            "http.request.method": request.method, "server.address": url.host,
            "server.port": url.port or (443 if url.scheme == "https" else 80)}, kind=SpanKind.CLIENT)
        assert made is not None
        token = context.attach(set_span_in_context(made))
        try:
            tracing.inject(request.headers)
            response = await self.inner.handle_async_request(request)
        except BaseException as exc:
            tracing.fail(made, exc)
            made.end()
            raise
        finally:
            context.detach(token)
        if made.is_recording():
            made.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                made.set_status(StatusCode.ERROR)
            made.end()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
