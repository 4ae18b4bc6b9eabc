"""Tracing is process-wide: each test installs its own provider and leaves tracing off."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from polystack.core.telemetry import tracing

sys.path.insert(0, str(Path(__file__).parent))  # otlp_receiver


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.install(tracing.make_provider("polystack-test", exporter, batch=False))
    try:
        yield exporter
    finally:
        tracing.shutdown()
