"""Wire types of /v1/keys: a simple REST shape (ids in paths), OpenAI admin-key style `redacted_value`/`value`.

LiteLLM's `/key/generate`, `/key/info?key=`, `/key/delete {keys: [...]}` is RPC over POST bodies and names
keys by their secret; here a key is a resource with a public id, like every other /v1 resource, so the
secret travels only once, in the answer that creates (or rotates) it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class KeyQuota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_day: int | None = Field(default=None, ge=1)


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: str = Field(min_length=1, max_length=300, description="Who the key authenticates as (the owner "
                           "of what its holder creates).")
    attributes: dict[str, list[str]] = Field(default_factory=dict, description="roles, teams...: what access "
                                             "rules and quota rules test.")
    name: str | None = Field(default=None, max_length=200)
    expires_at: int | None = Field(default=None, ge=0, description="Unix seconds after which the key is refused.")
    allowed_models: list[str] | None = Field(default=None, description="Model ids the key may call (unset: all).")
    quota: KeyQuota | None = Field(default=None, description="The key's own request and token limits.")
    budget_tokens: int | None = Field(default=None, ge=1, description="Tokens the key may spend in all; then 429.")


class ApiKey(BaseModel):
    object: Literal["api_key"] = "api_key"
    id: str
    name: str | None = None
    redacted_value: str
    principal: str
    attributes: dict[str, list[str]]
    allowed_models: list[str] | None = None
    quota: KeyQuota | None = None
    budget_tokens: int | None = None
    spent_tokens: int = 0
    status: Literal["active", "revoked", "expired"]
    created_at: int
    created_by: str | None = None
    expires_at: int | None = None
    revoked_at: int | None = None


class ApiKeyWithSecret(ApiKey):
    value: str = Field(description="The key's secret: shown only in this answer, never again.")


class ApiKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ApiKey]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class ApiKeyRevoked(BaseModel):
    object: Literal["api_key.deleted"] = "api_key.deleted"
    id: str
    deleted: bool = True


class ModelUsage(BaseModel):
    model: str
    requests: int
    tokens_in: int
    tokens_out: int


class ApiKeyUsage(BaseModel):
    object: Literal["api_key.usage"] = "api_key.usage"
    key_id: str
    requests: int
    tokens_in: int
    tokens_out: int
    models: list[ModelUsage]
