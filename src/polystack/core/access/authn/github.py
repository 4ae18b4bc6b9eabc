"""github_token: a GitHub token (OAuth app, GitHub App user token, or PAT) is its user, with organizations
and teams as attributes, read from GitHub's REST API (`GET /user`, `/user/orgs`, `/user/teams`).

Claims given to `claims_mapping`: `login`, `organizations` (org logins) and `teams` (`org/team-slug`).
Organizations and teams need the read:org scope; without it they are empty, not an error. Answers are
cached per token digest for `cache_seconds`. Only the first 100 organizations and teams are read.
"""

from __future__ import annotations

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
from polystack.core.access.authn.config import GitHubTokenAuthConfig

_WHAT = "the GitHub API"


class GitHubAuthenticator:
    def __init__(self, config: GitHubTokenAuthConfig) -> None:
        self.config = config
        self._base = str(config.github_api_base_url).rstrip("/")
        self._cache = TokenCache(config.cache_seconds)
        self._client: httpx.AsyncClient | None = None

    async def authenticate(self, token: str, scope: Scope) -> User:
        async def ask() -> tuple[User, float | None]:
            return await self._lookup(token), None

        return await self._cache.answer(token, ask)

    async def _lookup(self, token: str) -> User:
        me = await self._get(token, "/user", required=True)
        if not isinstance(me, dict) or not isinstance(me.get("login"), str):
            raise IdentityProviderDown(_WHAT)
        orgs = await self._get(token, "/user/orgs?per_page=100", required=False)
        claims: dict[str, Any] = {
            "login": me["login"],
            "organizations": [org["login"] for org in orgs or () if isinstance(org, dict)
                              and isinstance(org.get("login"), str)],
        }
        if self.config.include_teams:
            teams = await self._get(token, "/user/teams?per_page=100", required=False)
            claims["teams"] = [f"{team['organization']['login']}/{team['slug']}" for team in teams or ()
                               if isinstance(team, dict) and isinstance(team.get("slug"), str)
                               and isinstance(team.get("organization"), dict)
                               and isinstance(team["organization"].get("login"), str)]
        return user_of(me["login"], attributes_from_claims(claims, self.config.claims_mapping))

    async def _get(self, token: str, path: str, *, required: bool) -> Any:
        if self._client is None:
            self._client = http_client(self.config)
        try:
            response = await self._client.get(self._base + path, headers={
                "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "polystack"})
        except httpx.HTTPError:
            raise IdentityProviderDown(_WHAT) from None
        if response.status_code == 401:  # "Bad credentials": unknown, revoked or expired token
            raise InvalidToken("GitHub does not accept this token")
        if response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0":
            raise IdentityProviderDown(_WHAT)  # rate limited: the token may be fine
        if response.status_code in (403, 404) and not required:
            return None  # a token without read:org: no organizations or teams
        if response.status_code != 200:
            raise IdentityProviderDown(_WHAT)
        try:
            return response.json()
        except ValueError:
            raise IdentityProviderDown(_WHAT) from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
