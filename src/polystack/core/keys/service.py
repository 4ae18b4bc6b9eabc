"""The admin API over the key store and the audit log: every method checks that the caller is an admin.

A caller who is not an admin gets 403 (and an `access denied` audit entry); with auth off there is no
principal, so nobody is an admin and the API answers 404 saying it needs `server.auth`.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from polystack.apis.audit.types import AuditEntry, AuditList
from polystack.apis.errors import AccessDeniedError, InvalidRequestError, NotFoundError
from polystack.apis.keys.types import (
    ApiKey,
    ApiKeyList,
    ApiKeyRevoked,
    ApiKeyUsage,
    ApiKeyWithSecret,
    CreateKeyRequest,
    KeyQuota,
    ModelUsage,
)
from polystack.core.access.policy import SYSTEM_PRINCIPAL
from polystack.core.audit import log as audit
from polystack.core.audit.log import AuditLog
from polystack.core.keys.config import KeysConfig
from polystack.core.keys.store import KeyStore
from polystack.core.quotas.config import QuotaLimits
from polystack.core.quotas.enforcer import QuotaEnforcer
from polystack.core.request_context import request_context


class AdminService:
    """What /v1/keys and /v1/audit call; also holds the quota enforcer the middleware and hook use."""

    def __init__(self, config: KeysConfig, keys: KeyStore | None, audit_log: AuditLog | None,
                 quotas: QuotaEnforcer | None) -> None:
        self.config = config
        self.keys = keys
        self.audit_log = audit_log
        self.quotas = quotas

    def _admin(self, resource_type: str, resource_id: str | None = None, action: str = "read") -> str:
        user = request_context().user
        if user is None:
            raise NotFoundError("The admin API needs authentication: configure server.auth")
        if self.config.admin_value not in user.attributes.get(self.config.admin_attribute, ()):
            audit.record(action, resource_type, resource_id, "denied")
            raise AccessDeniedError(f"'{user.principal}' is not an admin (needs '{self.config.admin_value}' in "
                                    f"its '{self.config.admin_attribute}' attribute)")
        return user.principal

    def _store(self) -> KeyStore:
        if self.keys is None:
            raise NotFoundError("Virtual keys need the api_keys auth provider (server.auth)")
        return self.keys

    async def create_key(self, body: CreateKeyRequest) -> ApiKeyWithSecret:
        admin = self._admin("api_key", None, "create")
        if body.principal == SYSTEM_PRINCIPAL:
            raise InvalidRequestError(f"'{SYSTEM_PRINCIPAL}' is reserved for the server's own calls", param="principal")
        if body.expires_at is not None and body.expires_at <= time.time():
            raise InvalidRequestError("expires_at is in the past", param="expires_at")
        quota = QuotaLimits.model_validate(body.quota.model_dump()) if body.quota is not None else None
        row, token = await self._store().create(
            principal=body.principal, attributes=body.attributes, name=body.name, expires_at=body.expires_at,
            allowed_models=body.allowed_models, quota=quota if quota and quota.windows() else None,
            budget_tokens=body.budget_tokens, created_by=admin)
        audit.record("create", "api_key", row["id"], "allowed")
        return ApiKeyWithSecret(**_key(row).model_dump(), value=token)

    async def list_keys(self, limit: int, after: str | None) -> ApiKeyList:
        self._admin("api_key")
        page = await self._store().page(limit, after)
        data = [_key(row) for row in page.data]
        return ApiKeyList(data=data, first_id=data[0].id if data else None, last_id=data[-1].id if data else None,
                          has_more=page.has_more)

    async def get_key(self, key_id: str) -> ApiKey:
        self._admin("api_key", key_id)
        return _key(await self._store().get(key_id))

    async def rotate_key(self, key_id: str) -> ApiKeyWithSecret:
        self._admin("api_key", key_id, "update")
        row, token = await self._store().rotate(key_id)
        audit.record("update", "api_key", key_id, "allowed")
        return ApiKeyWithSecret(**_key(row).model_dump(), value=token)

    async def revoke_key(self, key_id: str) -> ApiKeyRevoked:
        self._admin("api_key", key_id, "delete")
        await self._store().revoke(key_id)
        audit.record("delete", "api_key", key_id, "allowed")
        return ApiKeyRevoked(id=key_id)

    async def key_usage(self, key_id: str) -> ApiKeyUsage:
        self._admin("api_key", key_id)
        rows = await self._store().usage(key_id)
        models = [ModelUsage(model=r["model"], requests=r["requests"], tokens_in=r["tokens_in"],
                             tokens_out=r["tokens_out"]) for r in rows]
        return ApiKeyUsage(key_id=key_id, requests=sum(m.requests for m in models),
                           tokens_in=sum(m.tokens_in for m in models), tokens_out=sum(m.tokens_out for m in models),
                           models=models)

    async def list_audit(self, *, principal: str | None, action: str | None, resource_type: str | None,
                         since: float | None, after: str | None, limit: int) -> AuditList:
        self._admin("audit")
        if self.audit_log is None:
            raise NotFoundError("The audit log is off (server.audit.enabled)")
        rows, has_more = await self.audit_log.query(principal=principal, action=action, resource_type=resource_type,
                                                    since=since, after=after, limit=limit)
        data = [AuditEntry(**row) for row in rows]
        return AuditList(data=data, first_id=data[0].id if data else None, last_id=data[-1].id if data else None,
                         has_more=has_more)


def _key(row: dict[str, Any]) -> ApiKey:
    status: Literal["active", "revoked", "expired"] = ("revoked" if row["revoked_at"] is not None else
              "expired" if row["expires_at"] is not None and row["expires_at"] <= time.time() else "active")
    return ApiKey(id=row["id"], name=row["name"], redacted_value=row["hint"], principal=row["principal"],
                  attributes=row["attributes"] or {}, allowed_models=row["allowed_models"],
                  quota=KeyQuota.model_validate(row["quota"]) if row["quota"] else None,
                  budget_tokens=row["budget_tokens"], spent_tokens=row["spent_tokens"], status=status,
                  created_at=row["created_at"], created_by=row["created_by"], expires_at=row["expires_at"],
                  revoked_at=row["revoked_at"])
