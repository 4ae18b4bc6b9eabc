"""`server.quota`: Llama Stack's per-period request limit, and rules per principal, key, team and model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Period = Literal["minute", "hour", "day"]
PERIOD_SECONDS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}


class QuotaLimits(BaseModel):
    """Limits of one rule (or one virtual key); an unset limit does not apply."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(default=None, ge=1, description="Requests admitted in any 60 s.")
    tokens_per_minute: int | None = Field(default=None, ge=1, description="Tokens (prompt + completion, from "
                                          "usage) in any 60 s; a call is refused once they are spent.")
    tokens_per_day: int | None = Field(default=None, ge=1, description="Tokens in any 24 h.")

    def windows(self) -> list[tuple[str, int, int]]:
        """(kind, amount, seconds) of each limit set."""
        found = []
        if self.requests_per_minute is not None:
            found.append(("requests", self.requests_per_minute, 60))
        if self.tokens_per_minute is not None:
            found.append(("tokens", self.tokens_per_minute, 60))
        if self.tokens_per_day is not None:
            found.append(("tokens", self.tokens_per_day, 86400))
        return found


class QuotaRule(QuotaLimits):
    """Limits for the inference calls a rule matches (every unset match field matches anything).

    `scope: each` counts each principal apart (a rule without match fields: every caller gets these
    limits); `shared` counts every matching caller together (a team's or a model's whole quota).
    """

    principal: str | None = Field(default=None, description="Only this principal's calls.")
    key: str | None = Field(default=None, description="Only calls made with this virtual key (its id, key_...).")
    team: str | None = Field(default=None, description="Only callers with this value in the team attribute.")
    model: str | None = Field(default=None, description="Only calls to this model (its id as served).")
    scope: Literal["each", "shared"] = Field(default="each", description="each: per principal; shared: one "
                                             "count for every matching caller.")

    @model_validator(mode="after")
    def _limits_something(self) -> QuotaRule:
        if not self.windows():
            raise ValueError("a quota rule needs at least one of requests_per_minute, tokens_per_minute, "
                             "tokens_per_day")
        return self


class QuotaConfig(BaseModel):
    """Request and token quotas, counted in `storage.stores.quotas` (Redis for several replicas)."""

    model_config = ConfigDict(extra="forbid")

    anonymous_max_requests: int | None = Field(default=None, ge=1, description="Requests per period of a "
                                               "caller without a principal (auth off), counted per client address.")
    authenticated_max_requests: int | None = Field(default=None, ge=1, description="Requests per period of "
                                                   "each principal, on every route but health and version.")
    period: Period = Field(default="day", description="The moving window of the two limits above.")
    rules: list[QuotaRule] = Field(default_factory=list, description="Limits on inference calls per principal, "
                                   "key, team and model; every matching rule applies.")
    team_attribute: str = Field(default="teams", description="The principal's attribute that rules' `team` "
                                "matches.")
    kvstore: Any = Field(default=None, description="Llama Stack's counter store: refused, name a backend in "
                         "storage.stores.quotas instead.")

    @model_validator(mode="after")
    def _no_kvstore(self) -> QuotaConfig:
        if self.kvstore is not None:
            raise ValueError("quota.kvstore is Llama Stack's; here the counters live in storage.stores.quotas "
                             "(a kv_redis backend for several replicas, or a sql_* one)")
        return self

    @property
    def period_seconds(self) -> int:
        return PERIOD_SECONDS[self.period]
