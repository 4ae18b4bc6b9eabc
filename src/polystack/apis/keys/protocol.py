"""What serves /v1/keys: the admin operations on virtual keys (core/keys/service.py implements it)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from polystack.apis.keys.types import ApiKey, ApiKeyList, ApiKeyRevoked, ApiKeyUsage, ApiKeyWithSecret, CreateKeyRequest


@runtime_checkable
class Keys(Protocol):
    async def create_key(self, body: CreateKeyRequest) -> ApiKeyWithSecret: ...

    async def list_keys(self, limit: int, after: str | None) -> ApiKeyList: ...

    async def get_key(self, key_id: str) -> ApiKey: ...

    async def rotate_key(self, key_id: str) -> ApiKeyWithSecret: ...

    async def revoke_key(self, key_id: str) -> ApiKeyRevoked: ...

    async def key_usage(self, key_id: str) -> ApiKeyUsage: ...
