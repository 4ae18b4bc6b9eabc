"""The static API-key authenticator: `Authorization: Bearer <key>` -> the key's principal."""

from __future__ import annotations

import hashlib
import hmac

from polystack.apis.datatypes import User
from polystack.core.access.config import ApiKeysAuthConfig


class ApiKeyAuthenticator:
    """Looks keys up by their SHA-256 digest, so the lookup's timing says nothing about the key."""

    def __init__(self, config: ApiKeysAuthConfig) -> None:
        self._users = {_digest(entry.key.get_secret_value()): User(principal=entry.principal,
                                                                    attributes=entry.attributes)
                       for entry in config.keys}

    def authenticate(self, token: str) -> User | None:
        digest = _digest(token)
        for known, user in self._users.items():
            if hmac.compare_digest(known, digest):
                return user
        return None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
