"""The gateway path of an inference call: balance over a model's deployments, retry with backoff, skip
deployments in cooldown, then fall back to other models (separate lists for context-window and
content-policy errors), each attempt under its timeouts. Used only for models with `metadata.routing`
(or requests with a `timeout`): every other call takes the router's plain path."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from polystack.apis.errors import (
    InvalidRequestError,
    PolystackError,
    ProviderError,
    ProviderTimeoutError,
    ServiceUnavailableError,
)
from polystack.apis.inference.protocol import InferenceProvider
from polystack.apis.models.types import Model
from polystack.core.request_context import as_system
from polystack.core.routing.deployments import (
    Balancer,
    Board,
    Circuit,
    CooldownPolicy,
    DeploymentSpec,
    ModelRouting,
    RetryPolicy,
    parse_routing,
)
from polystack.core.routing.models import ModelsRoutingTable
from polystack.core.routing.retries import Fault, backoff, classify, retry_after

logger = logging.getLogger("polystack.core")
END: Any = object()  # a stream's end, in place of a chunk
_NO_ROUTING = ModelRouting(retry=RetryPolicy(retries=0))  # a model without routing: its timeout only
_RESOLVED_SECONDS = 2.0  # how long a routed model's resolved deployments are reused
_NOWHERE = Circuit("", "")  # stands in for a deployment no longer served
_SWITCHES = (Fault.context_window, Fault.content_policy)


class _Switch(Exception):
    """A context-window or content-policy error: the call moves to that error's own fallback list."""

    def __init__(self, fault: Fault, error: BaseException) -> None:
        super().__init__(str(error))
        self.fault, self.error = fault, error


class _Deployment:
    __slots__ = ("model", "impl", "circuit", "first_byte", "total", "cooldown")

    def __init__(self, model: Model, impl: InferenceProvider, circuit: Circuit, first_byte: float | None,
                 total: float | None, cooldown: CooldownPolicy) -> None:
        self.model, self.impl, self.circuit = model, impl, circuit
        self.first_byte, self.total, self.cooldown = first_byte, total, cooldown


class Outcome:
    """A successful attempt: the answer (for a stream: its first chunk and the rest), and who gave it."""

    __slots__ = ("result", "rest", "model", "deployment", "circuit", "started", "fallback")

    def __init__(self, result: Any, rest: AsyncIterator[Any] | None, model: Model, deployment: _Deployment,
                 started: float) -> None:
        self.result, self.rest, self.model = result, rest, model
        self.deployment, self.circuit, self.started = deployment, deployment.circuit, started
        self.fallback: str | None = None  # the fallback model that answered, if one did

    def stream_ended(self, error: BaseException | None) -> None:
        """A stream's end: it no longer counts as in flight; a provider failure mid-stream counts against it."""
        self.circuit.inflight -= 1
        if error is not None and not isinstance(error, GeneratorExit | asyncio.CancelledError):
            fault = classify(error)
            self.circuit.failed(fault, self.deployment.cooldown, time.monotonic(), counts=fault.counts)


class Gateway:
    """Owns the circuits (`board`) and per-model balancers; `call` runs one inference call."""

    def __init__(self, table: ModelsRoutingTable) -> None:
        self.table = table
        self.board = Board()
        self.faults: dict[str, int] = {}  # every failed attempt by fault class, for tests and metrics
        self._parsed: dict[str, tuple[Any, ModelRouting]] = {}
        self._balancers: dict[str, tuple[ModelRouting, Balancer]] = {}
        self._resolved: dict[str, tuple[ModelRouting, InferenceProvider, float, list[_Deployment | None]]] = {}

    def routing_of(self, model: Model) -> ModelRouting | None:
        """The model's `metadata.routing`, parsed once per registration."""
        raw = model.metadata.get("routing") if model.metadata else None
        if raw is None:
            return None
        cached = self._parsed.get(model.identifier)
        if cached is not None and cached[0] is raw:
            return cached[1]
        routing = parse_routing(raw)
        self._parsed[model.identifier] = (raw, routing)
        return routing

    # ---- one call ------------------------------------------------------------------------------

    async def call(self, method: str, request: Any, model: Model, impl: InferenceProvider,
                   routing: ModelRouting | None, upstream: Callable[[Any, Model], Any], stream: bool,
                   budget_seconds: float | None) -> Outcome:
        """The first answer any deployment of `model`, or of its fallbacks, gives; the last error otherwise."""
        routing = routing or _NO_ROUTING
        policy = routing.retry
        budget = policy.total_seconds if budget_seconds is None else min(policy.total_seconds, budget_seconds)
        deadline = time.monotonic() + budget
        groups: list[tuple[Model, InferenceProvider, ModelRouting | None]] = [(model, impl, routing)]
        pending = list(routing.fallbacks)
        switched = False
        last: BaseException | None = None
        while groups or pending:
            if not groups:
                fallback = pending.pop(0)
                try:
                    fb_model, fb_impl = await self.table.resolve(fallback)
                except PolystackError as exc:
                    last = exc
                    continue
                groups.append((fb_model, fb_impl, self.routing_of(fb_model)))
            group_model, group_impl, group_routing = groups.pop(0)
            try:
                outcome = await self._group(method, request, group_model, group_impl, group_routing, policy,
                                            upstream, stream, deadline)
            except _Switch as switch:
                named = (routing.context_window_fallbacks if switch.fault is Fault.context_window
                         else routing.content_policy_fallbacks)
                if switched or not named:
                    raise switch.error from None
                switched, groups, pending = True, [], list(named)
                last = switch.error
                continue
            except PolystackError as exc:
                if classify(exc) is Fault.caller:
                    raise
                last = exc
                if time.monotonic() >= deadline:
                    break
                continue
            if group_model is not model:
                outcome.fallback = group_model.identifier
            return outcome
        assert last is not None
        raise last

    async def _group(self, method: str, request: Any, model: Model, impl: InferenceProvider,
                     routing: ModelRouting | None, policy: RetryPolicy, upstream: Callable[[Any, Model], Any],
                     stream: bool, deadline: float) -> Outcome:
        """Rounds over one model's deployments in the balancer's order, with backoff between rounds."""
        routing = routing or _NO_ROUTING
        cooldown = routing.cooldown
        deployments = await self._deployments(model, impl, routing)
        balancer = self._balancer(model.identifier, routing)
        circuits = [_NOWHERE if d is None else d.circuit for d in deployments]
        last: BaseException | None = None
        for round_ in range(policy.retries + 1):
            if round_:
                wait = backoff(round_, policy.backoff_seconds, policy.max_backoff_seconds)
                asked = retry_after(last) if last is not None else None
                if asked is not None:
                    if asked > policy.max_retry_after_seconds:
                        break
                    wait = max(wait, asked)
                if time.monotonic() + wait >= deadline:
                    break
                await asyncio.sleep(wait)
            now = time.monotonic()
            tried = retried = False
            for index in balancer.order(circuits):
                deployment = deployments[index]
                if deployment is None:
                    continue
                circuit = deployment.circuit
                if not circuit.available(now):
                    continue
                if time.monotonic() >= deadline:
                    break
                tried = True
                if circuit.opened_until:
                    circuit.trial = True  # half-open: this call is the one trial
                try:
                    return await self._attempt(method, request, model, deployment, upstream, stream, deadline)
                except PolystackError as exc:
                    fault = classify(exc)
                    self.faults[fault] = self.faults.get(fault, 0) + 1
                    circuit.failed(fault, cooldown, time.monotonic(), counts=fault.counts)
                    if fault is Fault.caller:
                        raise
                    if fault in _SWITCHES:
                        raise _Switch(fault, exc) from None
                    last, retried = exc, retried or fault.retried
            if not tried:
                if last is None:
                    last = (_cooling_down(model, circuits) if time.monotonic() < deadline else
                            ProviderTimeoutError(model.provider_id, "the call ran out of its time"))
                break
            if not retried:
                break
        assert last is not None
        raise last

    async def _attempt(self, method: str, request: Any, model: Model, deployment: _Deployment,
                       upstream: Callable[[Any, Model], Any], stream: bool, deadline: float) -> Outcome:
        """One call to one deployment under its timeouts; a stream's first chunk is part of it."""
        circuit = deployment.circuit
        started = time.monotonic()
        limit = deadline - started
        for bound in (deployment.first_byte, deployment.total):
            if bound is not None and bound < limit:
                limit = bound
        circuit.inflight += 1
        rest: AsyncIterator[Any] | None = None
        try:
            async with asyncio.timeout(limit):
                result = await getattr(deployment.impl, method)(upstream(request, deployment.model))
                if stream:
                    rest = result.__aiter__()
                    try:
                        result = await rest.__anext__()
                    except StopAsyncIteration:  # no chunk at all is no answer: another deployment may give one
                        raise ProviderError(deployment.model.provider_id,
                                            "the connection broke: the stream ended before its first chunk") from None
        except BaseException as exc:
            circuit.inflight -= 1
            if not isinstance(exc, PolystackError | TimeoutError):  # cancelled, or a bug: no verdict on it
                circuit.trial = False
            if rest is not None:
                await _close(rest)
            if isinstance(exc, TimeoutError):
                raise ProviderTimeoutError(deployment.model.provider_id,
                                           f"no answer within {limit:.3g}s") from None
            raise
        circuit.succeeded(time.monotonic() - started)
        if not stream:
            circuit.inflight -= 1
        elif deployment.total is not None and rest is not None:
            rest = _within(rest, started + deployment.total, deployment.model.provider_id)
        return Outcome(result, rest, model, deployment, started)

    # ---- deployments ---------------------------------------------------------------------------

    async def _deployments(self, model: Model, impl: InferenceProvider, routing: ModelRouting
                           ) -> list[_Deployment | None]:
        """The deployments resolved to their providers; kept for a moment (_RESOLVED_SECONDS), as resolving
        each on every call would cost more than the rest of the gateway."""
        now = time.monotonic()
        kept = self._resolved.get(model.identifier)
        if kept is not None and kept[0] is routing and kept[1] is impl and now < kept[2]:
            return kept[3]
        found = await self._resolve(model, impl, routing)
        self._resolved[model.identifier] = (routing, impl, now + _RESOLVED_SECONDS, found)
        return found

    async def _resolve(self, model: Model, impl: InferenceProvider, routing: ModelRouting
                       ) -> list[_Deployment | None]:
        specs = routing.deployments or [DeploymentSpec(model=model.identifier)]
        found: list[_Deployment | None] = []
        missing: PolystackError | None = None
        for spec in specs:
            if routing.deployments:
                try:
                    with as_system():  # checked against the registering caller when the model was registered
                        target, target_impl = await self.table.resolve(spec.model)
                except PolystackError as exc:  # unregistered since: the others still serve
                    logger.warning("deployment '%s' of model '%s' is not served: %s", spec.model,
                                   model.identifier, exc)
                    missing = exc
                    found.append(None)
                    continue
            else:
                target, target_impl = model, impl
            circuit = self.board.circuit(target.provider_id, target.provider_resource_id or target.identifier)
            found.append(_Deployment(target, target_impl, circuit,
                                     spec.first_byte_seconds or routing.first_byte_seconds,
                                     spec.timeout_seconds or routing.timeout_seconds, routing.cooldown))
        if missing is not None and not any(found):
            raise ServiceUnavailableError(f"no deployment of model '{model.identifier}' is served: {missing}")
        return found

    def _balancer(self, identifier: str, routing: ModelRouting) -> Balancer:
        kept = self._balancers.get(identifier)
        if kept is not None and kept[0] is routing:
            return kept[1]
        weights = [d.weight for d in routing.deployments] or [1.0]
        balancer = Balancer(routing.strategy, weights)
        self._balancers[identifier] = (routing, balancer)
        return balancer


def request_timeout(request: Any) -> float | None:
    """The request's own `timeout` in seconds (a body field, as LiteLLM takes it); None when absent."""
    extra = request.model_extra
    if not extra or "timeout" not in extra:
        return None
    value = extra["timeout"]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidRequestError("timeout must be a positive number of seconds", param="timeout")
    return float(value)


def _cooling_down(model: Model, circuits: list[Circuit]) -> ServiceUnavailableError:
    now = time.monotonic()
    wait = min((c.opened_until - now for c in circuits if c.opened_until > now), default=0.0)
    error = ServiceUnavailableError(
        f"every deployment of model '{model.identifier}' is cooling down after repeated failures; retry later")
    error.headers = {"retry-after": str(max(1, round(wait)))}
    return error


async def _close(chunks: AsyncIterator[Any]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


class _Watch:
    """A stream's deadline: one timer for the whole stream, not one per chunk (that would cost each chunk
    a few microseconds). When it fires while the stream waits on its provider, that wait is cancelled."""

    __slots__ = ("task", "expired")

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None  # the task pulling a chunk right now
        self.expired = False

    def expire(self) -> None:
        self.expired = True
        if self.task is not None:
            self.task.cancel()


async def _within(rest: AsyncIterator[Any], deadline: float, provider_id: str) -> AsyncIterator[Any]:
    """The rest of a stream, ended with a timeout error once `deadline` (monotonic) passes."""
    watch = _Watch()
    timer = asyncio.get_running_loop().call_at(_loop_time(deadline), watch.expire)
    pull = rest.__anext__
    try:
        while True:
            if watch.expired:
                raise ProviderTimeoutError(provider_id, "the stream outlasted its timeout")
            task = watch.task = asyncio.current_task()
            try:
                chunk = await pull()
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if watch.expired and task is not None and task.uncancel() == 0:  # ours, not the caller's
                    raise ProviderTimeoutError(provider_id, "the stream outlasted its timeout") from None
                raise
            finally:
                watch.task = None
            yield chunk
    finally:
        timer.cancel()
        await _close(rest)


def _loop_time(monotonic_deadline: float) -> float:
    return asyncio.get_running_loop().time() + (monotonic_deadline - time.monotonic())
