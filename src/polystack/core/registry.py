"""The resource registry: resources by type and identifier, kept in a KV store so they survive restarts.

Every read and write obeys the caller's access policy (core/access): a resource a caller may not read
is absent for them, and writes need create/update/delete. Routing tables that cache resources in
memory ask `can_read`/`authorize` for their cached copies, so models and aliases are judged alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import TypeVar

from pydantic import ValidationError

from polystack.apis.datatypes import Resource
from polystack.apis.errors import AccessDeniedError
from polystack.core.access.policy import SYSTEM_PRINCIPAL
from polystack.core.access.resources import Action, ProtectedResource
from polystack.core.audit import log as audit
from polystack.core.request_context import request_context
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
        resource = _validated(cls, resource_type, raw) if raw is not None else None
        return resource if resource is not None and can_read(resource) else None

    async def all(self, cls: type[R], resource_type: str) -> list[R]:
        """Every stored resource of the type; a record that no longer validates is skipped and logged."""
        found = (_validated(cls, resource_type, raw)
                 for raw in await self._kv.values_with_prefix(f"{KEY_PREFIX}{resource_type}:"))
        return readable(resource for resource in found if resource is not None)

    async def put(self, resource: Resource) -> None:
        """Create (or, when the caller may update it, replace) the resource."""
        async with self._lock:
            key = self._key(resource.type, resource.identifier)
            if _judged():
                raw = await self._kv.get(key)
                existing = _validated(type(resource), resource.type, raw) if raw is not None else None
                authorize(Action.UPDATE if existing is not None else Action.CREATE, existing or resource)
            await self._kv.set(key, resource.model_dump_json())

    async def delete(self, resource_type: str, identifier: str) -> None:
        async with self._lock:
            key = self._key(resource_type, identifier)
            if _judged():
                raw = await self._kv.get(key)
                existing = _validated(Resource, resource_type, raw) if raw is not None else None
                if existing is not None:
                    authorize(Action.DELETE, existing)
            await self._kv.delete(key)


def _judged() -> bool:
    """Whether the caller is subject to the policy (not with auth off, nor for the server's own calls)."""
    user = request_context().user
    return user is not None and user.principal != SYSTEM_PRINCIPAL


def _protected(resource: Resource) -> ProtectedResource:
    return ProtectedResource(resource.type, resource.identifier, resource.owner)


def can(action: Action, resource: Resource) -> bool:
    context = request_context()
    return context.policy.allows(action, _protected(resource), context.user)


def can_read(resource: Resource) -> bool:
    return can(Action.READ, resource)


def readable(resources: Iterable[R]) -> list[R]:
    """The resources the caller may read (all of them with auth off)."""
    if not _judged():
        return list(resources)
    return [resource for resource in resources if can_read(resource)]


def authorize(action: Action, resource: Resource) -> None:
    """AccessDeniedError (403) unless the caller may `action` the resource."""
    if not can(action, resource):
        audit.record(action.value, resource.type, resource.identifier, "denied")
        user = request_context().user
        raise AccessDeniedError(f"'{user.principal if user else ''}' may not {action.value} "
                                f"{resource.type} '{resource.identifier}'")
    if action is not Action.READ and _judged():
        audit.record(action.value, resource.type, resource.identifier, "allowed")


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
