"""custom: your own HTTP endpoint decides, with Llama Stack's shapes.

The server POSTs `{"api_key": <token>, "request": {"path", "headers", "params"}}` (the caller's headers
without Authorization, cookies and provider data) and reads `{"principal", "attributes", "message"}`
from a 200; a 401/403 (or any other 4xx) refuses the token, a 5xx or no answer is a 503. Answers are
cached per token digest for `cache_seconds`, so the cache must not depend on the path: an endpoint that
decides per path wants `cache_seconds: 0`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
from pydantic import BaseModel, ValidationError
from starlette.types import Scope

from polystack.apis.datatypes import User
from polystack.core.access.authn.base import (
    IdentityProviderDown,
    InvalidToken,
    TokenCache,
    http_client,
    user_of,
)
from polystack.core.access.authn.config import CustomAuthConfig

_WHAT = "the authentication endpoint"
_NOT_SENT = frozenset({"authorization", "cookie", "x-llamastack-provider-data", "x-ogx-provider-data"})


class CustomAuthResponse(BaseModel):
    principal: str
    attributes: dict[str, list[str]] | None = None
    message: str | None = None


class CustomAuthenticator:
    def __init__(self, config: CustomAuthConfig) -> None:
        self.config = config
        self._cache = TokenCache(config.cache_seconds)
        self._client: httpx.AsyncClient | None = None

    async def authenticate(self, token: str, scope: Scope) -> User:
        async def ask() -> tuple[User, float | None]:
            return await self._ask(token, scope), None

        return await self._cache.answer(token, ask)

    async def _ask(self, token: str, scope: Scope) -> User:
        if self._client is None:
            self._client = http_client(self.config)
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            decoded = name.decode("latin-1")
            if decoded not in _NOT_SENT:
                headers[decoded] = value.decode("latin-1")
        params: dict[str, Any] = {}
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            params.setdefault(name, []).append(value)
        body = {"api_key": token, "request": {"path": scope.get("path", ""), "headers": headers, "params": params}}
        try:
            response = await self._client.post(str(self.config.endpoint), json=body)
        except httpx.HTTPError:
            raise IdentityProviderDown(_WHAT) from None
        if 400 <= response.status_code < 500:
            raise InvalidToken("the authentication endpoint refused this token")
        if response.status_code != 200:
            raise IdentityProviderDown(_WHAT)
        try:
            answer = CustomAuthResponse.model_validate_json(response.content)
        except ValidationError:
            raise IdentityProviderDown(_WHAT) from None
        return user_of(answer.principal, answer.attributes or {})

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
