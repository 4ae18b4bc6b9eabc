"""A model's deployments and how one is picked: the routing settings, the balancing strategies, and each
deployment's circuit (cooldown after repeated failures, then one trial call: half-open)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from polystack.apis.errors import InvalidRequestError

Strategy = Literal["round_robin", "weighted", "least_inflight", "lowest_latency"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DeploymentSpec(_Strict):
    """One place a model is served: a model id this server serves (e.g. `openai/gpt-4o-mini`)."""

    model: str = Field(min_length=1, description="A served model id: `provider_id/provider_model_id` or an alias.")
    weight: float = Field(default=1.0, gt=0, description="Share of requests under the `weighted` strategy.")
    first_byte_seconds: float | None = Field(
        default=None, gt=0, description="Fail over when no answer (or first chunk of a stream) comes this soon.")
    timeout_seconds: float | None = Field(
        default=None, gt=0, description="Fail over when a whole answer takes longer (a stream: its whole relay).")


class RetryPolicy(_Strict):
    """Retries of timeouts, connection errors, 429 and 5xx; a 4xx the caller caused is never retried."""

    retries: int = Field(default=2, ge=0, description="Rounds over the deployments after the first.")
    backoff_seconds: float = Field(default=0.25, ge=0, description="First backoff; doubled each round, jittered.")
    max_backoff_seconds: float = Field(default=8.0, ge=0)
    max_retry_after_seconds: float = Field(
        default=30.0, ge=0, description="An upstream's Retry-After above this is not waited for: fail over.")
    total_seconds: float = Field(default=120.0, gt=0, description="Bound on the whole call: attempts and waits.")


class CooldownPolicy(_Strict):
    """`failures` provider failures within `window_seconds` open a deployment's circuit for `cooldown_seconds`."""

    failures: int = Field(default=3, ge=1)
    window_seconds: float = Field(default=60.0, gt=0)
    cooldown_seconds: float = Field(default=30.0, ge=0)


class ModelRouting(_Strict):
    """`metadata.routing` of a model (run config or POST /v1/models): its deployments and fallbacks."""

    deployments: list[DeploymentSpec] = Field(default_factory=list)
    strategy: Strategy = "round_robin"
    fallbacks: list[str] = Field(default_factory=list, description="Other models, in order, when all fail.")
    context_window_fallbacks: list[str] = Field(
        default_factory=list, description="Models tried, in order, when the prompt is too long for this one.")
    content_policy_fallbacks: list[str] = Field(
        default_factory=list, description="Models tried, in order, when the provider refuses on content policy.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    cooldown: CooldownPolicy = Field(default_factory=CooldownPolicy)
    first_byte_seconds: float | None = Field(default=None, gt=0, description="Default of every deployment.")
    timeout_seconds: float | None = Field(default=None, gt=0, description="Default of every deployment.")


def parse_routing(raw: Any) -> ModelRouting:
    """`metadata.routing` checked: a 400 naming the bad field."""
    try:
        return ModelRouting.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidRequestError(f"metadata.routing.{where}: {first['msg']}", param="metadata") from None


# ---- circuits --------------------------------------------------------------------------------------


class Circuit:
    """One deployment's health as the router sees it: closed, open (cooling down) or half-open.

    Keyed by `provider_id/provider_model_id`, so every routed model sharing an upstream shares its state.
    """

    __slots__ = ("key", "provider_id", "inflight", "latency", "failures", "opened_until", "trial",
                 "successes", "faults", "opened")

    def __init__(self, key: str, provider_id: str) -> None:
        self.key = key
        self.provider_id = provider_id
        self.inflight = 0
        self.latency: float | None = None  # moving average of seconds to the answer (a stream: first chunk)
        self.failures: deque[float] = deque()
        self.opened_until = 0.0
        self.trial = False  # a half-open trial call is under way
        self.successes = 0
        self.faults: dict[str, int] = {}
        self.opened = 0  # times the circuit opened

    def state(self, now: float) -> str:
        if self.opened_until == 0.0:
            return "closed"
        return "open" if now < self.opened_until else "half_open"

    def available(self, now: float) -> bool:
        """Closed, or half-open with no trial call under way."""
        if self.opened_until == 0.0:
            return True
        return now >= self.opened_until and not self.trial

    def succeeded(self, seconds: float) -> None:
        self.successes += 1
        self.latency = seconds if self.latency is None else 0.8 * self.latency + 0.2 * seconds
        if self.opened_until:
            self.opened_until, self.trial = 0.0, False
            self.failures.clear()

    def failed(self, fault: str, policy: CooldownPolicy, now: float, *, counts: bool) -> None:
        """Count `fault`; a provider fault (`counts`) may open the circuit, a failed trial reopens it."""
        self.faults[fault] = self.faults.get(fault, 0) + 1
        if not counts:
            if self.trial:
                self.trial = False
            return
        if self.opened_until and now >= self.opened_until:  # the half-open trial failed
            self._open(policy, now)
            return
        window = self.failures
        window.append(now)
        while window and now - window[0] > policy.window_seconds:
            window.popleft()
        if len(window) >= policy.failures:
            self._open(policy, now)

    def _open(self, policy: CooldownPolicy, now: float) -> None:
        self.opened_until = now + max(policy.cooldown_seconds, 1e-6)
        self.trial = False
        self.failures.clear()
        self.opened += 1

    def status(self, now: float) -> dict[str, Any]:
        state = self.state(now)
        return {
            "deployment": self.key, "state": state,
            "cooldown_remaining_seconds": round(self.opened_until - now, 3) if state == "open" else None,
            "inflight": self.inflight, "latency_seconds": None if self.latency is None else round(self.latency, 4),
            "successes": self.successes, "faults": dict(self.faults), "times_opened": self.opened,
        }


class Board:
    """Every deployment's circuit in this process, for the router and for provider health."""

    def __init__(self) -> None:
        self.circuits: dict[str, Circuit] = {}

    def circuit(self, provider_id: str, provider_model_id: str) -> Circuit:
        key = f"{provider_id}/{provider_model_id}"
        circuit = self.circuits.get(key)
        if circuit is None:
            circuit = self.circuits[key] = Circuit(key, provider_id)
        return circuit

    def of_provider(self, provider_id: str) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [c.status(now) for c in self.circuits.values() if c.provider_id == provider_id]


# ---- balancing -------------------------------------------------------------------------------------


class Balancer:
    """Orders one routed model's deployments for a call: the strategy's pick first, then the others."""

    __slots__ = ("strategy", "weights", "_turn", "_current")

    def __init__(self, strategy: Strategy, weights: Sequence[float]) -> None:
        self.strategy = strategy
        self.weights = list(weights)
        self._turn = 0
        self._current = [0.0] * len(weights)  # smooth weighted round robin (nginx's): exact shares, spread out

    def order(self, circuits: Sequence[Circuit]) -> list[int]:
        n = len(circuits)
        if n == 1:
            return [0]
        strategy = self.strategy
        if strategy == "weighted":
            first = self._weighted_pick()
            rest = sorted((i for i in range(n) if i != first), key=lambda i: -self.weights[i])
            return [first, *rest]
        turn = self._turn
        self._turn = turn + 1
        rotated = [(turn + i) % n for i in range(n)]
        if strategy == "least_inflight":
            return sorted(rotated, key=lambda i: circuits[i].inflight)
        if strategy == "lowest_latency":  # an unmeasured deployment goes first, so every one gets measured
            return sorted(rotated, key=lambda i: circuits[i].latency or 0.0)
        return rotated

    def _weighted_pick(self) -> int:
        current, weights = self._current, self.weights
        best = 0
        for i, weight in enumerate(weights):
            current[i] += weight
            if current[i] > current[best]:
                best = i
        current[best] -= sum(weights)
        return best
