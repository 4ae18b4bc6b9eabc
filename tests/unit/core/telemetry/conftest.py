"""Tracing is process-wide: each test installs its own provider and leaves tracing off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from polystack.core.telemetry import tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.install(tracing.make_provider("polystack-test", exporter, batch=False))
    try:
        yield exporter
    finally:
        tracing.shutdown()
