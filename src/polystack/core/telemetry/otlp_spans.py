"""OTLP/HTTP span export with a protobuf encoder of our own: the SDK's exporter (endpoint, headers,
compression, retries, all from the OTEL_* variables), but the request body written straight to protobuf's
wire format instead of building one message object per span, attribute and value (~50 us a span, the
largest cost of tracing).

The bytes decode to the message the SDK's `encode_spans` builds (test_otlp_spans.py compares them). Each
attribute's encoded key and value is kept (bounded): model and provider ids, routes, hosts and statuses
repeat on every request. A span with events or links (rare in ours) is encoded by the SDK's encoder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from struct import Struct
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

logger = logging.getLogger("polystack.core")

_FIXED64 = Struct("<Q")
_FIXED32 = Struct("<I")
_DOUBLE = Struct("<d")
_INT64 = (1 << 64) - 1
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200  # SpanFlags
_UNSET_STATUS = b"\x7a\x00"  # field 15, empty: the SDK always sets a Status
_KEPT_MAX = 4096
_kept: dict[tuple[str, type, Any], bytes] = {}  # (key, type, value) -> an encoded KeyValue field


class SpanExporter(OTLPSpanExporter):
    """OTLPSpanExporter with `encode` writing the request body."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        client = getattr(self, "_client", None)
        if client is None or getattr(self, "_shutdown", False):  # another SDK version: its own way
            return super().export(spans)
        try:
            body = encode(spans)
        except Exception:  # a value our encoder does not know: the SDK's encoder knows it
            logger.debug("span batch encoded by the SDK's encoder", exc_info=True)
            return super().export(spans)
        return SpanExportResult.SUCCESS if client.export(body).success else SpanExportResult.FAILURE


def encode(spans: Sequence[ReadableSpan]) -> bytes:
    """An ExportTraceServiceRequest holding `spans`, grouped by resource and instrumentation scope (by
    identity: hashing a Resource serialises it to JSON)."""
    groups: dict[int, tuple[Resource, dict[int, tuple[InstrumentationScope | None, list[bytes]]]]] = {}
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope
        group = groups.get(id(resource))
        if group is None:
            group = groups[id(resource)] = (resource, {})
        entry = group[1].get(id(scope))
        if entry is None:
            entry = group[1][id(scope)] = (scope, [])
        entry[1].append(_field(2, _span(span)))
    body = []
    for resource, scopes in groups.values():
        parts = [_field(1, _resource(resource))]
        for scope, encoded in scopes.values():
            scope_parts = [_field(1, _scope(scope)), *encoded]
            if scope is not None and scope.schema_url:
                scope_parts.append(_field(3, scope.schema_url.encode()))
            parts.append(_field(2, b"".join(scope_parts)))
        if resource.schema_url:
            parts.append(_field(3, resource.schema_url.encode()))
        body.append(_field(1, b"".join(parts)))
    return b"".join(body)


_last_resource: tuple[Resource | None, bytes] = (None, b"")


def _resource(resource: Resource) -> bytes:
    """A Resource message; the process has one, encoded once."""
    global _last_resource
    if _last_resource[0] is not resource:
        _last_resource = (resource, _attributes(1, resource.attributes))
    return _last_resource[1]


def _span(span: ReadableSpan) -> bytes:
    if span.events or span.links:
        encoded: bytes = encode_spans([span]).resource_spans[0].scope_spans[0].spans[0].SerializeToString()
        return encoded
    context = span.get_span_context()
    assert context is not None
    parent = span.parent
    parts = [b"\x0a\x10", context.trace_id.to_bytes(16, "big"), b"\x12\x08", context.span_id.to_bytes(8, "big")]
    if context.trace_state:
        parts.append(_field(3, context.trace_state.to_header().encode()))
    if parent is not None:
        parts += (b"\x22\x08", parent.span_id.to_bytes(8, "big"))
    parts += (_field(5, span.name.encode()), b"\x30", _varint(span.kind.value + 1),  # OTLP's kinds start at 1
              b"\x39", _FIXED64.pack(span.start_time or 0), b"\x41", _FIXED64.pack(span.end_time or 0))
    parts.append(_attributes(9, span.attributes))
    if span.dropped_attributes:
        parts += (b"\x50", _varint(span.dropped_attributes))
    status = span.status
    if status.status_code.value == 0 and not status.description:
        parts.append(_UNSET_STATUS)
    else:
        inner = _field(2, status.description.encode()) if status.description else b""
        parts.append(_field(15, inner + b"\x18" + _varint(status.status_code.value)))
    flags = _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)
    parts += (b"\x85\x01", _FIXED32.pack(flags))
    return b"".join(parts)


def _scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b""
    parts = [_field(1, scope.name.encode())]
    if scope.version:
        parts.append(_field(2, scope.version.encode()))
    if scope.attributes:
        parts.append(_attributes(3, scope.attributes))
    return b"".join(parts)


def _attributes(number: int, attributes: Mapping[str, Any] | None) -> bytes:
    """Repeated KeyValue field `number`."""
    if not attributes:
        return b""
    parts = []
    for key, value in attributes.items():
        kind = type(value)
        cacheable = kind in (str, int, bool, float)
        if cacheable:
            encoded = _kept.get((key, kind, value))
            if encoded is not None and encoded[0] >> 3 == number:
                parts.append(encoded)
                continue
        encoded = _field(number, _field(1, key.encode()) + _field(2, _value(value)))
        if cacheable:
            if len(_kept) >= _KEPT_MAX:
                _kept.clear()
            _kept[(key, kind, value)] = encoded
        parts.append(encoded)
    return b"".join(parts)


def _value(value: Any) -> bytes:
    """An AnyValue message."""
    if isinstance(value, str):
        return _field(1, value.encode())
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        return b"\x18" + _varint(value & _INT64)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _field(7, value)
    if isinstance(value, Sequence):
        return _field(5, b"".join(_field(1, _value(item)) for item in value))
    if isinstance(value, Mapping):
        return _field(6, _attributes(1, value))
    raise TypeError(f"attribute value of type {type(value).__name__}")


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (number < 16: a one-byte key)."""
    return bytes((number << 3 | 2,)) + _varint(len(payload)) + payload if number < 16 else (
        _varint(number << 3 | 2) + _varint(len(payload)) + payload)


_SMALL = [bytes((n,)) for n in range(128)]


def _varint(value: int) -> bytes:
    if value < 128:
        return _SMALL[value]
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
