"""oauth2_token with `introspection`: opaque (or any) tokens checked by the identity provider (RFC 7662).

The endpoint is POSTed `token=<token>` with this server's client credentials (HTTP Basic, or form fields
with `send_secret_in_body`); `{"active": true, ...}` admits the token, its claims mapped to attributes.
Answers are cached per token digest for `cache_seconds`, never past the token's `exp`.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
from starlette.types import Scope

from polystack.apis.datatypes import User
from polystack.core.access.authn.base import (
    IdentityProviderDown,
    InvalidToken,
    TokenCache,
    attributes_from_claims,
    http_client,
    user_of,
)
from polystack.core.access.authn.config import OAuth2TokenAuthConfig


class IntrospectionAuthenticator:
    def __init__(self, config: OAuth2TokenAuthConfig) -> None:
        assert config.introspection is not None
        self.config = config
        self._endpoint = config.introspection
        self._cache = TokenCache(config.cache_seconds)
        self._client: httpx.AsyncClient | None = None

    async def authenticate(self, token: str, scope: Scope) -> User:
        async def ask() -> tuple[User, float | None]:
            claims = await self._introspect(token)
            exp = claims.get("exp")
            return self._user(claims), float(exp) if isinstance(exp, int | float) else None

        return await self._cache.answer(token, ask)

    def _user(self, claims: dict[str, Any]) -> User:
        if claims.get("active") is not True:
            raise InvalidToken("token is not active")
        now = time.time()
        leeway = self.config.leeway_seconds
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if isinstance(exp, int | float) and exp + leeway < now:
            raise InvalidToken("token expired")
        if isinstance(nbf, int | float) and nbf - leeway > now:
            raise InvalidToken("token not yet valid")
        if self.config.issuer is not None and claims.get("iss") not in (None, self.config.issuer):
            raise InvalidToken("wrong issuer")
        aud = claims.get("aud")
        if aud is not None and self.config.audience not in (aud if isinstance(aud, list) else [aud]):
            raise InvalidToken("wrong audience")
        principal = claims.get("sub") or claims.get("username")
        return user_of(principal, attributes_from_claims(claims, self.config.claims_mapping))

    async def _introspect(self, token: str) -> dict[str, Any]:
        if self._client is None:
            self._client = http_client(self.config)
        form = {"token": token, "token_type_hint": "access_token"}
        client_id, secret = self._endpoint.client_id, self._endpoint.client_secret.get_secret_value()
        headers = {"Accept": "application/json"}
        if self._endpoint.send_secret_in_body:
            form |= {"client_id": client_id, "client_secret": secret}
        else:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        try:
            response = await self._client.post(str(self._endpoint.url), data=form, headers=headers)
        except httpx.HTTPError:
            raise IdentityProviderDown("the token introspection endpoint") from None
        if response.status_code != 200:  # our client credentials refused, or the endpoint failing: not the caller's
            raise IdentityProviderDown("the token introspection endpoint")
        try:
            claims = response.json()
        except ValueError:
            raise IdentityProviderDown("the token introspection endpoint") from None
        if not isinstance(claims, dict):
            raise IdentityProviderDown("the token introspection endpoint")
        return claims

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
