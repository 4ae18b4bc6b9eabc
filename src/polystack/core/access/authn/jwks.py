"""oauth2_token with `jwks`: JWTs verified locally (PyJWT) against the identity provider's published keys.

The key set is cached; it is fetched again after `key_recheck_period`, or sooner when a token names a
`kid` the cache lacks (at most once per `unknown_kid_min_interval`, so forged kids cannot flood the
provider). The algorithms a token may use come from its key (an RSA key: RS*/PS*; an EC key: the ES* of
its curve; OKP: EdDSA; or the key's own `alg`): never `none`, never HS* (a public key is no HMAC secret).

A verified token's principal is kept (by the token's digest) for `cache_seconds`, never past its `exp`,
so a client repeating its token pays a hash instead of a signature check (~100 us for RS256); every
fetch of the key set empties that cache, so a retired key's tokens are checked again, and refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt
from starlette.types import Scope

from polystack.apis.datatypes import User
from polystack.core.access.authn.base import (
    IdentityProviderDown,
    InvalidToken,
    TokenCache,
    attributes_from_claims,
    http_client,
    token_digest,
    user_of,
)
from polystack.core.access.authn.config import OAuth2TokenAuthConfig

logger = logging.getLogger("polystack.auth")

_BY_KEY_TYPE = {"RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "OKP": ("EdDSA",)}
_BY_CURVE = {"P-256": ("ES256",), "P-384": ("ES384",), "P-521": ("ES512",), "secp256k1": ("ES256K",)}
_ASYMMETRIC = frozenset(alg for algs in (*_BY_KEY_TYPE.values(), *_BY_CURVE.values()) for alg in algs)


class _Key:
    """One public key of the set and the algorithms a token signed by it may name."""

    __slots__ = ("algorithms", "key")

    def __init__(self, key: Any, algorithms: tuple[str, ...]) -> None:
        self.key = key
        self.algorithms = list(algorithms)


def _usable_keys(document: Any) -> dict[str | None, _Key]:
    """The signing keys of a JWKS document by kid; symmetric, encryption-only and unparseable keys are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set")
    keys: dict[str | None, _Key] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kty, alg = entry.get("kty"), entry.get("alg")
        algorithms = _BY_CURVE.get(entry.get("crv", "")) if kty == "EC" else _BY_KEY_TYPE.get(str(kty))
        if not algorithms:  # "oct" (a shared secret) and unknown types: never trusted from a public set
            continue
        if alg is not None:
            if alg not in algorithms or alg not in _ASYMMETRIC:
                continue
            algorithms = (alg,)
        try:
            key = jwt.PyJWK(entry, algorithm=algorithms[0]).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        keys[entry.get("kid")] = _Key(key, algorithms)
    return keys


class JwksAuthenticator:
    def __init__(self, config: OAuth2TokenAuthConfig) -> None:
        assert config.jwks is not None
        self.config = config
        self._jwks = config.jwks
        self._keys: dict[str | None, _Key] = {}
        self._fetched_at = float("-inf")  # monotonic time of the last fetch that answered
        self._next_check = float("-inf")  # when the set is fetched again even if every kid is known
        self._tried_unknown_at = float("-inf")
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._verified = TokenCache(config.cache_seconds)

    async def authenticate(self, token: str, scope: Scope) -> User:
        digest = token_digest(token)
        cached = self._verified.get(digest)
        if isinstance(cached, User):
            return cached
        user, expires_at = await self._verify(token)
        self._verified.put(digest, user, expires_at=expires_at)
        return user

    async def _verify(self, token: str) -> tuple[User, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise InvalidToken("malformed token") from None
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("malformed token")
        key = await self._key(kid)
        if header.get("alg") not in key.algorithms:
            raise InvalidToken("algorithm not allowed for this key")
        try:
            claims = jwt.decode(token, key.key, algorithms=key.algorithms, audience=self.config.audience,
                                issuer=self.config.issuer, leeway=self.config.leeway_seconds,
                                options={"require": ["exp", "sub"], "verify_signature": True})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"missing claim '{exc.claim}'") from None
        except jwt.InvalidTokenError:
            raise InvalidToken("malformed token") from None
        user = user_of(claims.get("sub"), attributes_from_claims(claims, self.config.claims_mapping))
        return user, float(claims["exp"])

    async def _key(self, kid: str | None) -> _Key:
        if time.monotonic() >= self._next_check:
            await self._refresh(stale_ok=bool(self._keys))
        if not self._keys:  # the provider was down moments ago and no key is known: not the caller's fault
            raise IdentityProviderDown("the identity provider's key set")
        key = self._find(kid)
        if key is None and self._lock.locked():  # a fetch is under way: the keys it brings may hold this kid
            async with self._lock:
                pass
            key = self._find(kid)
        if key is None and time.monotonic() - self._tried_unknown_at >= self._jwks.unknown_kid_min_interval:
            self._tried_unknown_at = time.monotonic()
            await self._refresh(stale_ok=False)
            key = self._find(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        return key

    def _find(self, kid: str | None) -> _Key | None:
        if kid is None:  # a token without kid: only when the set has one key
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self, *, stale_ok: bool) -> None:
        """Fetch the key set (one fetch for all waiting requests); with `stale_ok` a failure keeps the old keys."""
        started = time.monotonic()
        async with self._lock:
            if self._fetched_at >= started:  # another request fetched it while this one waited
                return
            try:
                self._keys = await self._fetch()
                self._verified.clear()
                self._fetched_at = time.monotonic()
                self._next_check = self._fetched_at + self._jwks.key_recheck_period
            except (httpx.HTTPError, ValueError) as exc:
                # keep serving the keys it has, and do not make every request wait on a provider that is down
                self._next_check = time.monotonic() + (min(self._jwks.key_recheck_period, 30) if self._keys else 1)
                logger.warning("fetching the JWKS from %s failed: %s", self._jwks.uri, type(exc).__name__)
                if not stale_ok:
                    raise IdentityProviderDown("the identity provider's key set") from None

    async def _fetch(self) -> dict[str | None, _Key]:
        if self._client is None:
            self._client = http_client(self.config)
        headers = {"Accept": "application/json"}
        if self._jwks.token is not None:
            headers["Authorization"] = f"Bearer {self._jwks.token.get_secret_value()}"
        response = await self._client.get(str(self._jwks.uri), headers=headers)
        if response.status_code != 200:
            raise ValueError(f"status {response.status_code}")
        return _usable_keys(response.json())

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
