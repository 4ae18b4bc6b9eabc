"""What serves /v1/audit: the audit log's query (core/keys/service.py implements it)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from polystack.apis.audit.types import AuditList


@runtime_checkable
class Audit(Protocol):
    async def list_audit(self, *, principal: str | None, action: str | None, resource_type: str | None,
                         since: float | None, after: str | None, limit: int) -> AuditList: ...
