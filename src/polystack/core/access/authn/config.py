"""`server.auth.provider_config` types that ask an identity provider: oauth2_token, github_token, custom."""

from __future__ import annotations

import ssl
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator, model_validator

# The attributes the access policy's conditions test (`user in owners teams`, ...), as Llama Stack names them.
ATTRIBUTES = ("roles", "teams", "projects", "namespaces")


def _default_claims_mapping() -> dict[str, str]:
    # Llama Stack's default: which claims become which attributes
    return {"sub": "roles", "username": "roles", "groups": "teams", "team": "teams", "project": "projects",
            "tenant": "namespaces", "namespace": "namespaces"}


class _Outbound(BaseModel):
    """How the server calls the identity provider: bounded time, and whose certificates it trusts."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=5, gt=0, le=60, description="Each call to the identity provider must "
                                   "answer within this; a provider that does not is down (503).")
    verify_tls: bool = Field(default=True, description="Check the identity provider's TLS certificate.")
    tls_cafile: str | None = Field(default=None, description="CA bundle for the identity provider's certificate "
                                   "(a private CA); default: the system's.")
    cache_seconds: float = Field(default=60, ge=0, le=3600, description="How long one token's answer is reused "
                                 "(never past the token's own expiry); 0: ask on every request.")

    def verify(self) -> bool | ssl.SSLContext:
        if self.tls_cafile and self.verify_tls:
            return ssl.create_default_context(cafile=self.tls_cafile)
        return self.verify_tls


def _check_mapping(mapping: dict[str, str]) -> dict[str, str]:
    for claim, attribute in mapping.items():
        if attribute not in ATTRIBUTES:
            raise ValueError(f"claims_mapping: '{claim}' maps to '{attribute}'; use one of {', '.join(ATTRIBUTES)}")
    return mapping


class JwksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uri: HttpUrl = Field(description="The identity provider's JWKS (JSON Web Key Set) URL.")
    key_recheck_period: float = Field(default=3600, gt=0, description="Seconds after which the key set is "
                                      "fetched again; a token whose `kid` is unknown fetches it sooner.")
    unknown_kid_min_interval: float = Field(default=10, ge=0, description="At most one fetch per this many "
                                            "seconds because of unknown `kid`s, so forged tokens cannot "
                                            "flood the identity provider.")
    token: SecretStr | None = Field(default=None, description="A bearer token for fetching the key set, if the "
                                    "provider wants one.")


class IntrospectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="The RFC 7662 token introspection endpoint.")
    client_id: str = Field(min_length=1, description="This server's client id at the identity provider.")
    client_secret: SecretStr = Field(description="Its secret; never logged.")
    send_secret_in_body: bool = Field(default=False, description="Send the client credentials as form fields "
                                      "instead of HTTP Basic auth.")


class OAuth2TokenAuthConfig(_Outbound):
    type: Literal["oauth2_token"] = Field(default="oauth2_token", description="Bearer JWTs checked against a JWKS, "
                                          "or opaque tokens checked by introspection.")
    jwks: JwksConfig | None = Field(default=None, description="Validate JWTs locally with these keys.")
    introspection: IntrospectionConfig | None = Field(default=None, description="Ask the identity provider.")
    issuer: str | None = Field(default=None, description="The `iss` every token must carry (recommended).")
    audience: str = Field(default="polystack", min_length=1, description="The `aud` every JWT must include.")
    leeway_seconds: float = Field(default=30, ge=0, le=600, description="Clock skew tolerated on exp/nbf/iat.")
    claims_mapping: dict[str, str] = Field(default_factory=_default_claims_mapping, description="Claim -> "
                                           "attribute (roles, teams, projects, namespaces); a list claim gives "
                                           "its items, a string its space-separated words; `a.b` reaches into "
                                           "an object claim. The principal is `sub`.")

    _mapping = field_validator("claims_mapping")(_check_mapping)

    @model_validator(mode="after")
    def _one_method(self) -> OAuth2TokenAuthConfig:
        if (self.jwks is None) == (self.introspection is None):
            raise ValueError("oauth2_token needs exactly one of 'jwks' and 'introspection'")
        return self


class GitHubTokenAuthConfig(_Outbound):
    type: Literal["github_token"] = Field(default="github_token", description="GitHub tokens: the user and their "
                                          "organizations and teams.")
    github_api_base_url: HttpUrl = Field(default=HttpUrl("https://api.github.com"), description="GitHub's REST API "
                                         "(GitHub Enterprise: https://<host>/api/v3).")
    include_teams: bool = Field(default=True, description="Also read the user's teams (`org/team-slug`); needs "
                                "the read:org scope, as organizations do.")
    claims_mapping: dict[str, str] = Field(
        default_factory=lambda: {"login": "roles", "organizations": "teams", "teams": "teams"},
        description="Claim (login, organizations, teams) -> attribute. The principal is the login.")

    _mapping = field_validator("claims_mapping")(_check_mapping)


class CustomAuthConfig(_Outbound):
    type: Literal["custom"] = Field(default="custom", description="Your own endpoint decides (Llama Stack's "
                                    "request and response shapes).")
    endpoint: HttpUrl = Field(description="POSTed {api_key, request: {path, headers, params}}; answers 200 with "
                              "{principal, attributes, message} to admit, a 4xx to refuse (401); a 5xx or no "
                              "answer is a 503.")
