"""A small OTLP/HTTP receiver for tests: accepts `POST /v1/traces` and `POST /v1/metrics` in protobuf (what
the SDK's OTLP/HTTP exporters send) and keeps every span and data point it decodes. A stand-in for an
OpenTelemetry Collector."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


class OTLPReceiver:
    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []  # name, trace_id, service, attributes
        self.points: list[dict[str, Any]] = []  # metric, kind, service, attributes, value (count for histograms)
        self.requests: list[tuple[str, dict[str, str]]] = []  # path, headers
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                if self.path == "/v1/traces":
                    receiver._keep(ExportTraceServiceRequest.FromString(body))
                    reply = ExportTraceServiceResponse().SerializeToString()
                elif self.path == "/v1/metrics":
                    receiver._keep_metrics(ExportMetricsServiceRequest.FromString(body))
                    reply = ExportMetricsServiceResponse().SerializeToString()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _keep(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: a.value for a in span.attributes}
                    self.spans.append({"name": span.name, "trace_id": span.trace_id.hex(),
                                       "service": resource.get("service.name"), "attributes": attributes})

    def _keep_metrics(self, request: ExportMetricsServiceRequest) -> None:
        for resource_metrics in request.resource_metrics:
            resource = {a.key: a.value.string_value for a in resource_metrics.resource.attributes}
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    kind = metric.WhichOneof("data")
                    for point in getattr(metric, kind).data_points:
                        attributes = {a.key: a.value.string_value for a in point.attributes}
                        value = point.count if kind == "histogram" else point.as_double or point.as_int
                        self.points.append({"metric": metric.name, "kind": kind, "service": resource.get(
                            "service.name"), "instance": resource.get("service.instance.id"),
                            "attributes": attributes, "value": value, "point": point})

    def __enter__(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
