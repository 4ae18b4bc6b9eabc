"""Light spans for our own steps: the SDK's sampler, ids, resource and span processors, without its per-span
attribute cleaning, locks and snapshot copies.

The SDK's `Tracer.start_span` cleans every attribute value (ABC isinstance checks), takes a lock per
`set_attribute(s)` and copies the span into a new ReadableSpan at `end`: ~25 us a span, four spans a request.
Ours set only str, int, float and bool values (model and provider ids, hosts, counts, statuses) from one
task, so a `LightSpan` is its own ReadableSpan: a dict of attributes, written until it ends and handed as
is to the processors (BatchSpanProcessor, the OTLP exporter, the tests' in-memory exporter).

An unsampled trace costs no span at all: under the ParentBased sampler (the default, and every
`parentbased_*` OTEL_TRACES_SAMPLER), a child of a local span that is not recorded would not be recorded
either, so the parent itself stands in for it (its context still propagates, with the sampled flag off).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import time_ns
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    get_current_span,
)

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_UNSET = Status(StatusCode.UNSET)
_SAMPLE, _DROP = Decision.RECORD_AND_SAMPLE, Decision.DROP
_SCOPE = InstrumentationScope("polystack")


class LightTracerProvider(TracerProvider):
    """A TracerProvider (other instrumentation may use it as usual) whose processors our light spans reach."""

    def __init__(self, sampler: Sampler | None = None, **kwargs: Any) -> None:
        self.processors = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
        super().__init__(sampler=sampler, active_span_processor=self.processors, **kwargs)
        # A ParentBased sampler drops every child of a local parent that is not sampled (its description
        # is the one public place that says so): such children need no span of their own.
        self.children_follow_parent = "localParentNotSampled:AlwaysOffSampler" in self.sampler.get_description()

    def start(self, name: str, attributes: Mapping[str, Any] | None, kind: SpanKind,
              context: Context | None) -> Span:
        """A span, child of the current one (or of `context`'s); recording only if sampled."""
        parent_span = get_current_span(context)
        parent: SpanContext | None = parent_span.get_span_context()
        assert parent is not None
        if parent.is_valid:
            if (self.children_follow_parent and not parent.trace_flags.sampled and not parent.is_remote
                    and not parent_span.is_recording()):
                return parent_span
            trace_id = parent.trace_id
        else:
            parent, trace_id = None, self.id_generator.generate_trace_id()
        result = self.sampler.should_sample(context, trace_id, name, kind, attributes)
        decision = result.decision
        span_context = SpanContext(trace_id, self.id_generator.generate_span_id(), is_remote=False,
                                   trace_flags=_SAMPLED if decision is _SAMPLE else _NOT_SAMPLED,
                                   trace_state=result.trace_state)
        if decision is _DROP:
            return NonRecordingSpan(span_context)
        values = dict(attributes) if attributes else {}
        if result.attributes:
            values.update(result.attributes)
        span = LightSpan(name, span_context, parent, kind, values, self)
        self.processors.on_start(span, context)  # type: ignore[arg-type]  # what the SDK's spans pass too
        return span


class LightSpan(ReadableSpan, Span):  # type: ignore[misc]  # both say get_span_context, hinted apart
    """A recording span that is also the ReadableSpan the processors get once it ended."""

    def __init__(self, name: str, context: SpanContext, parent: SpanContext | None, kind: SpanKind,
                 attributes: dict[str, Any], owner: LightTracerProvider) -> None:
        # ReadableSpan's fields, set directly (its __init__ would make a Resource when none is given)
        self._name, self._context, self._parent, self._kind = name, context, parent, kind
        self._attributes: dict[str, Any] = attributes  # a plain dict: see the module's docstring
        self._events: list[Event] = []
        self._links: Sequence[Any] = ()
        self._resource = owner.resource
        self._instrumentation_scope = _SCOPE
        self._instrumentation_info = None
        self._status = _UNSET
        self._start_time: int | None = time_ns()
        self._end_time: int | None = None
        self._owner = owner

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attribute(self, key: str, value: Any) -> None:
        if self._end_time is None:
            self._attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self._end_time is None:
            self._attributes.update(attributes)

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None,
                  timestamp: int | None = None) -> None:
        if self._end_time is None:
            self._events.append(Event(name, dict(attributes) if attributes else None, timestamp or time_ns()))

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._end_time is None:
            self._status = status if isinstance(status, Status) else Status(status, description)

    def record_exception(self, exception: BaseException, attributes: Mapping[str, Any] | None = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
        """The exception's type only: its message may quote the caller's input."""
        self.add_event("exception", {"exception.type": type(exception).__qualname__, **(attributes or {})},
                       timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end_time is not None:
            return
        self._end_time = end_time or time_ns()
        self._owner.processors.on_end(self)
