"""Prometheus metrics of one server: requests, errors, latency, time to first token, tokens, queues, cache.

One registry per app (several stacks may share a process: tests, embedders), scraped at `/metrics` in
Prometheus' text format. Labels are bounded sets only: route templates (never raw paths), model ids the
server knows, provider ids, principals and error classes, so a caller cannot blow up the series count
with made-up values (an unknown model fails before any metric is labelled with it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

# Seconds: a proxy's own overhead is milliseconds, a model's answer up to minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
ANONYMOUS = "anonymous"  # the principal label when auth is off


class Metrics:
    """The instruments, created once per app; record with the methods (they stay cheap: one labels() each)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("polystack_http_requests", "HTTP requests by route template, method and status.",
                                ["route", "method", "status"], registry=r)
        self.errors = Counter("polystack_http_errors", "HTTP requests answered with an error, by class "
                              "(client_error, auth_error, rate_limited, server_error, upstream_error).",
                              ["route", "class"], registry=r)
        self.latency = Histogram("polystack_http_request_duration_seconds", "HTTP request duration, to the last "
                                 "byte of the response.", ["route", "method"], buckets=LATENCY_BUCKETS, registry=r)
        self.inference_calls = Counter("polystack_inference_calls", "Inference calls by kind, model, provider and "
                                       "outcome (ok, error, cached).", ["kind", "model", "provider", "outcome"],
                                       registry=r)
        self.inference_latency = Histogram("polystack_inference_duration_seconds", "Inference call duration, to "
                                           "the end of the stream.", ["kind", "model", "provider"],
                                           buckets=LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("polystack_time_to_first_token_seconds", "Streams: time to the first chunk with "
                              "content.", ["model", "provider"], buckets=TTFT_BUCKETS, registry=r)
        self.tokens = Counter("polystack_tokens", "Tokens by direction (input, output), model, provider and "
                              "principal.", ["direction", "model", "provider", "principal"], registry=r)
        self.cache = Counter("polystack_response_cache_lookups", "Response cache lookups by kind and result "
                             "(hit, miss, bypass).", ["kind", "result"], registry=r)
        self._gauges: list[tuple[str, str, Callable[[], float | None]]] = []
        r.register(_Gauges(self._gauges))

    def gauge(self, name: str, documentation: str, read: Callable[[], float | None]) -> None:
        """A value read at scrape time (a queue depth); `read` returning None leaves it out. Registering a
        name again (the stack restarted) replaces the old reader."""
        self._gauges[:] = [gauge for gauge in self._gauges if gauge[0] != name]
        self._gauges.append((name, documentation, read))

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Gauges(Collector):
    """Gauges computed when scraped, so keeping them costs nothing between scrapes."""

    def __init__(self, gauges: list[tuple[str, str, Callable[[], float | None]]]) -> None:
        self._gauges = gauges

    def collect(self) -> Iterable[Any]:
        for name, documentation, read in self._gauges:
            try:
                value = read()
            except Exception:  # noqa: BLE001 - a gauge of a stopped component is simply absent
                value = None
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)

    def describe(self) -> Iterable[Any]:
        return ()


def error_class(status: int) -> str | None:
    """The class an error status counts under, None for a success."""
    if status < 400:
        return None
    if status in (401, 403):
        return "auth_error"
    if status == 429:
        return "rate_limited"
    if status in (502, 503, 504):
        return "upstream_error"
    if status >= 500:
        return "server_error"
    return "client_error"
