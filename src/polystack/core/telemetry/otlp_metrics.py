"""Metrics over OTLP: the Prometheus registry (metrics.py) read and pushed by the OpenTelemetry SDK's
PeriodicExportingMetricReader through its OTLP/HTTP exporter, when the standard OTEL_* variables ask for it.

One recording path feeds both outputs: requests keep counting into prometheus_client's instruments (one
`labels().inc()` each); the reader's thread converts the registry's values to OTLP data points at each export
(every OTEL_METRIC_EXPORT_INTERVAL ms, 60 s by default), so exporting adds nothing to a request. Values are
cumulative, start times from the series' `_created` samples; names and labels are those of `/metrics`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import Metric, MetricExporter, MetricsData
    from opentelemetry.sdk.resources import Resource

    from polystack.core.config import TelemetryConfig

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
_Labels = tuple[tuple[str, str], ...]


def wanted(env: Mapping[str, str] = os.environ) -> bool:
    """OTLP metrics are on when OTEL_METRICS_EXPORTER names `otlp`, or it is unset and an OTLP endpoint is
    configured; `none` (or only other exporters, e.g. `prometheus`: /metrics is that) or OTEL_SDK_DISABLED
    keep them off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    named = {part.strip().lower() for part in env.get("OTEL_METRICS_EXPORTER", "").split(",") if part.strip()}
    if named:
        return "otlp" in named and "none" not in named
    return any(env.get(name) for name in _ENDPOINT_VARIABLES)


class MetricsExport:
    """The reader pushing one registry's values by OTLP; `stop` exports once more and ends its thread."""

    def __init__(self, registry: CollectorRegistry, service_name: str, exporter: MetricExporter | None = None,
                 interval_millis: float | None = None) -> None:
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource

        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            exporter = OTLPMetricExporter()  # endpoint, headers, timeout, compression from OTEL_* variables
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
        if "service.instance.id" not in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", ""):
            # each worker process and replica pushes cumulative series of its own: without an instance id
            # a collector would take them for one series going up and down
            attributes["service.instance.id"] = uuid.uuid4().hex
        resource = Resource.create(attributes)

        self.reader = PeriodicExportingMetricReader(exporter, export_interval_millis=interval_millis)
        # The reader's source is the registry rather than an SDK MeterProvider: this is the seam a MeterProvider
        # plugs itself into (`collect` is final); the SDK version is pinned and the OTLP test covers it.
        def collect(_reader: Any, timeout_millis: float = 0) -> MetricsData:
            return metrics_data(registry, resource)

        self.reader._set_collect_callback(collect)

    def flush(self) -> None:
        """Export the current values now (as the next tick would)."""
        self.reader.force_flush()

    async def stop(self) -> None:
        """The last values exported, the thread ended (in a worker thread: the export is a blocking POST)."""
        import asyncio

        await asyncio.to_thread(self.reader.shutdown)


def start(registry: CollectorRegistry, config: TelemetryConfig) -> MetricsExport | None:
    """An export of `registry` when the environment asks for OTLP metrics, else None."""
    return MetricsExport(registry, config.service_name) if wanted() else None


def metrics_data(registry: CollectorRegistry, resource: Resource) -> MetricsData:
    """The registry's current values as the SDK's MetricsData (what its OTLP exporters encode)."""
    from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    now = time.time_ns()
    metrics = [metric for family in registry.collect() for metric in _convert(family, now)]
    scope = ScopeMetrics(scope=InstrumentationScope("polystack"), metrics=metrics, schema_url="")
    return MetricsData(resource_metrics=[ResourceMetrics(resource=resource, scope_metrics=[scope], schema_url="")])


_STARTED_NS = time.time_ns()  # start time of a series without a `_created` sample


def _convert(family: Any, now: int) -> Iterable[Metric]:
    from opentelemetry.sdk.metrics.export import AggregationTemporality, Gauge, Metric, NumberDataPoint, Sum

    unit = "s" if family.name.endswith("_seconds") else ""
    if family.type == "counter":
        totals: dict[_Labels, float] = {}
        created: dict[_Labels, float] = {}
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            if sample.name.endswith("_total"):
                totals[key] = sample.value
            elif sample.name.endswith("_created"):
                created[key] = sample.value
        points = [NumberDataPoint(attributes=dict(key), start_time_unix_nano=_nanos(created.get(key)),
                                  time_unix_nano=now, value=value) for key, value in totals.items()]
        if points:
            yield Metric(name=family.name, description=family.documentation, unit=unit, data=Sum(
                data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE, is_monotonic=True))
    elif family.type == "histogram":
        histogram = _histogram(family.samples, now)
        if histogram is not None:
            yield Metric(name=family.name, description=family.documentation, unit=unit, data=histogram)
    elif family.type == "gauge":
        gauges = [NumberDataPoint(attributes=dict(sample.labels), start_time_unix_nano=0, time_unix_nano=now,
                                  value=sample.value) for sample in family.samples]
        if gauges:
            yield Metric(name=family.name, description=family.documentation, unit=unit,
                         data=Gauge(data_points=gauges))


def _histogram(samples: Iterable[Any], now: int) -> Any:
    """Prometheus' cumulative `le` buckets as OTLP's explicit bounds and per-bucket counts."""
    from opentelemetry.sdk.metrics.export import AggregationTemporality, Histogram, HistogramDataPoint

    series: dict[_Labels, dict[str, Any]] = {}
    for sample in samples:
        labels = dict(sample.labels)
        bound = labels.pop("le", None)
        entry = series.setdefault(tuple(sorted(labels.items())), {"buckets": []})
        if sample.name.endswith("_bucket") and bound is not None:
            entry["buckets"].append((float(bound), sample.value))
        elif sample.name.endswith("_count"):
            entry["count"] = sample.value
        elif sample.name.endswith("_sum"):
            entry["sum"] = sample.value
        elif sample.name.endswith("_created"):
            entry["created"] = sample.value
    points = []
    for key, entry in series.items():
        buckets = sorted(entry["buckets"])
        counts, previous = [], 0.0
        for _, cumulative in buckets:
            counts.append(int(cumulative - previous))
            previous = cumulative
        bounds = [bound for bound, _ in buckets if bound != float("inf")]
        if len(counts) == len(bounds):  # no +Inf bucket: OTLP wants one more count than bounds
            counts.append(int(entry.get("count", previous) - previous))
        points.append(HistogramDataPoint(
            attributes=dict(key), start_time_unix_nano=_nanos(entry.get("created")), time_unix_nano=now,
            count=int(entry.get("count", 0)), sum=entry.get("sum", 0.0), bucket_counts=counts,
            explicit_bounds=bounds, min=None, max=None))  # type: ignore[arg-type]  # Prometheus keeps neither
    if not points:
        return None
    return Histogram(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE)


def _nanos(seconds: float | None) -> int:
    return _STARTED_NS if seconds is None else int(seconds * 1e9)
