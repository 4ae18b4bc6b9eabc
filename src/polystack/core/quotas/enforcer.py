"""Which windows apply to a call, checking them, and OpenAI's rate-limit headers for the caller.

A request's verdicts are collected in `RateLimitState` (a ContextVar set by the quota middleware); the
middleware writes them as `x-ratelimit-*` headers on the response, success or 429. Where several limits
apply, the headers describe the tightest (fewest remaining).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from polystack.apis.datatypes import User
from polystack.apis.errors import PolystackError, QuotaExceededError, ServiceUnavailableError
from polystack.core.quotas.config import QuotaConfig, QuotaLimits, QuotaRule
from polystack.core.quotas.counters import Counter, Verdict, Window


@dataclass
class RateLimitState:
    """The tightest verdict per kind (requests, tokens) of the current request."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)

    def note(self, verdict: Verdict) -> None:
        kind = verdict.window.kind
        known = self.verdicts.get(kind)
        if known is None or verdict.remaining < known.remaining or not verdict.allowed:
            self.verdicts[kind] = verdict

    def headers(self) -> list[tuple[bytes, bytes]]:
        found = []
        for kind, verdict in self.verdicts.items():
            found += [(f"x-ratelimit-limit-{kind}".encode(), str(verdict.window.amount).encode()),
                      (f"x-ratelimit-remaining-{kind}".encode(), str(verdict.remaining).encode()),
                      (f"x-ratelimit-reset-{kind}".encode(), duration(verdict.reset_seconds).encode())]
        return found


logger = logging.getLogger("polystack.quotas")

rate_limit_state: ContextVar[RateLimitState | None] = ContextVar("rate_limit_state", default=None)


def note(verdict: Verdict) -> None:
    state = rate_limit_state.get()
    if state is not None:
        state.note(verdict)


def duration(seconds: float) -> str:
    """OpenAI's reset format: "20ms", "1s", "6m0s", "1h2m3s"."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def exceeded(verdict: Verdict, what: str) -> QuotaExceededError:
    """The 429 of a refused window: Retry-After (whole seconds, at least 1) and the rate-limit headers."""
    error = QuotaExceededError(f"Rate limit reached: {what} ({verdict.window.amount} {verdict.window.kind} per "
                               f"{duration(verdict.window.seconds)}). Retry after {duration(verdict.reset_seconds)}.",
                               code="rate_limit_exceeded")
    error.error_type = verdict.window.kind  # as OpenAI's 429: type "requests" or "tokens"
    state = rate_limit_state.get() or RateLimitState()
    state.note(verdict)
    error.headers = {"Retry-After": str(max(1, math.ceil(verdict.reset_seconds)))}
    error.headers.update({name.decode(): value.decode() for name, value in state.headers()})
    return error


@dataclass(frozen=True, slots=True)
class Bucket:
    """A counted quantity: `name` (who and what) under `window`; `label` says it to the caller."""

    name: str
    window: Window
    label: str

    @property
    def key(self) -> str:
        return f"{self.name}|{self.window.kind}|{self.window.seconds}"


def buckets_of(limits: QuotaLimits, name: str, label: str) -> list[Bucket]:
    return [Bucket(name, Window(kind, amount, seconds), label) for kind, amount, seconds in limits.windows()]


class QuotaEnforcer:
    """Applies `server.quota` (and virtual keys' own limits) through one Counter."""

    def __init__(self, config: QuotaConfig, counter: Counter) -> None:
        self.config = config
        self.counter = counter

    def period_bucket(self, user: User | None, client: str) -> Bucket | None:
        """Llama Stack's per-period request limit of this caller, if one is set."""
        amount = self.config.authenticated_max_requests if user is not None else self.config.anonymous_max_requests
        if amount is None:
            return None
        who = f"principal:{user.principal}" if user is not None else f"client:{client}"
        return Bucket(f"period|{who}", Window("requests", amount, self.config.period_seconds),
                      f"requests per {self.config.period}")

    def rule_buckets(self, user: User | None, key_id: str | None, model: str) -> list[Bucket]:
        found: list[Bucket] = []
        for index, rule in enumerate(self.config.rules):
            if self._matches(rule, user, key_id, model):
                who = "*" if rule.scope == "shared" else (user.principal if user is not None else "anonymous")
                found += buckets_of(rule, f"rule{index}|{who}", _describe(rule))
        return found

    def _matches(self, rule: QuotaRule, user: User | None, key_id: str | None, model: str) -> bool:
        if rule.principal is not None and (user is None or user.principal != rule.principal):
            return False
        if rule.key is not None and rule.key != key_id:
            return False
        if rule.team is not None and (user is None or rule.team not in user.attributes.get(self.config.team_attribute,
                                                                                           ())):
            return False
        return rule.model is None or rule.model == model

    async def hit(self, bucket: Bucket) -> Verdict:
        """Count one request in `bucket`'s window (noted for the headers); 429 when it is full."""
        try:
            verdict = await self.counter.hit(bucket.key, bucket.window)
        except Exception as exc:  # noqa: BLE001 - the counter's driver errors are many
            raise _unreachable(exc) from None
        note(verdict)
        if not verdict.allowed:
            raise exceeded(verdict, bucket.label)
        return verdict

    async def admit(self, buckets: Sequence[Bucket]) -> None:
        """Refuse (429) when a token window is spent; else count one request in each request window."""
        for bucket in buckets:
            if bucket.window.kind == "tokens":
                try:
                    verdict = await self.counter.peek(bucket.key, bucket.window)
                except Exception as exc:  # noqa: BLE001
                    raise _unreachable(exc) from None
                note(verdict)
                if not verdict.allowed:
                    raise exceeded(verdict, bucket.label)
        for bucket in buckets:
            if bucket.window.kind == "requests":
                await self.hit(bucket)

    async def spend(self, buckets: Iterable[Bucket], tokens: int) -> None:
        for bucket in buckets:
            if bucket.window.kind == "tokens":
                try:
                    await self.counter.spend(bucket.key, bucket.window, tokens)
                except Exception as exc:  # noqa: BLE001
                    raise _unreachable(exc) from None


def _unreachable(exc: Exception) -> PolystackError:
    """Quotas fail closed: a call that cannot be counted is refused with 503 (never a 500)."""
    if isinstance(exc, PolystackError):
        return exc
    logger.warning("the quota store failed: %s", type(exc).__name__)
    return ServiceUnavailableError("The quota store cannot be reached; try again shortly.")


def _describe(rule: QuotaRule) -> str:
    parts = [f"{name} '{value}'" for name, value in (("principal", rule.principal), ("key", rule.key),
                                                      ("team", rule.team), ("model", rule.model)) if value]
    scope = "shared quota" if rule.scope == "shared" else "quota"
    return f"{scope} of {', '.join(parts)}" if parts else "per-caller quota"
