"""The inference hook that traces and measures every inference call: a span per router call (model,
provider, token counts), call counts and latency, time to first token, tokens per model, provider and
principal. Added by the stack when metrics or tracing are on (core/telemetry/setup.py)."""

from __future__ import annotations

import time

from pydantic import BaseModel

from polystack.core.routing.hooks import HookBase, InferenceCall, StreamAbandoned
from polystack.core.telemetry import tracing
from polystack.core.telemetry.metrics import ANONYMOUS, Metrics

_STARTED = "telemetry.started"
_SPAN = "telemetry.span"
_PARENT = "telemetry.parent"
CACHED = "cache.hit"  # set in call.data by the response cache when it answered the call


class TelemetryHook(HookBase):
    """Metrics (when `metrics` is given) and a span per call (when tracing is on)."""

    def __init__(self, metrics: Metrics | None) -> None:
        self.metrics = metrics

    async def before(self, call: InferenceCall) -> BaseModel | None:
        data = call.data
        data[_STARTED] = time.perf_counter()
        made = tracing.start(f"inference {call.kind}", {
            "gen_ai.operation.name": call.kind, "gen_ai.request.model": call.model.identifier,
            "polystack.provider_id": call.model.provider_id, "polystack.stream": call.stream})
        if made is not None:  # current from here on, so the provider's HTTP call is its child
            data[_SPAN] = made
            data[_PARENT] = tracing.enter(made)
        return None

    async def after(self, call: InferenceCall) -> None:
        data = call.data
        started: float = data.get(_STARTED, 0.0)
        ended = time.perf_counter()
        model, provider = call.model.identifier, call.model.provider_id
        usage = call.usage
        prompt = getattr(usage, "prompt_tokens", None) or 0
        completion = getattr(usage, "completion_tokens", None) or 0
        error = call.error
        cached = bool(data.get(CACHED))
        if self.metrics is not None:
            metrics = self.metrics
            outcome = "cached" if cached else "ok" if error is None or isinstance(error, StreamAbandoned) else "error"
            metrics.inference_calls.labels(call.kind, model, provider, outcome).inc()
            metrics.inference_latency.labels(call.kind, model, provider).observe(ended - started)
            first = call.first_token_at  # set by the router: this hook watches no chunks
            if first is not None and not cached:
                metrics.ttft.labels(model, provider).observe(first - started)
            if not cached and (prompt or completion):
                principal = call.user.principal if call.user is not None else ANONYMOUS
                if prompt:
                    metrics.tokens.labels("input", model, provider, principal).inc(prompt)
                if completion:
                    metrics.tokens.labels("output", model, provider, principal).inc(completion)
        made = data.pop(_SPAN, None)
        if made is not None:
            tracing.leave(data.pop(_PARENT))
            if not made.is_recording():  # an unsampled trace
                return
            attributes: dict[str, int | float | bool] = {
                "gen_ai.usage.input_tokens": prompt, "gen_ai.usage.output_tokens": completion,
                "polystack.cache_hit": cached}
            if call.first_token_at is not None:
                attributes["polystack.time_to_first_token_ms"] = round((call.first_token_at - started) * 1000, 1)
            made.set_attributes(attributes)  # one call: each takes the span's lock
            if error is not None and not isinstance(error, StreamAbandoned):
                tracing.fail(made, error)
            made.end()
