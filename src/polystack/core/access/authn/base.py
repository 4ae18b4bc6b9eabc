"""What every authenticator shares: its interface, the 401/503 it raises, a token cache, claims -> attributes."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx
from starlette.types import Scope

from polystack.apis.datatypes import User
from polystack.apis.errors import AuthenticationError, ServiceUnavailableError
from polystack.core.access.authn.config import _Outbound
from polystack.core.access.policy import SYSTEM_PRINCIPAL

REALM = 'Bearer realm="polystack"'


class Authenticator(Protocol):
    """Turns a bearer token into a principal, or raises InvalidToken (401) or IdentityProviderDown (503)."""

    async def authenticate(self, token: str, scope: Scope) -> User: ...

    async def aclose(self) -> None: ...


class InvalidToken(AuthenticationError):
    """A bad credential: RFC 6750's `invalid_token`; the description never quotes the token."""

    def __init__(self, description: str, *, message: str | None = None) -> None:
        # the body keeps OpenAI's code for a bad credential (invalid_api_key); the challenge says RFC 6750's
        super().__init__(message or f"Invalid token: {description}", param="Authorization")
        self.description = description
        safe = description.replace('"', "'").replace("\\", "/")
        self.headers = {"WWW-Authenticate": f'{REALM}, error="invalid_token", error_description="{safe}"'}


    def again(self) -> InvalidToken:
        """A fresh copy to raise for a cached refusal (re-raising one object grows its traceback each time)."""
        return InvalidToken(self.description, message=self.message)


class MissingCredential(AuthenticationError):
    """No credential at all: the bare challenge (RFC 6750 sends no error code then)."""

    def __init__(self) -> None:
        super().__init__("Missing credential: send 'Authorization: Bearer <token>'", param="Authorization")
        self.headers = {"WWW-Authenticate": REALM}


class IdentityProviderDown(ServiceUnavailableError):
    """The identity provider could not be asked: the caller may be fine, so not a 401; retry later."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Authentication is unavailable: {what} could not be reached; retry later")
        self.headers = {"Retry-After": "5"}


def token_digest(token: str) -> bytes:
    """Caches are keyed by this, so no token sits in memory longer than its request."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TokenCache:
    """A bounded TTL cache of answers (a User, or the InvalidToken to raise again) per token digest."""

    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self._max = max_entries
        self._entries: OrderedDict[bytes, tuple[float, User | InvalidToken]] = OrderedDict()

    def get(self, key: bytes) -> User | InvalidToken | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[1]

    def clear(self) -> None:
        self._entries.clear()

    async def answer(self, token: str, ask: Callable[[], Awaitable[tuple[User, float | None]]]) -> User:
        """The cached answer for `token`, else `ask()`'s (a User and when the token expires, or an InvalidToken
        raised): either is remembered, so a refused token is not sent to the identity provider again at once.
        A provider that is down (any other error) is never cached."""
        key = token_digest(token)
        cached = self.get(key)
        if isinstance(cached, InvalidToken):
            raise cached.again()
        if cached is not None:
            return cached
        try:
            user, expires_at = await ask()
        except InvalidToken as refused:
            self.put(key, refused)
            raise
        self.put(key, user, expires_at=expires_at)
        return user

    def put(self, key: bytes, answer: User | InvalidToken, *, expires_at: float | None = None) -> None:
        """Keep `answer` for `seconds`, or less if the token itself expires sooner (`expires_at`, epoch seconds)."""
        ttl = self.seconds if expires_at is None else min(self.seconds, expires_at - time.time())
        if ttl <= 0:
            return
        self._entries[key] = (time.monotonic() + ttl, answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


def http_client(config: _Outbound) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(config.timeout_seconds), verify=config.verify(),
                             follow_redirects=False, trust_env=False)


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """`claims[path]`, or for `a.b` the `b` of the object claim `a` (Keycloak's `realm_access.roles`)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def attributes_from_claims(claims: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, list[str]]:
    """Llama Stack's mapping: a list claim gives its items, a string its space-separated words (`scope`)."""
    attributes: dict[str, list[str]] = {}
    for claim, attribute in mapping.items():
        value = claim_at(claims, claim)
        if value is None:
            continue
        if isinstance(value, list | tuple):
            values = [str(item) for item in value if isinstance(item, str | int)]
        elif isinstance(value, str | int) and not isinstance(value, bool):
            values = str(value).split()
        else:
            continue
        if not values:
            continue
        found = attributes.setdefault(attribute, [])
        found.extend(v for v in values if v not in found)
    return attributes


def user_of(principal: Any, attributes: dict[str, list[str]]) -> User:
    if not isinstance(principal, str | int) or isinstance(principal, bool) or not str(principal):
        raise InvalidToken("no subject")
    if str(principal) == SYSTEM_PRINCIPAL:
        raise InvalidToken("reserved subject")
    return User(principal=str(principal), attributes=attributes)
