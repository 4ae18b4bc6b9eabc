"""Authenticators, one module per `server.auth.provider_config` type; `build_authenticator` picks one.

Each turns the bearer token of a request into a `User` (principal and attributes), or raises
`InvalidToken` (401 with RFC 6750's `WWW-Authenticate`) or `IdentityProviderDown` (503). Tokens are
never logged, echoed in errors, or kept except as SHA-256 digests in the short answer caches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import Scope

from polystack.apis.datatypes import User
from polystack.core.access.authn.base import Authenticator, IdentityProviderDown, InvalidToken, MissingCredential

if TYPE_CHECKING:
    from polystack.core.access.config import AuthProviderConfig

__all__ = ["Authenticator", "IdentityProviderDown", "InvalidToken", "MissingCredential", "build_authenticator"]


class StaticKeys:
    """`api_keys` behind the common interface: a digest lookup, no I/O."""

    def __init__(self, config: AuthProviderConfig) -> None:
        from polystack.core.access.api_keys import ApiKeyAuthenticator

        self._keys = ApiKeyAuthenticator(config)  # type: ignore[arg-type]  # the api_keys member of the union

    async def authenticate(self, token: str, scope: Scope) -> User:
        user = self._keys.authenticate(token)
        if user is None:  # never echo what was sent: it may be someone's key with a typo
            raise InvalidToken("unknown key", message="Invalid API key")
        return user

    async def aclose(self) -> None:
        return None


def build_authenticator(config: AuthProviderConfig) -> Authenticator:
    if config.type == "api_keys":
        return StaticKeys(config)
    if config.type == "oauth2_token":
        if config.jwks is not None:
            from polystack.core.access.authn.jwks import JwksAuthenticator

            return JwksAuthenticator(config)
        from polystack.core.access.authn.introspection import IntrospectionAuthenticator

        return IntrospectionAuthenticator(config)
    if config.type == "github_token":
        from polystack.core.access.authn.github import GitHubAuthenticator

        return GitHubAuthenticator(config)
    from polystack.core.access.authn.custom import CustomAuthenticator

    return CustomAuthenticator(config)
