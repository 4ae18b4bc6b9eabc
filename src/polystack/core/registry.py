"""The resource registry: resources by type and identifier, kept in a KV store so they survive restarts."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TypeVar

from pydantic import ValidationError

from polystack.apis.datatypes import Resource
from polystack.core.storage.kv.api import KVStore

R = TypeVar("R", bound=Resource)

KEY_PREFIX = "registry:v1::"

logger = logging.getLogger("polystack.registry")


class ResourceRegistry:
    """Resources of every type, cached in memory and written through to a KV store."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv
        self._lock = asyncio.Lock()

    @staticmethod
    def _key(resource_type: str, identifier: str) -> str:
        return f"{KEY_PREFIX}{resource_type}:{identifier}"

    async def get(self, cls: type[R], resource_type: str, identifier: str) -> R | None:
        """The stored resource; None (logged) also when its record no longer validates."""
        raw = await self._kv.get(self._key(resource_type, identifier))
        return _validated(cls, resource_type, raw) if raw is not None else None

    async def all(self, cls: type[R], resource_type: str) -> list[R]:
        """Every stored resource of the type; a record that no longer validates is skipped and logged."""
        found = (_validated(cls, resource_type, raw)
                 for raw in await self._kv.values_with_prefix(f"{KEY_PREFIX}{resource_type}:"))
        return [resource for resource in found if resource is not None]

    async def put(self, resource: Resource) -> None:
        async with self._lock:
            await self._kv.set(self._key(resource.type, resource.identifier), resource.model_dump_json())

    async def delete(self, resource_type: str, identifier: str) -> None:
        async with self._lock:
            await self._kv.delete(self._key(resource_type, identifier))


def _validated(cls: type[R], resource_type: str, raw: str) -> R | None:
    """The record as `cls`, or None, logged: one bad record must not break every read of its kind."""
    try:
        return cls.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        logger.warning("skipping a stored %s that does not validate: %s at '%s' (identifier %.100r)",
                       resource_type, first["msg"], ".".join(map(str, first["loc"])), _identifier(raw))
        return None


def _identifier(raw: str) -> object:
    """The record's identifier for the log (never the whole record, which may hold anything)."""
    try:
        return json.loads(raw).get("identifier")
    except (ValueError, AttributeError):
        return None
