"""`server.auth` of the run config: an authenticator's `provider_config` and the `access_policy` rules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from polystack.core.access.authn.config import CustomAuthConfig, GitHubTokenAuthConfig, OAuth2TokenAuthConfig
from polystack.core.access.policy import SYSTEM_PRINCIPAL, AccessPolicy, AccessRule


class ApiKey(BaseModel):
    """One static key and the principal (with attributes: roles, teams, ...) it authenticates as."""

    model_config = ConfigDict(extra="forbid")

    key: SecretStr = Field(description="The bearer token; a secret, never logged.")
    principal: str = Field(min_length=1, description="Who the key's holder is; owner of what they create.")
    attributes: dict[str, list[str]] = Field(default_factory=dict, description="roles, teams, projects, "
                                             "namespaces...: what access rules' conditions test.")

    @model_validator(mode="after")
    def _usable(self) -> ApiKey:
        if not self.key.get_secret_value().strip():
            raise ValueError(f"the key of principal '{self.principal}' is empty (is its environment variable set?)")
        if self.principal == SYSTEM_PRINCIPAL:
            raise ValueError(f"'{SYSTEM_PRINCIPAL}' is reserved for the server's own calls")
        return self


class ApiKeysAuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["api_keys"] = Field(default="api_keys", description="Static keys from the run config.")
    keys: list[ApiKey] = Field(min_length=1, description="Callers send `Authorization: Bearer <key>`.")

    @model_validator(mode="after")
    def _distinct(self) -> ApiKeysAuthConfig:
        seen: set[str] = set()
        for entry in self.keys:
            secret = entry.key.get_secret_value()
            if secret in seen:
                raise ValueError(f"two keys are the same (one is principal '{entry.principal}')")
            seen.add(secret)
        return self


AuthProviderConfig = Annotated[ApiKeysAuthConfig | OAuth2TokenAuthConfig | GitHubTokenAuthConfig | CustomAuthConfig,
                               Field(discriminator="type")]


class AuthConfig(BaseModel):
    """Who may call (provider_config) and what they may do (access_policy; empty: the default policy)."""

    model_config = ConfigDict(extra="forbid")

    provider_config: AuthProviderConfig = Field(description="How callers are authenticated.")
    access_policy: list[AccessRule] = Field(default_factory=list, description="Llama Stack's rules (permit/forbid, "
                                            "actions, resource, when/unless), first match decides, none: deny. "
                                            "Empty: each caller's own resources, and the config's read-only.")

    def policy(self) -> AccessPolicy:
        return AccessPolicy(self.access_policy)
